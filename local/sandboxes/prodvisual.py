"""ProdVisual API v1 sandbox: the documented routes, errors, limits and signed webhooks on loopback.

Routes and their endpoint names (the keys of ``Faults.endpoints``):

- ``generate``           POST /v1/generate
- ``batch``              POST /v1/generate/batch
- ``styles``             GET  /v1/styles (no authentication, as documented)
- ``credits``            GET  /v1/account/credits
- ``generation_status``  GET  /v1/generations/<id> (a generation or a batch id)

Behaviour the document leaves open, decided here (the adapter's docstring agrees):

- Without ``webhook_url`` a generation is synchronous: the source is fetched and the image rendered
  in the request and the answer is ``completed`` (the document's example). A source that cannot be
  fetched or decoded answers 422 ``invalid_image``, one over ``max_source_bytes`` (10 MB) 413
  ``file_too_large``, and no credit is taken. An injected job failure answers 200 with
  ``status: failed`` and an ``error`` object.
- With ``webhook_url`` the answer is ``pending``; the generation goes ``processing`` after
  ``pending_seconds`` and finishes ``processing_seconds`` later, in the timer thread, where the
  source is fetched: a bad source fails the generation (``status: failed``, ``error.code``
  ``invalid_image`` or ``file_too_large``) instead of an HTTP error. The callback is
  ``generation.completed`` or ``generation.failed``.
- A batch answers ``processing``; its items run one after the other, ``batch_item_seconds``
  each, failing individually like async generations. One callback, ``batch.completed`` (or
  ``batch.failed`` when every item failed), is sent when the last item is done, with
  ``data: {id: <batch id>, status, credits_used, items: [...]}``. A per-item ``webhook_url`` is
  accepted (same schema as /v1/generate) and not called.
- Credits: 1 per image, taken at submit (a batch takes one per item, as its answer's
  ``credits_used`` shows) and given back when a generation fails, since the document charges
  only successful generations. 402 when the balance cannot cover the request.
- Output size: ``dimensions``, else the style's own format (``social_square``, ``social_story``,
  ``hero_banner``), else the platform preset. Sides are 16..``max_dimension`` (4096) pixels.
  ``background`` applies to every style; ``transparent`` needs png or webp (400 with jpeg). Unknown
  body fields answer 400, so adapter typos surface here.
- Every API answer carries ``X-RateLimit-Limit/Remaining/Reset`` for the per-minute window
  (60/min and 10K/day by default, as documented; absent when the per-minute limit is off).
- Webhooks are signed with ``X-ProdVisual-Signature``: hex HMAC-SHA256 of the raw body keyed with
  the API key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

import httpx
from flask import Flask, Response, request
from PIL import Image
from pydantic import Field, field_validator
from werkzeug.exceptions import MethodNotAllowed, NotFound

from local.sandboxes import media
from local.sandboxes.common import Sandbox, SandboxSettings

PLATFORMS = ("amazon", "ebay", "etsy", "shopify", "generic", "woocommerce", "mercadolibre")
FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
MAX_BATCH_ITEMS = 50
MAX_URL_LENGTH = 2048
MIN_DIMENSION = 16

# (id, name, description): the eight documented styles, then the fourteen the excerpt leaves out
STYLES: tuple[tuple[str, str, str], ...] = (
    ("lifestyle", "Lifestyle Shot", "Product in a natural setting"),
    ("white_bg", "Clean White Background", "Studio-quality white background"),
    ("mockup", "Product Mockup", "3D mockup on clean surface"),
    ("infographic", "Infographic", "Feature callout layout"),
    ("social_square", "Social Media (1:1)", "Square format for Instagram/Facebook"),
    ("social_story", "Social Media (9:16)", "Vertical format for Stories/Reels"),
    ("hero_banner", "Hero Banner", "Wide banner for storefront headers"),
    ("comparison", "Before/After", "Side-by-side comparison layout"),
    ("flat_lay", "Flat Lay", "Top-down arrangement on a styled surface"),
    ("studio_shadow", "Studio Shadow", "Soft studio light with a natural drop shadow"),
    ("gradient_backdrop", "Gradient Backdrop", "Smooth colour gradient behind the product"),
    ("minimalist", "Minimalist", "Plain scene with generous negative space"),
    ("luxury", "Luxury", "Dark, premium setting with accent lighting"),
    ("outdoor", "Outdoor", "Product outdoors in daylight"),
    ("kitchen_scene", "Kitchen Scene", "Product on a kitchen counter"),
    ("marble_surface", "Marble Surface", "Product on polished marble"),
    ("seasonal", "Seasonal", "Holiday and seasonal decoration"),
    ("in_use", "In Use", "Product shown being used"),
    ("packaging", "Packaging", "Product next to its box"),
    ("detail_closeup", "Detail Close-up", "Macro view of materials and finish"),
    ("color_splash", "Colour Splash", "Bold colour blocks around the product"),
    ("reflection", "Mirror Reflection", "Glossy floor reflection under the product"),
)
STYLE_IDS = frozenset(style[0] for style in STYLES)

_DIMENSIONS = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")
_BACKGROUND = re.compile(r"#[0-9a-fA-F]{6}|transparent")
_ITEM_FIELDS = frozenset(
    {"image_url", "style", "platform", "dimensions", "background", "format", "quality", "webhook_url"}
)


def _default_platform_sizes() -> dict[str, tuple[int, int]]:
    # amazon follows the document's example; the others are each marketplace's recommended size
    return {
        "amazon": (1500, 1500),
        "ebay": (1600, 1600),
        "etsy": (2000, 1500),
        "shopify": (2048, 2048),
        "generic": (1024, 1024),
        "woocommerce": (1200, 1200),
        "mercadolibre": (1200, 1200),
    }


def _default_style_sizes() -> dict[str, tuple[int, int]]:
    return {"social_square": (1080, 1080), "social_story": (1080, 1920), "hero_banner": (1920, 640)}


class ProdVisualSettings(SandboxSettings):
    api_key: str = "pv_test_sandbox"
    credits: int = Field(default=1000, ge=0)
    #: how long fetching a product image may take (a batch fetches 50 at once)
    source_fetch_seconds: float = Field(default=60.0, gt=0)
    rate_limit_per_minute: int | None = Field(default=60, ge=1)
    rate_limit_per_day: int | None = Field(default=10_000, ge=1)
    pending_seconds: float = Field(default=0.2, ge=0)
    processing_seconds: float = Field(default=0.8, ge=0)
    batch_item_seconds: float = Field(default=0.5, ge=0)
    max_source_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    max_dimension: int = Field(default=4096, ge=MIN_DIMENSION)
    platform_sizes: dict[str, tuple[int, int]] = Field(default_factory=_default_platform_sizes)
    style_sizes: dict[str, tuple[int, int]] = Field(default_factory=_default_style_sizes)

    @field_validator("api_key")
    @classmethod
    def _documented_prefix(cls, value: str) -> str:
        if not value.startswith(("pv_test_", "pv_live_")) or len(value) <= len("pv_test_"):
            raise ValueError("ProdVisual API keys start with pv_test_ or pv_live_")
        return value


class _ApiError(Exception):
    """An error answer in the documented shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _invalid(message: str) -> _ApiError:
    return _ApiError(400, "invalid_request", message)


@dataclass(frozen=True)
class _Spec:
    image_url: str
    style: str
    platform: str
    size: tuple[int, int]
    fmt: str
    background: str | None
    quality: int
    webhook_url: str | None


@dataclass
class _Generation:
    id: str
    spec: _Spec
    created_at: float
    status: str = "pending"
    credits_used: int = 1
    batch_id: str | None = None
    output_url: str | None = None
    file_size: int | None = None
    expires_at: float | None = None
    generation_time_ms: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    #: the balance this generation was charged to (see ProdVisualSandbox.balance)
    balance_epoch: int = 0


@dataclass
class _Batch:
    id: str
    created_at: float
    items: list[_Generation]
    webhook_url: str | None
    status: str = "processing"
    notified: bool = False


@dataclass
class _Ledger:
    """Credit movements (time, amount; refunds negative) for the credits endpoint's totals."""

    entries: list[tuple[float, int]] = field(default_factory=list)

    def used_since(self, since: float) -> int:
        return sum(amount for at, amount in self.entries if at >= since)


def _or_default(body: dict[str, Any], key: str, default: object) -> Any:
    # an explicit null means "not given", as the documented defaults suggest
    value = body.get(key)
    return default if value is None else value


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _human_bytes(count: int) -> str:
    return f"{count // (1024 * 1024)}MB" if count >= 1024 * 1024 else f"{count} bytes"


class ProdVisualSandbox(Sandbox):
    name: ClassVar[str] = "prodvisual"
    api_endpoints: ClassVar[frozenset[str]] = frozenset(
        {"generate", "batch", "styles", "credits", "generation_status"}
    )
    settings: ProdVisualSettings

    def __init__(self, settings: ProdVisualSettings | None = None) -> None:
        settings = settings or ProdVisualSettings()
        self.started_at = time.time()
        self.credits_remaining = settings.credits
        # balance(): which balance is live, and the ones set aside (epoch -> credits) meanwhile
        self._balance_epoch = self._epochs = 0
        self._set_aside: dict[int, int] = {}
        self.ledger = _Ledger()
        self.generations: dict[str, _Generation] = {}
        self.batches: dict[str, _Batch] = {}
        super().__init__(settings)

    # -- Sandbox hooks ---------------------------------------------------------------------------

    def register_routes(self, app: Flask) -> None:
        app.add_url_rule("/v1/generate", "generate", self._generate, methods=["POST"])
        app.add_url_rule("/v1/generate/batch", "batch", self._batch, methods=["POST"])
        app.add_url_rule("/v1/styles", "styles", self._styles, methods=["GET"])
        app.add_url_rule("/v1/account/credits", "credits", self._credits, methods=["GET"])
        app.add_url_rule(
            "/v1/generations/<generation_id>", "generation_status", self._generation_status, methods=["GET"]
        )
        app.register_error_handler(_ApiError, self._rejected)
        # unknown paths and methods answer in the documented JSON shape too, not Flask's HTML
        app.register_error_handler(NotFound, lambda _e: self.error_response(404, "not_found", "Not found"))
        app.register_error_handler(
            MethodNotAllowed,
            lambda _e: self.error_response(405, "invalid_request", f"{request.method} is not allowed here"),
        )

    def error_response(self, status: int, code: str, message: str) -> Response:
        return self.json_response({"error": {"code": code, "message": message, "status": status}}, status)

    def authenticate(self) -> Response | None:
        if request.endpoint == "styles":
            return None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self.settings.api_key.encode()
        ):
            return self.error_response(401, "unauthorized", "Invalid or missing API key")
        return None

    def rate_limit_headers(self) -> dict[str, str]:
        limit, remaining, reset = self.window_state()
        if limit is None or remaining is None:
            return {}
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(reset + 0.999)),
        }

    def _rejected(self, exc: _ApiError) -> Response:
        return self.error_response(exc.status, exc.code, exc.message)

    # -- views -----------------------------------------------------------------------------------

    def _generate(self) -> Response:
        spec = self._spec(self._json_object(), where="")
        epoch = self._charge(1)
        generation = _Generation(
            id=self.new_id("gen_", 8), spec=spec, created_at=time.time(), balance_epoch=epoch
        )
        with self.lock:
            self.generations[generation.id] = generation
        if spec.webhook_url is None:
            try:
                self._finish(generation, sync=True)
            except _ApiError:
                with self.lock:
                    del self.generations[generation.id]
                raise
        else:
            self.schedule(self.settings.pending_seconds, lambda: self._mark_processing(generation))
            self.schedule(
                self.settings.pending_seconds + self.settings.processing_seconds,
                lambda: self._complete_async(generation),
            )
        with self.lock:
            body = self._generation_body(generation) | {"credits_remaining": self.credits_remaining}
        return self.json_response(body)

    def _batch(self) -> Response:
        body = self._json_object()
        unknown = sorted(set(body) - {"items", "webhook_url"})
        if unknown:
            raise _invalid(f"Unknown parameter: {unknown[0]}")
        items = body.get("items")
        if not isinstance(items, list):
            raise _invalid("items is required and must be an array of generation objects")
        if not 1 <= len(items) <= MAX_BATCH_ITEMS:
            raise _invalid(f"items must hold 1 to {MAX_BATCH_ITEMS} generation objects (got {len(items)})")
        webhook_url = self._optional_url(body, "webhook_url", "webhook_url")
        specs = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise _invalid(f"items[{index}] must be a generation object")
            specs.append(self._spec(item, where=f"items[{index}]."))
        epoch = self._charge(len(specs))
        now = time.time()
        batch_id = self.new_id("batch_", 6)
        batch = _Batch(
            id=batch_id,
            created_at=now,
            webhook_url=webhook_url,
            items=[
                _Generation(
                    id=self.new_id("gen_", 8),
                    spec=spec,
                    created_at=now,
                    batch_id=batch_id,
                    balance_epoch=epoch,
                )
                for spec in specs
            ],
        )
        step = self.settings.batch_item_seconds
        with self.lock:
            self.batches[batch.id] = batch
            for index, generation in enumerate(batch.items):
                self.generations[generation.id] = generation
                self.schedule(index * step, partial(self._mark_processing, generation))
                self.schedule((index + 1) * step, partial(self._complete_item, generation, batch))
            remaining = self.credits_remaining
        return self.json_response(
            {
                "batch_id": batch.id,
                "status": "processing",
                "total_items": len(specs),
                "credits_used": len(specs),
                "credits_remaining": remaining,
                "estimated_time_ms": int(len(specs) * step * 1000),
                "results_url": f"{self.base_url}/v1/generations/{batch.id}",
            }
        )

    def _styles(self) -> Response:
        styles = [{"id": sid, "name": name, "description": text} for sid, name, text in STYLES]
        return self.json_response({"styles": styles, "total": len(styles)})

    def _credits(self) -> Response:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        with self.lock:
            body = {
                "credits_remaining": self.credits_remaining,
                "credits_used_total": self.ledger.used_since(0),
                "credits_used_today": self.ledger.used_since(today),
                "last_purchase": {"amount": self.settings.credits, "date": _iso(self.started_at)},
            }
        return self.json_response(body)

    def _generation_status(self, generation_id: str) -> Response:
        with self.lock:
            generation = self.generations.get(generation_id)
            batch = self.batches.get(generation_id)
            if generation is not None:
                return self.json_response(self._generation_body(generation))
            if batch is not None:
                return self.json_response(self._batch_body(batch))
        raise _ApiError(404, "not_found", f"No generation or batch with id {generation_id}")

    # -- validation --------------------------------------------------------------------------------

    def _json_object(self) -> dict[str, Any]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise _invalid("The request body must be a JSON object")
        return body

    def _optional_url(self, body: dict[str, Any], key: str, label: str) -> str | None:
        value = body.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise _invalid(f"{label} must be an http(s) URL")
        if len(value) > MAX_URL_LENGTH:
            raise _invalid(f"{label} must be at most {MAX_URL_LENGTH} characters")
        return value

    def _spec(self, body: dict[str, Any], *, where: str) -> _Spec:
        unknown = sorted(set(body) - _ITEM_FIELDS)
        if unknown:
            raise _invalid(f"Unknown parameter: {where}{unknown[0]}")
        image_url = self._optional_url(body, "image_url", f"{where}image_url")
        if image_url is None:
            raise _invalid(f"{where}image_url is required")
        style = body.get("style")
        if not isinstance(style, str) or not style:
            raise _invalid(f"{where}style is required")
        if style not in STYLE_IDS:
            raise _invalid(f"{where}style: unknown style '{style[:64]}'; see GET /v1/styles")
        platform = _or_default(body, "platform", "generic")
        if platform not in PLATFORMS:
            raise _invalid(f"{where}platform must be one of {', '.join(PLATFORMS)}")
        fmt = _or_default(body, "format", "png")
        if fmt not in FORMATS:
            raise _invalid(f"{where}format must be one of png, jpeg, webp")
        quality = _or_default(body, "quality", 90)
        if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
            raise _invalid(f"{where}quality must be an integer from 1 to 100")
        background = body.get("background")
        if background is not None and (
            not isinstance(background, str) or not _BACKGROUND.fullmatch(background)
        ):
            raise _invalid(f"{where}background must be a hex colour like #ffffff or transparent")
        if background == "transparent" and fmt == "jpeg":
            raise _invalid(f"{where}background: transparent needs format png or webp")
        # a per-item webhook_url is part of the shared schema but only the batch's is called
        webhook_url = self._optional_url(body, "webhook_url", f"{where}webhook_url")
        return _Spec(
            image_url=image_url,
            style=style,
            platform=platform,
            size=self._size(body.get("dimensions"), style, platform, where),
            fmt=fmt,
            background=background if background is not None else ("#ffffff" if style == "white_bg" else None),
            quality=quality,
            webhook_url=None if where else webhook_url,
        )

    def _size(self, dimensions: object, style: str, platform: str, where: str) -> tuple[int, int]:
        if dimensions is None:
            return self.settings.style_sizes.get(style) or self.settings.platform_sizes[platform]
        match = _DIMENSIONS.fullmatch(dimensions) if isinstance(dimensions, str) else None
        limit = self.settings.max_dimension
        if match is None:
            raise _invalid(f"{where}dimensions must be WxH, e.g. 1500x1500")
        width, height = int(match.group(1)), int(match.group(2))
        if not (MIN_DIMENSION <= width <= limit and MIN_DIMENSION <= height <= limit):
            raise _invalid(f"{where}dimensions must be between {MIN_DIMENSION} and {limit} pixels a side")
        return width, height

    # -- credits -----------------------------------------------------------------------------------

    @contextmanager
    def balance(self, amount: int) -> Iterator[None]:
        """Set the account's balance to ``amount`` for a while, then give the previous one back.

        Work charged before the change keeps to the balance it was charged to: a refund for a
        generation that started earlier is added to the restored balance, not to this one, so a
        balance of 0 stays 0 while other generations fail and are refunded.
        """
        with self.lock:
            outer = self._balance_epoch
            self._set_aside[outer] = self.credits_remaining
            self._epochs += 1
            self._balance_epoch = self._epochs
            self.credits_remaining = amount
        try:
            yield
        finally:
            with self.lock:
                # refunds still owed to the ending balance go to the live one from now on
                self.credits_remaining = self._set_aside.pop(outer)
                self._balance_epoch = outer

    def _charge(self, amount: int) -> int:
        """Take ``amount`` credits from the live balance; answer that balance's epoch."""
        with self.lock:
            if self.credits_remaining < amount:
                raise _ApiError(
                    402,
                    "insufficient_credits",
                    f"Your account has {self.credits_remaining} credits remaining. "
                    "Please purchase more credits to continue.",
                )
            self.credits_remaining -= amount
            self.ledger.entries.append((time.time(), amount))
            return self._balance_epoch

    def _refund(self, generation: _Generation) -> None:
        with self.lock:
            if generation.credits_used:
                if generation.balance_epoch in self._set_aside:
                    self._set_aside[generation.balance_epoch] += generation.credits_used
                else:
                    self.credits_remaining += generation.credits_used
                self.ledger.entries.append((time.time(), -generation.credits_used))
                generation.credits_used = 0

    # -- progress ----------------------------------------------------------------------------------

    def _mark_processing(self, generation: _Generation) -> None:
        with self.lock:
            if generation.status == "pending":
                generation.status = "processing"

    def _complete_async(self, generation: _Generation) -> None:
        self._finish(generation, sync=False)
        event = "generation.completed" if generation.status == "completed" else "generation.failed"
        with self.lock:
            data = self._webhook_item(generation)
        self._notify(generation.spec.webhook_url, event, data)

    def _complete_item(self, generation: _Generation, batch: _Batch) -> None:
        self._finish(generation, sync=False)
        with self.lock:
            if batch.notified or any(item.status not in {"completed", "failed"} for item in batch.items):
                return
            batch.notified = True
            batch.status = "failed" if all(item.status == "failed" for item in batch.items) else "completed"
            data = {
                "id": batch.id,
                "status": batch.status,
                "credits_used": sum(item.credits_used for item in batch.items),
                "items": [self._webhook_item(item) for item in batch.items],
            }
        self._notify(batch.webhook_url, f"batch.{batch.status}", data)

    def _finish(self, generation: _Generation, *, sync: bool) -> None:
        """Render the output (or fail the generation); ``sync`` turns source errors into HTTP errors."""
        spec = generation.spec
        try:
            source = self._fetch_source(spec.image_url)
        except _ApiError as exc:
            self._refund(generation)
            if sync:
                raise
            self._fail(generation, exc.code, exc.message)
            return
        if self.job_should_fail():
            self._refund(generation)
            self._fail(generation, "generation_failed", self.settings.faults.failed_reason)
            return
        data = media.render_image(
            source, size=spec.size, fmt=spec.fmt, background=spec.background, quality=spec.quality
        )
        url = self.store_file(data, FORMATS[spec.fmt], spec.fmt)
        with self.lock:
            generation.status = "completed"
            generation.output_url = url
            generation.file_size = len(data)
            generation.expires_at = self.file_expiry(url)
            generation.generation_time_ms = int((time.time() - generation.created_at) * 1000)

    def _fail(self, generation: _Generation, code: str, message: str) -> None:
        with self.lock:
            generation.status = "failed"
            generation.error_code = code
            generation.error_message = message
            generation.generation_time_ms = int((time.time() - generation.created_at) * 1000)

    def _fetch_source(self, url: str) -> Image.Image:
        # media.fetch_image cannot tell "too large" from "unreachable", and the two are 413 vs 422
        limit = self.settings.max_source_bytes
        too_large = _ApiError(413, "file_too_large", f"Uploaded image exceeds {_human_bytes(limit)}")
        chunks: list[bytes] = []
        try:
            timeout = httpx.Timeout(self.settings.source_fetch_seconds, connect=10.0)
            with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise _ApiError(
                        422,
                        "invalid_image",
                        f"The image at image_url could not be fetched (HTTP {response.status_code})",
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise too_large
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise too_large
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise _ApiError(
                422, "invalid_image", f"The image at image_url could not be fetched ({type(exc).__name__})"
            ) from exc
        try:
            return media.decode_image(b"".join(chunks))
        except media.MediaError as exc:
            raise _ApiError(422, "invalid_image", f"Image format not supported: {exc}") from exc

    # -- bodies and webhooks -----------------------------------------------------------------------

    def _generation_body(self, generation: _Generation) -> dict[str, Any]:
        spec = generation.spec
        body: dict[str, Any] = {
            "id": generation.id,
            "status": generation.status,
            "output_url": generation.output_url,
            "style": spec.style,
            "platform": spec.platform,
            "dimensions": f"{spec.size[0]}x{spec.size[1]}",
            "format": spec.fmt,
            "file_size": generation.file_size,
            "credits_used": generation.credits_used,
            "generation_time_ms": generation.generation_time_ms,
            "created_at": _iso(generation.created_at),
            "expires_at": _iso(generation.expires_at) if generation.expires_at else None,
        }
        if generation.batch_id:
            body["batch_id"] = generation.batch_id
        if generation.status == "failed":
            body["error"] = {"code": generation.error_code, "message": generation.error_message}
        return body

    def _batch_body(self, batch: _Batch) -> dict[str, Any]:
        return {
            "id": batch.id,
            "status": batch.status,
            "total_items": len(batch.items),
            "credits_used": sum(item.credits_used for item in batch.items),
            "created_at": _iso(batch.created_at),
            "items": [self._generation_body(item) for item in batch.items],
        }

    def _webhook_item(self, generation: _Generation) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": generation.id,
            "status": generation.status,
            "output_url": generation.output_url,
            "credits_used": generation.credits_used,
        }
        if generation.status == "failed":
            data["error"] = {"code": generation.error_code, "message": generation.error_message}
        return data

    def _notify(self, url: str | None, event: str, data: dict[str, Any]) -> None:
        payload = {"event": event, "data": data, "timestamp": _iso(time.time())}
        body = json.dumps(payload).encode()
        signature = hmac.new(self.settings.api_key.encode(), body, hashlib.sha256).hexdigest()
        self.send_webhook(url, body, {"X-ProdVisual-Signature": signature}, event)
