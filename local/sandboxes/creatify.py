"""Creatify product-to-video sandbox: the documented API on loopback, with real media.

Routes, with the Flask endpoint names that ``Faults.endpoints`` keys on:

====================================================  =========================
``POST /api/product_to_videos/gen_image/``            ``gen_image``
``GET  /api/product_to_videos/<id>/``                 ``product_to_video_status``
``GET  /api/product_to_videos/?ids=a,b``              ``product_to_video_list``
``POST /api/product_to_videos/<id>/regen_image/``     ``regen_image``
``POST /api/product_to_videos/<id>/gen_video/``       ``gen_video``
``POST /api/product_to_videos/<id>/regen_video/``     ``regen_video``
====================================================  =========================

Behaviour, following the guide and the GET reference:

- Auth: ``X-API-ID`` and ``X-API-KEY`` must match the settings, else 401 with DRF's
  ``{"detail": ...}``. Every error is a Django REST framework body: ``{"detail": ...}`` for
  401/404/405/429/5xx, ``{"field": ["msg"]}`` for validation, ``{"non_field_errors": ["msg"]}``
  for an action the task's status does not allow (gen_video before image_generated,
  regen_video before video_generated, regen_image before a preview exists).
- Validation: product_url (required) and webhook_url are URLs of at most 200 characters; type,
  aspect_ratio and motion_style must be documented choices (motion_style may be ``""``, as the
  guide's payloads show); override_avatar a UUID. Unknown fields are ignored, as DRF does.
- Progress: gen_image / regen_image: initializing -> image_generating (the product image is
  fetched here; an unreachable URL or a non-image fails the task with a failed_reason saying so)
  -> image_generated (a JPEG preview of the product at the aspect ratio's size). gen_video keeps
  the id: video_generating -> video_generated (an H.264 MP4 of the preview at the aspect ratio;
  generated_photo_url is kept). regen_image / regen_video create a NEW task with
  ``regen_source_id`` and ``regen_type``; regen_video starts in video_generating from the
  source's preview. ``job_failure_rate`` is rolled when an image or a video would complete.
- Callbacks: the full task object (field order as the guide's callback examples) is POSTed to
  ``webhook_url`` on each result status (image_generated, video_generated, failed),
  ``callbacks_per_status`` times, since Creatify may call more than once. Nothing is signed.
  A regen without a ``webhook_url`` inherits the source task's.
"""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from flask import Flask, Response, request
from PIL import Image
from pydantic import AfterValidator, Field
from werkzeug.exceptions import HTTPException

from local.sandboxes import media
from local.sandboxes.common import Sandbox, SandboxSettings

MAX_URL_LENGTH = 200
MAX_LIST_IDS = 100
ASPECT_RATIOS = ("9x16", "16x9", "1x1")
TYPES = ("product_anyshot", "product_avatar")
MOTION_STYLES = ("talking", "display")

Size = tuple[int, int]


def _every_ratio(sizes: dict[str, Size]) -> dict[str, Size]:
    missing = set(ASPECT_RATIOS) - set(sizes)
    if missing:
        raise ValueError(f"sizes are needed for every aspect ratio; missing {sorted(missing)}")
    if any(w < 2 or h < 2 for w, h in sizes.values()):
        raise ValueError("sizes must be at least 2x2")
    return sizes


SizesByRatio = Annotated[dict[str, Size], AfterValidator(_every_ratio)]


class CreatifySettings(SandboxSettings):
    """Credentials, per-status durations (seconds), media sizes and callback repeats."""

    api_id: str = "sandbox"
    api_key: str = "sandbox-key"
    initializing_seconds: float = Field(default=1.0, ge=0)
    image_generating_seconds: float = Field(default=2.0, ge=0)
    video_generating_seconds: float = Field(default=3.0, ge=0)
    preview_sizes: SizesByRatio = Field(
        default_factory=lambda: {"16x9": (960, 540), "9x16": (540, 960), "1x1": (720, 720)}
    )
    video_sizes: SizesByRatio = Field(
        default_factory=lambda: {"16x9": (640, 360), "9x16": (360, 640), "1x1": (480, 480)}
    )
    video_seconds: float = Field(default=4.0, gt=0)
    video_fps: int = Field(default=6, ge=1, le=60)
    callbacks_per_status: int = Field(default=1, ge=1, le=10)


# -- request validation, DRF style -----------------------------------------------------------

FieldKind = Literal["url", "text", "uuid", "choice"]


@dataclass(frozen=True)
class _FieldSpec:
    kind: FieldKind
    required: bool = False
    choices: tuple[str, ...] = ()
    allow_blank: bool = False
    max_length: int | None = None


_URL = _FieldSpec("url", max_length=MAX_URL_LENGTH)
_PROMPT = _FieldSpec("text", allow_blank=True)

GEN_IMAGE_FIELDS: Mapping[str, _FieldSpec] = {
    "product_url": _FieldSpec("url", required=True, max_length=MAX_URL_LENGTH),
    "webhook_url": _URL,
    "type": _FieldSpec("choice", choices=TYPES),
    "aspect_ratio": _FieldSpec("choice", choices=ASPECT_RATIOS),
    "override_avatar": _FieldSpec("uuid"),
    "motion_style": _FieldSpec("choice", choices=MOTION_STYLES, allow_blank=True),
    "product_showcase_url": _FieldSpec("text", allow_blank=True),
    "image_prompt": _PROMPT,
    "video_prompt": _PROMPT,
}
REGEN_IMAGE_FIELDS: Mapping[str, _FieldSpec] = {"image_prompt": _PROMPT, "webhook_url": _URL}
VIDEO_FIELDS: Mapping[str, _FieldSpec] = {"video_prompt": _PROMPT, "webhook_url": _URL}


def _kind_problem(value: str, spec: _FieldSpec) -> str | None:
    if spec.kind == "url":
        parts = urlsplit(value)
        return None if parts.scheme in {"http", "https"} and parts.netloc else "Enter a valid URL."
    if spec.kind == "uuid":
        try:
            uuid.UUID(value)
        except ValueError:
            return "Must be a valid UUID."
        return None
    if spec.kind == "choice" and value not in spec.choices:
        return f'"{value}" is not a valid choice.'
    return None


def _check(value: Any, spec: _FieldSpec) -> str | None:
    """The DRF error message for ``value`` (not None), or None when it is valid."""
    if not isinstance(value, str):
        return "Not a valid string."
    if value == "":
        return None if spec.allow_blank else "This field may not be blank."
    if spec.max_length is not None and len(value) > spec.max_length:
        return f"Ensure this field has no more than {spec.max_length} characters."
    return _kind_problem(value, spec)


def validate_body(body: Any, fields: Mapping[str, _FieldSpec]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(clean data, DRF error body); unknown keys are dropped like a DRF serializer does."""
    if not isinstance(body, dict):
        return {}, {
            "non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(body).__name__}."]
        }
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, spec in fields.items():
        if name not in body:
            if spec.required:
                errors[name] = ["This field is required."]
            continue
        value = body[name]
        if value is None:
            if spec.required:
                errors[name] = ["This field may not be null."]
            else:
                data[name] = None
            continue
        problem = _check(value, spec)
        if problem:
            errors[name] = [problem]
        else:
            data[name] = value
    return data, errors


# -- the task records ------------------------------------------------------------------------

_CALLBACK_ORDER = (
    "id",
    "type",
    "failed_reason",
    "regen_source_id",
    "regen_type",
    "product_url",
    "aspect_ratio",
    "override_avatar",
    "motion_style",
    "product_showcase_url",
    "image_prompt",
    "video_prompt",
    "status",
    "generated_video_url",
    "generated_photo_url",
    "created_at",
    "updated_at",
    "webhook_url",
)
_REFERENCE_ORDER = (
    "id",
    "type",
    "product_url",
    "aspect_ratio",
    "override_avatar",
    "motion_style",
    "product_showcase_url",
    "image_prompt",
    "video_prompt",
    "status",
    "generated_video_url",
    "generated_photo_url",
    "created_at",
    "updated_at",
    "webhook_url",
    "failed_reason",
    "regen_type",
    "regen_source_id",
)
PREVIEW_READY = frozenset({"image_generated", "video_generating", "video_generated"})
RESULT_STATUSES = frozenset({"image_generated", "video_generated", "failed"})


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class ProductToVideoTask:
    """One task as the API shows it, plus the images its later stages are drawn from."""

    id: str
    product_url: str
    type: str = "product_anyshot"
    aspect_ratio: str = "16x9"
    override_avatar: str | None = None
    motion_style: str = ""
    product_showcase_url: str | None = None
    image_prompt: str | None = None
    video_prompt: str | None = None
    status: str = "initializing"
    generated_video_url: str | None = None
    generated_photo_url: str | None = None
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)
    webhook_url: str | None = None
    failed_reason: str | None = None
    regen_type: str | None = None
    regen_source_id: str | None = None
    product: Image.Image | None = field(default=None, repr=False)
    preview: Image.Image | None = field(default=None, repr=False)

    def as_json(self, order: tuple[str, ...] = _REFERENCE_ORDER) -> dict[str, Any]:
        return {name: getattr(self, name) for name in order}


class CreatifySandbox(Sandbox):
    """Creatify's product-to-video API (see the module docstring for routes and behaviour)."""

    name: ClassVar[str] = "creatify"
    api_endpoints: ClassVar[frozenset[str]] = frozenset(
        {
            "gen_image",
            "product_to_video_status",
            "product_to_video_list",
            "regen_image",
            "gen_video",
            "regen_video",
        }
    )
    settings: CreatifySettings

    def __init__(self, settings: CreatifySettings | None = None) -> None:
        self.tasks: dict[str, ProductToVideoTask] = {}
        super().__init__(settings or CreatifySettings())

    # -- provider hooks ------------------------------------------------------------------------

    def error_response(self, status: int, code: str, message: str) -> Response:
        detail = "Request was throttled." if status == 429 else message
        return self.json_response({"detail": detail}, status)

    def authenticate(self) -> Response | None:
        api_id = request.headers.get("X-API-ID")
        api_key = request.headers.get("X-API-KEY")
        if not api_id or not api_key:
            return self.json_response({"detail": "Authentication credentials were not provided."}, 401)
        id_ok = hmac.compare_digest(api_id.encode(), self.settings.api_id.encode())
        key_ok = hmac.compare_digest(api_key.encode(), self.settings.api_key.encode())
        if not (id_ok and key_ok):
            return self.json_response({"detail": "Incorrect authentication credentials."}, 401)
        return None

    def register_routes(self, app: Flask) -> None:
        base = "/api/product_to_videos"
        app.add_url_rule(f"{base}/gen_image/", "gen_image", self._gen_image, methods=["POST"])
        app.add_url_rule(f"{base}/", "product_to_video_list", self._list, methods=["GET"])
        app.add_url_rule(f"{base}/<task_id>/", "product_to_video_status", self._status, methods=["GET"])
        app.add_url_rule(f"{base}/<task_id>/regen_image/", "regen_image", self._regen_image, methods=["POST"])
        app.add_url_rule(f"{base}/<task_id>/gen_video/", "gen_video", self._gen_video, methods=["POST"])
        app.add_url_rule(f"{base}/<task_id>/regen_video/", "regen_video", self._regen_video, methods=["POST"])
        app.register_error_handler(HTTPException, self._http_exception)

    # -- views ---------------------------------------------------------------------------------

    def _gen_image(self) -> Response:
        data, problem = self._body(GEN_IMAGE_FIELDS)
        if problem is not None:
            return problem
        task = ProductToVideoTask(
            id=str(uuid.uuid4()),
            product_url=data["product_url"],
            type=data.get("type") or "product_anyshot",
            aspect_ratio=data.get("aspect_ratio") or "16x9",
            override_avatar=data.get("override_avatar"),
            motion_style=data.get("motion_style") or "",
            product_showcase_url=data.get("product_showcase_url"),
            image_prompt=data.get("image_prompt"),
            video_prompt=data.get("video_prompt"),
            webhook_url=data.get("webhook_url"),
        )
        return self._launch_image(task)

    def _status(self, task_id: str) -> Response:
        with self.lock:
            task = self.tasks.get(task_id)
            body = task.as_json() if task else None
        if body is None:
            return self._not_found()
        return self.json_response(body)

    def _list(self) -> Response:
        raw = request.args.get("ids")
        with self.lock:
            if raw is None:
                ordered = sorted(self.tasks.values(), key=lambda t: t.created_at, reverse=True)
                return self.json_response([t.as_json() for t in ordered])
        ids = [part.strip() for part in raw.split(",") if part.strip()]
        if len(ids) > MAX_LIST_IDS:
            return self.json_response(
                {"ids": [f"Ensure this field has no more than {MAX_LIST_IDS} elements."]}, 400
            )
        for value in ids:
            if _check(value, _FieldSpec("uuid")) is not None:
                return self.json_response({"ids": [f'"{value}" is not a valid UUID.']}, 400)
        with self.lock:
            found = [self.tasks[i].as_json() for i in ids if i in self.tasks]
        return self.json_response(found)

    def _regen_image(self, task_id: str) -> Response:
        data, problem = self._body(REGEN_IMAGE_FIELDS)
        if problem is not None:
            return problem
        with self.lock:
            source = self.tasks.get(task_id)
            if source is None:
                return self._not_found()
            if source.status not in PREVIEW_READY:
                return self._conflict(
                    f"The image can only be regenerated once it is generated ({source.status})."
                )
            task = ProductToVideoTask(
                id=str(uuid.uuid4()),
                product_url=source.product_url,
                type=source.type,
                aspect_ratio=source.aspect_ratio,
                override_avatar=source.override_avatar,
                motion_style=source.motion_style,
                product_showcase_url=source.product_showcase_url,
                image_prompt=data.get("image_prompt", source.image_prompt),
                video_prompt=source.video_prompt,
                webhook_url=data.get("webhook_url") or source.webhook_url,
                regen_type="regen_image",
                regen_source_id=source.id,
                product=source.product,
            )
        return self._launch_image(task)

    def _gen_video(self, task_id: str) -> Response:
        data, problem = self._body(VIDEO_FIELDS)
        if problem is not None:
            return problem
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None:
                return self._not_found()
            if task.status != "image_generated":
                return self._conflict(
                    f"A video can only be generated from status image_generated (status is {task.status})."
                )
            if "video_prompt" in data:
                task.video_prompt = data["video_prompt"]
            if data.get("webhook_url"):
                task.webhook_url = data["webhook_url"]
            self._set_status(task, "video_generating")
            body = task.as_json()
        self.schedule(self.settings.video_generating_seconds, lambda: self._finish_video(task_id))
        return self.json_response(body)

    def _regen_video(self, task_id: str) -> Response:
        data, problem = self._body(VIDEO_FIELDS)
        if problem is not None:
            return problem
        with self.lock:
            source = self.tasks.get(task_id)
            if source is None:
                return self._not_found()
            if source.status != "video_generated":
                return self._conflict(
                    "A video can only be regenerated from status video_generated "
                    f"(status is {source.status})."
                )
            task = ProductToVideoTask(
                id=str(uuid.uuid4()),
                product_url=source.product_url,
                type=source.type,
                aspect_ratio=source.aspect_ratio,
                override_avatar=source.override_avatar,
                motion_style=source.motion_style,
                product_showcase_url=source.product_showcase_url,
                image_prompt=source.image_prompt,
                video_prompt=data.get("video_prompt", source.video_prompt),
                status="video_generating",
                generated_photo_url=source.generated_photo_url,
                webhook_url=data.get("webhook_url") or source.webhook_url,
                regen_type="regen_video",
                regen_source_id=source.id,
                product=source.product,
                preview=source.preview,
            )
            self.tasks[task.id] = task
            body = task.as_json()
        self.schedule(self.settings.video_generating_seconds, lambda: self._finish_video(task.id))
        return self.json_response(body)

    # -- progress (timer threads) --------------------------------------------------------------

    def _launch_image(self, task: ProductToVideoTask) -> Response:
        with self.lock:
            self.tasks[task.id] = task
            body = task.as_json()
        self.schedule(self.settings.initializing_seconds, lambda: self._start_image(task.id))
        return self.json_response(body)

    def _start_image(self, task_id: str) -> None:
        with self.lock:
            task = self.tasks[task_id]
            self._set_status(task, "image_generating")
            product, product_url = task.product, task.product_url
        if product is None:
            try:
                product = media.fetch_image(product_url)
            except media.MediaError as exc:
                self._fail(task_id, f"The product image at product_url could not be used: {exc}")
                return
            with self.lock:
                task.product = product
        self.schedule(self.settings.image_generating_seconds, lambda: self._finish_image(task_id))

    def _finish_image(self, task_id: str) -> None:
        if self.job_should_fail():
            self._fail(task_id, self.settings.faults.failed_reason)
            return
        with self.lock:
            task = self.tasks[task_id]
            product, ratio, prompt = task.product, task.aspect_ratio, task.image_prompt
        if product is None:
            self._fail(task_id, "The product image is missing")
            return
        size = self.settings.preview_sizes[ratio]
        jpeg = media.render_image(product, size=size, fmt="jpeg", caption=prompt or None)
        url = self.store_file(jpeg, "image/jpeg", "jpg")

        def done(t: ProductToVideoTask) -> None:
            t.preview = media.decode_image(jpeg)
            t.generated_photo_url = url

        self._complete(task_id, "image_generated", done)

    def _finish_video(self, task_id: str) -> None:
        if self.job_should_fail():
            self._fail(task_id, self.settings.faults.failed_reason)
            return
        with self.lock:
            task = self.tasks[task_id]
            preview, ratio, prompt = task.preview, task.aspect_ratio, task.video_prompt
        if preview is None:
            self._fail(task_id, "The preview image is missing")
            return
        mp4 = media.render_video(
            preview,
            size=self.settings.video_sizes[ratio],
            seconds=self.settings.video_seconds,
            fps=self.settings.video_fps,
            caption=prompt or None,
        )
        url = self.store_file(mp4, "video/mp4", "mp4")

        def done(t: ProductToVideoTask) -> None:
            t.generated_video_url = url

        self._complete(task_id, "video_generated", done)

    def _complete(self, task_id: str, status: str, update: Callable[[ProductToVideoTask], None]) -> None:
        with self.lock:
            task = self.tasks[task_id]
            update(task)
            self._set_status(task, status)
            body, url = task.as_json(_CALLBACK_ORDER), task.webhook_url
        self._callback(url, body, status)

    def _fail(self, task_id: str, reason: str) -> None:
        with self.lock:
            task = self.tasks[task_id]
            task.failed_reason = reason
            self._set_status(task, "failed")
            body, url = task.as_json(_CALLBACK_ORDER), task.webhook_url
        self._callback(url, body, "failed")

    def _callback(self, url: str | None, body: dict[str, Any], status: str) -> None:
        payload = json.dumps(body).encode()
        for _ in range(self.settings.callbacks_per_status):
            self.send_webhook(url, payload, {}, event=status)

    @staticmethod
    def _set_status(task: ProductToVideoTask, status: str) -> None:
        task.status = status
        task.updated_at = _now()

    # -- request helpers -----------------------------------------------------------------------

    def _body(self, fields: Mapping[str, _FieldSpec]) -> tuple[dict[str, Any], Response | None]:
        raw = request.get_data()
        if not raw.strip():
            body: Any = {}
        else:
            try:
                body = json.loads(raw)
            except ValueError as exc:
                return {}, self.json_response({"detail": f"JSON parse error - {exc}"}, 400)
        data, errors = validate_body(body, fields)
        if errors:
            return {}, self.json_response(errors, 400)
        return data, None

    def _not_found(self) -> Response:
        return self.json_response({"detail": "No ProductToVideo matches the given query."}, 404)

    def _conflict(self, message: str) -> Response:
        return self.json_response({"non_field_errors": [message]}, 400)

    def _http_exception(self, exc: HTTPException) -> Response:
        code = exc.code or 500
        if code == 405:
            return self.json_response({"detail": f'Method "{request.method}" not allowed.'}, 405)
        if code == 404:
            return self.json_response({"detail": "Not found."}, 404)
        return self.json_response({"detail": exc.description or exc.name}, code)
