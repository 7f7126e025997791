"""JoggAI v2 adapter: product, then product video.

Stages
    ``product``: ``POST /v2/product`` (from the page URL, which JoggAI crawls, or from the
    details: title as ``name``, description, target audience, the image as media type 1), then
    ``PUT /v2/product`` when a page URL comes with a title, description or target audience. The
    product exists once the call returns, so this stage is completed at once.
    ``video``: ``POST /v2/create_video_from_product``, then ``GET /v2/product_video/{id}``
    and/or the signed webhook. A job started from an earlier job's product
    (``StartRequest.start_from``, kind ``render``) skips the product stage.

Decisions where the documents are vague or contradict themselves:

- Envelope: every answer is ``{code, msg, data}`` and JoggAI reports errors with HTTP 200 and a
  non-zero ``code``; the envelope is checked after every call and any non-zero code raises.
  Undocumented codes are classed by their range (5xxxx retryable server error, others
  permanent), never taken for success. A ``50000`` inside an HTTP 200 is raised as retryable
  without an inline retry: the state machine retries it with backoff.
- The curl example of ``create_video_from_product`` (flat ``avatar_id``, ``voice_id``, integer
  ``aspect_ratio``) contradicts the OpenAPI schema on the same page (nested ``avatar``,
  ``voice``, ``video_spec``); the schema wins, it is the machine-readable contract.
- ``voice`` and ``audio`` are required objects whose fields are all optional: they are always
  sent, with unset fields left out, so JoggAI picks the avatar's voice and no music.
- The create answer's status enum has no ``pending`` while ``GET /v2/product_video/{id}`` does:
  both answers accept all four statuses and map them the same way (pending -> PENDING,
  processing -> RUNNING), so a fresh job may read RUNNING at creation and PENDING right after.
- ``name`` is required when there is no URL: a job with neither page URL nor title fails here
  (``BAD_REQUEST``, code ``missing_name``) without a call. With a page URL, the job's image is
  not sent: ``PUT /v2/product`` media would replace what JoggAI crawled from the page.
- ``error_message`` in the status answer of a failed video is read when present (JoggAI's
  public reference has no failure reason); a failed task carries error code
  ``generation_failed``. A completed video without ``video_url`` is an invalid answer.
- Output URLs have no documented lifetime: ``expires_at`` stays unset and the archive step
  copies them at once.
- Webhooks: JoggAI signs the raw body with HMAC-SHA256 (hex, ``X-Webhook-Signature``) under the
  secret issued when the account's webhook endpoint was registered; that one secret covers the
  per-request ``webhook_url`` too. The payload is not in our documents; we expect
  ``{"event_id", "event": "generated_product_video_success" | "generated_product_video_failed",
  "timestamp", "data": {"video_id", "status", "title", "video_url", "cover_url",
  "deducted_credit", "error_message"}}``. The signature is checked before the body is parsed;
  a signed product-video delivery carries the task; a signed delivery of another event gives a
  notice without a task (re-fetch); a signed body that does not parse raises a permanent
  ``INVALID_RESPONSE``. Receivers must answer 2xx within 5 s; JoggAI retries other answers, so
  ``event_id`` is the de-duplication key.
- Retries: ``POST`` calls are not repeated inline after a 5xx or timeout (a repeat could create
  a second product or bill a second video); ``PUT`` and ``GET`` are. JoggAI allows 20 POST
  requests per minute per account; spreading them across jobs is the caller's concern.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from mediajobs.errors import ErrorKind, PermanentProviderError
from mediajobs.providers.base import (
    OutputKind,
    OutputRef,
    ProviderAdapter,
    ProviderName,
    ProviderTask,
    StartKind,
    StartRequest,
    TaskState,
    WebhookNotice,
)
from mediajobs.providers.http import ProviderHttpClient, RetryPolicy, default_timeout
from mediajobs.signing import verify_hex

from .errors import PROVIDER, envelope_error, map_error
from .models import (
    AudioConfig,
    AvatarConfig,
    CreateProductRequest,
    CreateVideoData,
    CreateVideoFromProductRequest,
    JoggEnvelope,
    JoggOptions,
    MediaType,
    ProductData,
    ProductMediaInput,
    ProductVideoData,
    ProductVideoStatus,
    ScriptConfig,
    UpdateProductRequest,
    VideoSpec,
    VoiceConfig,
    WebhookEvent,
    WebhookPayload,
)

DEFAULT_BASE_URL = "https://api.jogg.ai"
SIGNATURE_HEADER = "X-Webhook-Signature"

STAGE_PRODUCT = "product"
STAGE_VIDEO = "video"

VIDEO_STATES: dict[ProductVideoStatus, TaskState] = {
    ProductVideoStatus.PENDING: TaskState.PENDING,
    ProductVideoStatus.PROCESSING: TaskState.RUNNING,
    ProductVideoStatus.COMPLETED: TaskState.COMPLETED,
    ProductVideoStatus.FAILED: TaskState.FAILED,
}

_PRODUCT_CREATED = "created"
_FAILED_WITHOUT_REASON = "JoggAI reported the video as failed without a reason"


def _invalid(message: str, *, code: str = "invalid_response") -> PermanentProviderError:
    return PermanentProviderError(
        provider=PROVIDER, kind=ErrorKind.INVALID_RESPONSE, provider_code=code, provider_message=message
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _jogg_options(options: BaseModel) -> JoggOptions:
    if isinstance(options, JoggOptions):
        return options
    return JoggOptions.model_validate(options.model_dump())


def _media_name(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1] or "product image"


class JoggAdapter(ProviderAdapter):
    """JoggAI v2 over one HTTP client; ``webhook_secret`` verifies ``X-Webhook-Signature``."""

    name = ProviderName.JOGG

    def __init__(
        self,
        base_url: str,
        api_key: str,
        webhook_secret: str,
        *,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        before_request: Callable[[str], None] | None = None,
    ) -> None:
        self._webhook_secret = webhook_secret
        self._http = ProviderHttpClient(
            provider=PROVIDER,
            base_url=base_url,
            headers={"x-api-key": api_key, "Accept": "application/json"},
            error_mapper=map_error,
            timeout=timeout or default_timeout(),
            retry=retry or RetryPolicy(),
            transport=transport,
            before_request=before_request,
        )

    def close(self) -> None:
        self._http.close()

    # -- the documented endpoints ------------------------------------------------------------------

    def create_product(self, request: CreateProductRequest) -> ProductData:
        """``POST /v2/product``."""
        data = self._call("POST", "/v2/product", request)
        return self._parse(ProductData, data, "POST /v2/product")

    def update_product(self, request: UpdateProductRequest) -> None:
        """``PUT /v2/product``."""
        self._call("PUT", "/v2/product", request)

    def create_video(self, request: CreateVideoFromProductRequest) -> CreateVideoData:
        """``POST /v2/create_video_from_product``."""
        data = self._call("POST", "/v2/create_video_from_product", request)
        return self._parse(CreateVideoData, data, "POST /v2/create_video_from_product")

    def get_product_video(self, video_id: str) -> ProductVideoData:
        """``GET /v2/product_video/{id}``."""
        path = f"/v2/product_video/{quote(video_id, safe='')}"
        return self._parse(ProductVideoData, self._call("GET", path), f"GET {path}")

    # -- the generic interface -------------------------------------------------------------------------

    def start(self, request: StartRequest) -> ProviderTask:
        origin = request.start_from
        if origin is not None:
            # a new video of an existing product: the product stage is skipped
            if origin.kind is not StartKind.RENDER:
                raise PermanentProviderError(
                    provider=PROVIDER,
                    kind=ErrorKind.BAD_REQUEST,
                    provider_code="unsupported_start",
                    provider_message=f"JoggAI jobs cannot start with {origin.kind.value}",
                )
            return self._render(origin.source_task_id, request)
        product = request.product
        if product.page_url:
            created = self.create_product(CreateProductRequest(url=product.page_url))
            if product.title or product.description or product.target_audience:
                self.update_product(
                    UpdateProductRequest(
                        product_id=created.product_id,
                        name=product.title,
                        description=product.description,
                        target_audience=product.target_audience,
                    )
                )
        else:
            if not product.title:
                raise PermanentProviderError(
                    provider=PROVIDER,
                    kind=ErrorKind.BAD_REQUEST,
                    provider_code="missing_name",
                    provider_message="JoggAI needs a product title when there is no product page URL",
                )
            media = (
                [
                    ProductMediaInput(
                        type=MediaType.IMAGE, url=product.image_url, name=_media_name(product.image_url)
                    )
                ]
                if product.image_url
                else None
            )
            created = self.create_product(
                CreateProductRequest(
                    name=product.title,
                    description=product.description,
                    target_audience=product.target_audience,
                    media=media,
                )
            )
        return self._product_task(created.product_id)

    def fetch(self, stage: str, task_id: str) -> ProviderTask:
        if stage == STAGE_PRODUCT:
            return self._product_task(task_id)
        if stage == STAGE_VIDEO:
            return video_task(task_id, self.get_product_video(task_id))
        raise ValueError(f"JoggAI has no stage {stage!r}")

    def advance(self, completed: ProviderTask, request: StartRequest) -> ProviderTask | None:
        if completed.stage == STAGE_VIDEO:
            return None
        if completed.stage != STAGE_PRODUCT or completed.state is not TaskState.COMPLETED:
            raise ValueError(f"cannot advance from {completed.stage} in state {completed.state}")
        return self._render(completed.task_id, request)

    def _render(self, product_id: str, request: StartRequest) -> ProviderTask:
        """``create_video_from_product`` for ``product_id`` with the job's options: the video stage."""
        options = _jogg_options(request.options)
        created = self.create_video(
            CreateVideoFromProductRequest(
                product_id=product_id,
                visual_style=options.visual_style,
                video_spec=VideoSpec(
                    aspect_ratio=options.aspect_ratio,
                    length=options.length,
                    caption=options.caption,
                    name=options.video_name,
                ),
                avatar=AvatarConfig(id=options.avatar_id, type=options.avatar_type),
                voice=VoiceConfig(id=options.voice_id),
                audio=AudioConfig(music_id=options.music_id),
                script=ScriptConfig(style=options.script_style, language=options.language),
                override_script=options.override_script,
                webhook_url=request.webhook_url,
            )
        )
        return ProviderTask(
            provider=ProviderName.JOGG,
            stage=STAGE_VIDEO,
            task_id=created.video_id,
            state=VIDEO_STATES[created.status],
            provider_status=created.status.value,
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookNotice:
        verify_hex(self._webhook_secret, body, _header(headers, SIGNATURE_HEADER))
        try:
            payload = WebhookPayload.model_validate_json(body)
        except ValidationError as exc:
            raise _invalid(f"signed webhook body does not parse: {exc.errors()[:3]}") from exc
        video_id = payload.data.video_id
        known = payload.event in {event.value for event in WebhookEvent}
        return WebhookNotice(
            provider=ProviderName.JOGG,
            task_id=video_id,
            event_id=payload.event_id,
            task=video_task(video_id, payload.data) if known else None,
        )

    # -- plumbing ---------------------------------------------------------------------------------------

    def _product_task(self, product_id: str) -> ProviderTask:
        return ProviderTask(
            provider=ProviderName.JOGG,
            stage=STAGE_PRODUCT,
            task_id=product_id,
            state=TaskState.COMPLETED,
            provider_status=_PRODUCT_CREATED,
        )

    def _call(self, method: str, path: str, body: BaseModel | None = None) -> Any:
        payload = body.model_dump(mode="json", exclude_none=True) if body is not None else None
        response = self._http.request(method, path, json=payload)
        try:
            envelope = JoggEnvelope.model_validate_json(response.content)
        except ValidationError as exc:
            raise _invalid(f"{method} {path} answered without the {{code, msg}} envelope") from exc
        if envelope.code != 0:
            raise envelope_error(
                envelope.code, envelope.msg, http_status=response.status_code, headers=response.headers
            )
        return envelope.data

    @staticmethod
    def _parse[M: BaseModel](model: type[M], data: Any, what: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise _invalid(f"{what} answered unexpected data: {exc.errors()[:3]}") from exc


def video_task(video_id: str, data: ProductVideoData) -> ProviderTask:
    """The normalized task of one product video, from the status answer or a webhook."""
    state = VIDEO_STATES[data.status]
    outputs: list[OutputRef] = []
    if state is TaskState.COMPLETED:
        if not data.video_url:
            raise _invalid(f"video {video_id} is completed but has no video_url")
        outputs.append(OutputRef(kind=OutputKind.VIDEO, url=data.video_url))
        if data.cover_url:
            outputs.append(OutputRef(kind=OutputKind.COVER, url=data.cover_url))
    failed = state is TaskState.FAILED
    return ProviderTask(
        provider=ProviderName.JOGG,
        stage=STAGE_VIDEO,
        task_id=video_id,
        state=state,
        provider_status=data.status.value,
        outputs=tuple(outputs),
        credits_used=data.deducted_credit,
        error_code=ErrorKind.GENERATION_FAILED.value if failed else None,
        error_message=(data.error_message or _FAILED_WITHOUT_REASON) if failed else None,
    )


__all__ = [
    "DEFAULT_BASE_URL",
    "SIGNATURE_HEADER",
    "STAGE_PRODUCT",
    "STAGE_VIDEO",
    "VIDEO_STATES",
    "JoggAdapter",
    "video_task",
]
