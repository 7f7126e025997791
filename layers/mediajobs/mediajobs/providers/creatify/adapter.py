"""Creatify product-to-video adapter.

A job has two stages on ONE Creatify task id: ``image`` (``gen_image``: the preview image) and
``video`` (``gen_video`` on the same id). ``CreatifyOptions.stop_after="image"`` ends the job at the
preview. ``regen_image`` / ``regen_video`` create new task ids (carrying ``regen_source_id`` and
``regen_type``); a job reaches them (and a later ``gen_video`` on an earlier job's task) through
``StartRequest.start_from``: its first task is then stage ``image`` (regen_image) or ``video``.

Decisions where the documents are silent or contradict themselves:

- Status per stage. Stage ``image``: initializing -> PENDING, image_generating -> RUNNING,
  image_generated (and the later video_* statuses: the preview exists) -> COMPLETED. Stage
  ``video``: initializing / image_generated (video not started yet) -> PENDING,
  image_generating / video_generating -> RUNNING, video_generated -> COMPLETED. ``failed`` ->
  FAILED with ``error_code="failed"`` and ``error_message=failed_reason``.
- A "generated" status without its URL (the guide's regen_video callback says video_generated with
  ``generated_video_url: null``) is reported as RUNNING, not COMPLETED: there is nothing to archive
  yet, the next poll picks the URL up, and the job deadline bounds the wait.
- Outputs are reported only for a COMPLETED stage: ``preview`` = generated_photo_url (both
  stages), ``video`` = generated_video_url. Creatify states no expiry and no credits, so
  ``expires_at`` and ``credits_used`` stay ``None``.
- The reference labels ``failed_reason``, ``regen_type`` and ``regen_source_id`` "The generated
  image/video url" (copy-paste); they are read as what their names say, nullable.
- Creatify signs no callback and may send several for one status change. ``parse_webhook`` only
  checks that the body is a JSON object with a UUID ``id`` and returns a notice without a task:
  the receiver must re-fetch. ``event_id`` is the SHA-256 of the raw body, so identical repeats
  de-duplicate while a later status (a different body) does not collide.
- Our own ``image_url`` and ``webhook_url`` must fit the documented 200 characters; a longer one
  (a presigned S3 URL usually is) fails locally as BAD_REQUEST before any request is sent.
- Error bodies: see :mod:`.errors` (DRF shapes assumed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final
from uuid import UUID

import httpx
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from mediajobs.errors import ErrorKind, ProviderError, WebhookVerificationError, provider_error
from mediajobs.providers.base import (
    OutputKind,
    OutputRef,
    ProviderAdapter,
    ProviderName,
    ProviderTask,
    StartFrom,
    StartKind,
    StartRequest,
    TaskState,
    WebhookNotice,
)
from mediajobs.providers.creatify.errors import PROVIDER, map_error
from mediajobs.providers.creatify.models import (
    MAX_IDS_PER_LIST,
    CreatifyOptions,
    GenImageRequest,
    GenVideoRequest,
    ProductToVideo,
    ProductToVideoStatus,
    RegenImageRequest,
    RegenVideoRequest,
)
from mediajobs.providers.http import ProviderHttpClient, RetryPolicy, default_timeout

STAGE_IMAGE: Final = "image"
STAGE_VIDEO: Final = "video"
STAGES: Final = (STAGE_IMAGE, STAGE_VIDEO)

_BASE_PATH = "/api/product_to_videos"

_S = ProductToVideoStatus
_IMAGE_STATES: Final[dict[ProductToVideoStatus, TaskState]] = {
    _S.INITIALIZING: TaskState.PENDING,
    _S.IMAGE_GENERATING: TaskState.RUNNING,
    _S.IMAGE_GENERATED: TaskState.COMPLETED,
    _S.VIDEO_GENERATING: TaskState.COMPLETED,
    _S.VIDEO_GENERATED: TaskState.COMPLETED,
    _S.FAILED: TaskState.FAILED,
}
_VIDEO_STATES: Final[dict[ProductToVideoStatus, TaskState]] = {
    _S.INITIALIZING: TaskState.PENDING,
    _S.IMAGE_GENERATING: TaskState.RUNNING,
    _S.IMAGE_GENERATED: TaskState.PENDING,
    _S.VIDEO_GENERATING: TaskState.RUNNING,
    _S.VIDEO_GENERATED: TaskState.COMPLETED,
    _S.FAILED: TaskState.FAILED,
}
#: (stage, provider status) -> normalized state; tests iterate it
STATE_TABLE: Final[dict[str, dict[ProductToVideoStatus, TaskState]]] = {
    STAGE_IMAGE: _IMAGE_STATES,
    STAGE_VIDEO: _VIDEO_STATES,
}

_LIST_ADAPTER: Final = TypeAdapter(list[ProductToVideo])


class _CallbackId(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: UUID


def _bad_request(code: str, message: str) -> ProviderError:
    return provider_error(
        provider=PROVIDER, kind=ErrorKind.BAD_REQUEST, provider_code=code, provider_message=message
    )


def _invalid_response(message: str, status: int) -> ProviderError:
    return provider_error(
        provider=PROVIDER,
        kind=ErrorKind.INVALID_RESPONSE,
        provider_code="invalid_response",
        provider_message=message,
        http_status=status,
    )


def _canonical_id(task_id: str | UUID) -> str:
    # a UUID check keeps arbitrary text out of the request path
    try:
        return str(UUID(str(task_id)))
    except ValueError:
        raise _bad_request(
            "invalid_task_id", f"Creatify task ids are UUIDs, got {str(task_id)[:80]!r}"
        ) from None


def _task_path(task_id: str | UUID, action: str = "") -> str:
    suffix = f"{action}/" if action else ""
    return f"{_BASE_PATH}/{_canonical_id(task_id)}/{suffix}"


def _options(request: StartRequest) -> CreatifyOptions:
    if isinstance(request.options, CreatifyOptions):
        return request.options
    try:
        return CreatifyOptions.model_validate(request.options.model_dump())
    except ValidationError as exc:
        raise _bad_request("invalid_options", str(exc)) from None


def to_task(stage: str, record: ProductToVideo) -> ProviderTask:
    """The normalized view of ``record`` as the given stage of a job."""
    if stage not in STATE_TABLE:
        raise ValueError(f"unknown Creatify stage {stage!r}; expected one of {STAGES}")
    state = STATE_TABLE[stage][record.status]
    outputs: tuple[OutputRef, ...] = ()
    if state is TaskState.COMPLETED:
        preview = record.generated_photo_url
        video = record.generated_video_url
        if stage == STAGE_IMAGE and preview:
            outputs = (OutputRef(kind=OutputKind.PREVIEW, url=preview),)
        elif stage == STAGE_VIDEO and video:
            outputs = (
                *((OutputRef(kind=OutputKind.PREVIEW, url=preview),) if preview else ()),
                OutputRef(kind=OutputKind.VIDEO, url=video),
            )
        else:
            state = TaskState.RUNNING
    failed = state is TaskState.FAILED
    return ProviderTask(
        provider=ProviderName.CREATIFY,
        stage=stage,
        task_id=str(record.id),
        state=state,
        provider_status=record.status.value,
        outputs=outputs,
        error_code=record.status.value if failed else None,
        error_message=(record.failed_reason or "Creatify reported the task as failed") if failed else None,
    )


class CreatifyAdapter(ProviderAdapter):
    """Creatify's product-to-video API over one HTTP client, authenticated with X-API-ID / X-API-KEY."""

    name = ProviderName.CREATIFY

    def __init__(
        self,
        base_url: str,
        api_id: str,
        api_key: str,
        *,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        before_request: Callable[[str], None] | None = None,
    ) -> None:
        self._http = ProviderHttpClient(
            provider=PROVIDER,
            base_url=base_url,
            headers={"X-API-ID": api_id, "X-API-KEY": api_key, "Accept": "application/json"},
            error_mapper=map_error,
            timeout=timeout or default_timeout(),
            retry=retry or RetryPolicy(),
            transport=transport,
            before_request=before_request,
        )

    def close(self) -> None:
        self._http.close()

    # -- the documented endpoints ------------------------------------------------------------

    def gen_image(self, body: GenImageRequest) -> ProductToVideo:
        """``POST /api/product_to_videos/gen_image/``."""
        return self._post(f"{_BASE_PATH}/gen_image/", body)

    def get(self, task_id: str | UUID) -> ProductToVideo:
        """``GET /api/product_to_videos/{id}/``."""
        response = self._http.request("GET", _task_path(task_id))
        return self._record(response)

    def get_many(self, task_ids: Sequence[str | UUID]) -> list[ProductToVideo]:
        """``GET /api/product_to_videos/?ids=a,b,...`` (1 to 100 ids); unknown ids are simply absent.

        The answer is documented only as "the list"; a DRF paginated ``{"results": [...]}`` is read too.
        """
        if not 1 <= len(task_ids) <= MAX_IDS_PER_LIST:
            raise ValueError(f"get_many takes 1 to {MAX_IDS_PER_LIST} ids, got {len(task_ids)}")
        ids = ",".join(_canonical_id(task_id) for task_id in task_ids)
        response = self._http.request("GET", f"{_BASE_PATH}/", params={"ids": ids})
        payload = self._json(response)
        if isinstance(payload, dict) and "results" in payload:
            payload = payload["results"]
        try:
            return _LIST_ADAPTER.validate_python(payload)
        except ValidationError as exc:
            raise _invalid_response(f"unexpected list body: {exc}", response.status_code) from None

    def regen_image(self, task_id: str | UUID, body: RegenImageRequest) -> ProductToVideo:
        """``POST /api/product_to_videos/{id}/regen_image/``: returns the NEW task."""
        return self._post(_task_path(task_id, "regen_image"), body)

    def gen_video(self, task_id: str | UUID, body: GenVideoRequest) -> ProductToVideo:
        """``POST /api/product_to_videos/{id}/gen_video/``: the same task moves on to its video."""
        return self._post(_task_path(task_id, "gen_video"), body)

    def regen_video(self, task_id: str | UUID, body: RegenVideoRequest) -> ProductToVideo:
        """``POST /api/product_to_videos/{id}/regen_video/``: returns the NEW task."""
        return self._post(_task_path(task_id, "regen_video"), body)

    # -- the generic interface ---------------------------------------------------------------

    def start(self, request: StartRequest) -> ProviderTask:
        options = _options(request)
        if request.start_from is not None:
            return self._start_from(request.start_from, options, request.webhook_url)
        image_url = request.product.image_url
        if not image_url:
            raise _bad_request("product_image_required", "Creatify needs a product image URL (product_url)")
        try:
            body = GenImageRequest(
                product_url=image_url,
                webhook_url=request.webhook_url,
                type=options.type,
                aspect_ratio=options.aspect_ratio,
                override_avatar=options.override_avatar,
                motion_style=options.motion_style,
                product_showcase_url=options.product_showcase_url,
                image_prompt=options.image_prompt,
                video_prompt=options.video_prompt,
            )
        except ValidationError as exc:
            raise _bad_request("invalid_request", str(exc)) from None
        return to_task(STAGE_IMAGE, self.gen_image(body))

    def fetch(self, stage: str, task_id: str) -> ProviderTask:
        if stage not in STATE_TABLE:
            raise ValueError(f"unknown Creatify stage {stage!r}; expected one of {STAGES}")
        return to_task(stage, self.get(task_id))

    def advance(self, completed: ProviderTask, request: StartRequest) -> ProviderTask | None:
        if completed.state is not TaskState.COMPLETED:
            raise ValueError(f"cannot advance from a task in state {completed.state.value}")
        if completed.stage == STAGE_VIDEO:
            return None
        if completed.stage != STAGE_IMAGE:
            raise ValueError(f"unknown Creatify stage {completed.stage!r}")
        options = _options(request)
        if options.stop_after == "image":
            return None
        try:
            body = GenVideoRequest(video_prompt=options.video_prompt, webhook_url=request.webhook_url)
        except ValidationError as exc:
            raise _bad_request("invalid_request", str(exc)) from None
        return to_task(STAGE_VIDEO, self.gen_video(completed.task_id, body))

    def _start_from(
        self, origin: StartFrom, options: CreatifyOptions, webhook_url: str | None
    ) -> ProviderTask:
        """A job's first stage on an earlier task: regen_image and regen_video make a NEW task id,
        gen_video moves the source task itself on to its video (stage names stay image / video)."""
        source = origin.source_task_id
        try:
            if origin.kind is StartKind.REGEN_IMAGE:
                image = RegenImageRequest(image_prompt=options.image_prompt, webhook_url=webhook_url)
                return to_task(STAGE_IMAGE, self.regen_image(source, image))
            if origin.kind is StartKind.REGEN_VIDEO:
                regen = RegenVideoRequest(video_prompt=options.video_prompt, webhook_url=webhook_url)
                return to_task(STAGE_VIDEO, self.regen_video(source, regen))
            if origin.kind is StartKind.GEN_VIDEO:
                video = GenVideoRequest(video_prompt=options.video_prompt, webhook_url=webhook_url)
                return to_task(STAGE_VIDEO, self.gen_video(source, video))
        except ValidationError as exc:
            raise _bad_request("invalid_request", str(exc)) from None
        raise _bad_request("unsupported_start", f"Creatify jobs cannot start with {origin.kind.value}")

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookNotice:
        """Parse an (unsigned) callback: a hint to re-fetch the task, never trusted as its state.

        Only the ``id`` is validated: the rest of the body is not acted on, and a status value
        Creatify adds later must not make us drop the hint.
        """
        try:
            payload: Any = json.loads(body)
        except ValueError:
            raise WebhookVerificationError("Creatify callback body is not JSON") from None
        if not isinstance(payload, dict):
            raise WebhookVerificationError("Creatify callback body is not a JSON object")
        try:
            task_id = _CallbackId.model_validate(payload).id
        except ValidationError:
            raise WebhookVerificationError("Creatify callback has no valid task id") from None
        return WebhookNotice(
            provider=ProviderName.CREATIFY,
            task_id=str(task_id),
            event_id=hashlib.sha256(body).hexdigest(),
        )

    # -- plumbing ----------------------------------------------------------------------------

    def _post(self, path: str, body: BaseModel) -> ProductToVideo:
        response = self._http.request("POST", path, json=body.model_dump(mode="json", exclude_none=True))
        return self._record(response)

    def _json(self, response: httpx.Response) -> Any:
        try:
            return json.loads(response.content)
        except ValueError:
            raise _invalid_response("the answer is not JSON", response.status_code) from None

    def _record(self, response: httpx.Response) -> ProductToVideo:
        try:
            return ProductToVideo.model_validate(self._json(response))
        except ValidationError as exc:
            raise _invalid_response(f"unexpected task body: {exc}", response.status_code) from None
