"""JoggAI v2 sandbox: products and product videos, as JoggAI's documents describe them.

Routes (Flask view names in brackets; ``Faults.endpoints`` keys on them):

- ``POST /v2/product`` [``create_product``]: from a page ``url`` (fetched here: an image is used
  directly; an HTML page gives ``<title>``, the meta description and ``og:image`` or the first
  ``<img>``) and/or from details (``name`` required without a url). Explicit fields win over
  what the page says.
- ``PUT /v2/product`` [``update_product``]: changes the fields it names.
- ``POST /v2/create_video_from_product`` [``create_video_from_product``]
- ``GET /v2/product_video/<video_id>`` [``product_video``]

Behaviour and the choices made where JoggAI's documents say nothing:

- Every answer is the ``{code, msg, data}`` envelope. Business errors come with HTTP 200, as
  JoggAI's do: 10105 wrong or missing ``x-api-key``, 18025 when ``settings.api_permission`` is
  off, 10104 unknown product or video, 40000 a parameter error whose ``msg`` names the field,
  18020 when the video would cost more credits than are left. Injected server errors answer
  HTTP 500 (504 for the timeout fault) with code 50000. A rate-limited request answers HTTP 429
  with ``Retry-After`` and the envelope ``{"code": 429, ...}``: JoggAI documents no body for it.
- Rate limits apply to POST requests only, as JoggAI's 20 per minute does, and only when
  ``settings.rate_limit_per_minute`` is set. All four views are API endpoints (request log,
  auth, fault knobs); this module skips the shared rate-limit window for the PUT and GET views
  rather than leaving them out of ``api_endpoints``, which would also drop their faults and log.
- A video is ``pending`` for ``pending_seconds``, ``processing`` for ``processing_seconds``, then
  ``completed`` or ``failed``. The create answer says ``processing`` (its documented enum has no
  ``pending``), so a fresh video may read ``pending`` just after.
- The video is an H.264 MP4 of the product's first image (media type 1) at the size of its
  aspect ratio, lasting the length class (15/30/60 s) times ``length_scale`` at ``fps``; the
  cover is a JPEG of the same size. Both are rendered when the job completes.
- Credits: a video costs ``credits_per_15_seconds`` per 15 s of its length class, reserved at
  creation and given back when it fails; ``deducted_credit`` reads 0 until completion.
- The status answer carries ``error_message`` only when the video failed; strings not known
  yet are ``""``, as JoggAI's backend sends them.
- Webhooks (to the request's ``webhook_url``): ``{"event_id", "event":
  "generated_product_video_success" | "generated_product_video_failed", "timestamp", "data":
  {"video_id", "status", "title", "video_url", "cover_url", "deducted_credit",
  "error_message"}}``, signed with HMAC-SHA256 hex of the raw body under
  ``settings.webhook_secret`` in ``X-Webhook-Signature``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal
from urllib.parse import urljoin, urlsplit

import httpx
from flask import Flask, Response, g, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from local.sandboxes import media
from local.sandboxes.common import Sandbox, SandboxSettings

CODE_SUCCESS = 0
CODE_NOT_FOUND = 10104
CODE_INVALID_API_KEY = 10105
CODE_INSUFFICIENT_CREDIT = 18020
CODE_NO_PERMISSION = 18025
CODE_PARAMETER_ERROR = 40000
CODE_SYSTEM_ERROR = 50000

EVENT_SUCCESS = "generated_product_video_success"
EVENT_FAILED = "generated_product_video_failed"
SIGNATURE_HEADER = "X-Webhook-Signature"

MEDIA_TYPE_IMAGE = 1
_MAX_PAGE_BYTES = 5 * 1024 * 1024
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"RIFF")


class JoggSettings(SandboxSettings):
    api_key: str = "sandbox-key"
    webhook_secret: str = "sandbox-webhook-secret"  # noqa: S105 - the sandbox default, not a secret
    api_permission: bool = True
    pending_seconds: float = Field(default=1.0, ge=0)
    processing_seconds: float = Field(default=2.0, ge=0)
    video_sizes: dict[str, tuple[int, int]] = Field(
        default_factory=lambda: {"portrait": (360, 640), "landscape": (640, 360), "square": (480, 480)}
    )
    length_scale: float = Field(default=1.0, gt=0)
    fps: int = Field(default=4, ge=1, le=30)
    credits: float = Field(default=1_000_000.0, ge=0)
    credits_per_15_seconds: float = Field(default=1.0, ge=0)
    page_fetch_timeout: float = Field(default=10.0, gt=0)


# -- the documented request bodies (JoggAI ignores fields it does not know) ------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class _Media(_Body):
    type: int
    url: Annotated[str, Field(min_length=1)]
    name: str | None = None
    description: str | None = None


class _CreateProduct(_Body):
    url: str | None = None
    name: str | None = None
    description: str | None = None
    target_audience: str | None = None
    media: list[_Media] | None = None


class _UpdateProduct(_Body):
    product_id: Annotated[str, Field(min_length=1)]
    name: str | None = None
    description: str | None = None
    target_audience: str | None = None
    media: list[_Media] | None = None


class _VideoSpec(_Body):
    aspect_ratio: Literal["portrait", "landscape", "square"] = "landscape"
    length: Literal["15", "30", "60"]
    caption: bool | None = None
    name: str | None = None


class _Avatar(_Body):
    id: int
    type: Literal[0, 1] | None = None


class _Voice(_Body):
    id: str | None = None


class _Audio(_Body):
    music_id: Annotated[int | None, Field(ge=0)] = None


class _Script(_Body):
    style: Literal["Don't Worry", "Storytime", "Discovery", "Data", "Top 3 reasons", "Light marketing"]
    language: Annotated[str, Field(min_length=1)]


class _CreateVideo(_Body):
    product_id: Annotated[str, Field(min_length=1)]
    visual_style: str | None = None
    video_spec: _VideoSpec
    avatar: _Avatar
    voice: _Voice
    audio: _Audio
    script: _Script
    override_script: str | None = None
    webhook_url: str | None = None


class ParameterError(Exception):
    """A request the sandbox answers with code 40000; the message names the field."""


def _parse[B: _Body](model: type[B], body: Any) -> B:
    if not isinstance(body, dict):
        raise ParameterError("the request body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ParameterError(f"{where}: {first['msg']}") from exc


# -- product pages ---------------------------------------------------------------------------------


class _PageParser(HTMLParser):
    """Title, description and image of a product page, the way a crawler reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.meta: dict[str, str] = {}
        self.first_img: str | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key.lower(): value or "" for key, value in attrs}
        if tag == "title":
            self._in_title = True
        elif tag == "meta":
            key = (values.get("property") or values.get("name") or "").lower()
            if key and "content" in values:
                self.meta.setdefault(key, values["content"].strip())
        elif tag == "img" and self.first_img is None and values.get("src"):
            self.first_img = values["src"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


@dataclass
class CrawledPage:
    name: str | None
    description: str | None
    image_url: str | None


def _fetch_page(url: str, timeout: float) -> tuple[str, bytes]:
    scheme = urlsplit(url).scheme
    if scheme not in {"http", "https"}:
        raise ParameterError(f"url: the product page {url!r} is not an http(s) URL")
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as answer:
            if answer.status_code != 200:
                raise ParameterError(f"url: the product page answered HTTP {answer.status_code}")
            chunks: list[bytes] = []
            size = 0
            for chunk in answer.iter_bytes():
                size += len(chunk)
                if size > _MAX_PAGE_BYTES:
                    raise ParameterError(f"url: the product page is larger than {_MAX_PAGE_BYTES} bytes")
                chunks.append(chunk)
            content_type = answer.headers.get("content-type", "")
    except httpx.HTTPError as exc:
        raise ParameterError(f"url: the product page could not be fetched ({type(exc).__name__})") from exc
    return content_type.split(";")[0].strip().lower(), b"".join(chunks)


def crawl(url: str, timeout: float) -> CrawledPage:
    """What JoggAI's crawler would take from ``url``; ``ParameterError`` when it finds no product."""
    content_type, data = _fetch_page(url, timeout)
    if content_type.startswith("image/") or data.startswith(_IMAGE_MAGIC):
        stem = PurePosixPath(urlsplit(url).path).stem
        return CrawledPage(name=stem or None, description=None, image_url=url)
    parser = _PageParser()
    parser.feed(data.decode("utf-8", errors="replace"))
    parser.close()
    name = parser.title.strip() or parser.meta.get("og:title") or None
    description = parser.meta.get("description") or parser.meta.get("og:description") or None
    image = parser.meta.get("og:image") or parser.first_img
    if not name and not image:
        raise ParameterError("url: the page has neither a title nor a product image")
    return CrawledPage(name=name, description=description, image_url=urljoin(url, image) if image else None)


# -- state -----------------------------------------------------------------------------------------


@dataclass
class Product:
    product_id: str
    url: str | None
    name: str | None
    description: str | None
    target_audience: str | None
    media: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "url": self.url or "",
            "name": self.name or "",
            "description": self.description or "",
            "target_audience": self.target_audience or "",
            "media": self.media,
        }


@dataclass
class Video:
    video_id: str
    product: Product
    spec: _VideoSpec
    title: str
    caption: str | None
    webhook_url: str | None
    cost: float
    created_at: int
    status: str = "pending"
    video_url: str = ""
    cover_url: str = ""
    deducted_credit: float = 0.0
    error_message: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": self.title,
            "video_url": self.video_url,
            "cover_url": self.cover_url,
            "status": self.status,
            "created_at": self.created_at,
            "deducted_credit": self.deducted_credit,
        }
        if self.status == "failed":
            body["error_message"] = self.error_message or ""
        return body


def _media_item(url: str, name: str | None, description: str | None = None) -> dict[str, Any]:
    return {"type": MEDIA_TYPE_IMAGE, "name": name or "", "url": url, "description": description or ""}


class JoggSandbox(Sandbox):
    name = "jogg"
    api_endpoints = frozenset(
        {"create_product", "update_product", "create_video_from_product", "product_video"}
    )

    settings: JoggSettings

    def __init__(self, settings: JoggSettings | None = None) -> None:
        self.products: dict[str, Product] = {}
        self.videos: dict[str, Video] = {}
        self.credits_spent = 0.0
        super().__init__(settings or JoggSettings())

    # -- provider shape ------------------------------------------------------------------------

    def envelope(self, code: int, msg: str, data: Any = None, status: int = 200) -> Response:
        body: dict[str, Any] = {"code": code, "msg": msg}
        if data is not None:
            body["data"] = data
        return self.json_response(body, status)

    def error_response(self, status: int, code: str, message: str) -> Response:
        business = CODE_SYSTEM_ERROR if code == "server_error" else status
        return self.envelope(business, message, status=status)

    def authenticate(self) -> Response | None:
        supplied = request.headers.get("x-api-key", "")
        if not hmac.compare_digest(supplied.encode(), self.settings.api_key.encode()):
            return self.envelope(CODE_INVALID_API_KEY, "Invalid API key")
        if not self.settings.api_permission:
            return self.envelope(CODE_NO_PERMISSION, "No permission to call APIs")
        return None

    def _before_request(self) -> Response | None:
        if request.method == "POST" or request.endpoint not in self.api_endpoints:
            return super()._before_request()
        # JoggAI limits POST requests only: PUT and GET skip the shared window, nothing else.
        g.fault = None
        denied = self.authenticate()
        if denied is not None:
            return denied
        return self._injected_fault(request.endpoint or "", time.time())

    def new_jogg_id(self) -> str:
        """An id shaped like JoggAI's (``NTIzMzc0NjI5``: base64 of a nine-digit number)."""
        while True:
            number = str(100_000_000 + secrets.randbelow(900_000_000))
            candidate = base64.b64encode(number.encode()).decode()
            with self.lock:
                if candidate not in self.products and candidate not in self.videos:
                    return candidate

    # -- routes -------------------------------------------------------------------------------------

    def register_routes(self, app: Flask) -> None:
        @app.post("/v2/product", endpoint="create_product")
        def create_product() -> Response:
            try:
                return self._create_product(_parse(_CreateProduct, request.get_json(silent=True)))
            except ParameterError as exc:
                return self.envelope(CODE_PARAMETER_ERROR, f"Parameter error: {exc}")

        @app.put("/v2/product", endpoint="update_product")
        def update_product() -> Response:
            try:
                return self._update_product(_parse(_UpdateProduct, request.get_json(silent=True)))
            except ParameterError as exc:
                return self.envelope(CODE_PARAMETER_ERROR, f"Parameter error: {exc}")

        @app.post("/v2/create_video_from_product", endpoint="create_video_from_product")
        def create_video_from_product() -> Response:
            try:
                return self._create_video(_parse(_CreateVideo, request.get_json(silent=True)))
            except ParameterError as exc:
                return self.envelope(CODE_PARAMETER_ERROR, f"Parameter error: {exc}")

        @app.get("/v2/product_video/<video_id>", endpoint="product_video")
        def product_video(video_id: str) -> Response:
            with self.lock:
                video = self.videos.get(video_id)
                body = video.as_json() if video else None
            if body is None:
                return self.envelope(CODE_NOT_FOUND, f"Record not found: product video {video_id}")
            return self.envelope(CODE_SUCCESS, "Success", body)

    def _create_product(self, body: _CreateProduct) -> Response:
        if not body.url and not body.name:
            raise ParameterError("name: name is required when url is empty")
        crawled = crawl(body.url, self.settings.page_fetch_timeout) if body.url else None
        name = body.name or (crawled.name if crawled else None)
        description = body.description or (crawled.description if crawled else None)
        if body.media is not None:
            items = [item.model_dump() for item in body.media]
        elif crawled and crawled.image_url:
            items = [_media_item(crawled.image_url, name)]
        else:
            items = []
        product = Product(self.new_jogg_id(), body.url, name, description, body.target_audience, items)
        with self.lock:
            self.products[product.product_id] = product
            answer = product.as_json()
        return self.envelope(CODE_SUCCESS, "Success", answer)

    def _update_product(self, body: _UpdateProduct) -> Response:
        with self.lock:
            product = self.products.get(body.product_id)
            if product is None:
                return self.envelope(CODE_NOT_FOUND, f"Record not found: product {body.product_id}")
            for name in ("name", "description", "target_audience"):
                value = getattr(body, name)
                if value is not None:
                    setattr(product, name, value)
            if body.media is not None:
                product.media = [item.model_dump() for item in body.media]
        return self.envelope(CODE_SUCCESS, "Success")

    def _create_video(self, body: _CreateVideo) -> Response:
        if body.webhook_url is not None and urlsplit(body.webhook_url).scheme not in {"http", "https"}:
            raise ParameterError("webhook_url: must be an http(s) URI")
        cost = int(body.video_spec.length) / 15 * self.settings.credits_per_15_seconds
        with self.lock:
            product = self.products.get(body.product_id)
            if product is None:
                return self.envelope(CODE_NOT_FOUND, f"Record not found: product {body.product_id}")
            if self.settings.credits - self.credits_spent < cost:
                return self.envelope(CODE_INSUFFICIENT_CREDIT, "Insufficient credit")
            self.credits_spent += cost
            snapshot = replace(product, media=list(product.media))
        caption = (body.override_script or snapshot.name) if body.video_spec.caption else None
        video = Video(
            video_id=self.new_jogg_id(),
            product=snapshot,
            spec=body.video_spec,
            title=body.video_spec.name or snapshot.name or "",
            caption=caption,
            webhook_url=body.webhook_url,
            cost=cost,
            created_at=int(time.time()),
        )
        with self.lock:
            self.videos[video.video_id] = video
        pending, processing = self.settings.pending_seconds, self.settings.processing_seconds
        self.schedule(pending, lambda: self._start_processing(video.video_id))
        self.schedule(pending + processing, lambda: self._finish(video.video_id))
        return self.envelope(CODE_SUCCESS, "Success", {"video_id": video.video_id, "status": "processing"})

    # -- job progress (timer threads) -------------------------------------------------------------

    def _start_processing(self, video_id: str) -> None:
        with self.lock:
            video = self.videos[video_id]
            # with zero durations the two timers race; a finished video must stay finished
            if video.status == "pending":
                video.status = "processing"

    def _finish(self, video_id: str) -> None:
        with self.lock:
            video = self.videos[video_id]
        if self.job_should_fail():
            self._fail(video, self.settings.faults.failed_reason)
            return
        image_url = next(
            (item["url"] for item in video.product.media if item.get("type") == MEDIA_TYPE_IMAGE), None
        )
        if image_url is None:
            self._fail(video, "The product has no image to make a video from")
            return
        try:
            source = media.fetch_image(image_url)
        except media.MediaError as exc:
            self._fail(video, f"The product image could not be used: {exc}")
            return
        size = self.settings.video_sizes[video.spec.aspect_ratio]
        seconds = int(video.spec.length) * self.settings.length_scale
        clip = media.render_video(
            source, size=size, seconds=seconds, fps=self.settings.fps, caption=video.caption
        )
        cover = media.render_image(source, size=size, fmt="jpeg")
        video_url = self.store_file(clip, "video/mp4", "mp4")
        cover_url = self.store_file(cover, "image/jpeg", "jpg")
        with self.lock:
            video.video_url, video.cover_url = video_url, cover_url
            video.deducted_credit = video.cost
            video.status = "completed"
        self._notify(video, EVENT_SUCCESS)

    def _fail(self, video: Video, reason: str) -> None:
        with self.lock:
            video.status = "failed"
            video.error_message = reason
            self.credits_spent -= video.cost
        self._notify(video, EVENT_FAILED)

    def _notify(self, video: Video, event: str) -> None:
        with self.lock:
            data = {"video_id": video.video_id, **video.as_json(), "error_message": video.error_message or ""}
        data.pop("created_at")
        payload = {
            "event_id": self.new_id("evt_", 9),
            "event": event,
            "timestamp": int(time.time()),
            "data": data,
        }
        body = json.dumps(payload).encode()
        # signed with the standard library, not mediajobs.signing, so the adapter's check is tested
        # against an independent implementation
        signature = hmac.new(self.settings.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        self.send_webhook(video.webhook_url, body, {SIGNATURE_HEADER: signature}, event)
