"""The ProdVisual adapter: one stage, ``generate``, and a signed webhook.

Decisions where the document is silent, vague or self-contradictory:

- **Base URL.** The document's base URL is ``https://api.prodvisual.com/v1`` yet writes every path
  as ``/v1/...``. ``base_url`` is the host root (``https://api.prodvisual.com``, or a sandbox's
  ``http://127.0.0.1:8703``) and the paths carry ``/v1``; a base URL that already ends in ``/v1``
  is accepted and the suffix dropped, so either reading of the document works.
- **Sync or async.** Without ``webhook_url`` ``POST /v1/generate`` answers the finished
  generation (the document's example, ``status: completed``); with one it may answer ``pending``
  or ``processing`` and call back later. ``start`` returns whichever it got; the caller polls
  ``fetch`` or waits for the webhook when the task is not final.
- **Failures.** The document shows no failed generation. We read ``status: failed`` with an
  optional ``error: {code, message}`` (the sandbox fails an async generation whose image cannot be
  fetched with ``invalid_image`` / ``file_too_large``); a failed task without one gets the code
  ``generation_failed``.
- **Batches.** ``GET /v1/generations/{id}`` takes a batch id too (the batch answer's
  ``results_url`` points there). A batch reads as ``{id, status, total_items, credits_used,
  created_at, items: [<generation>...]}``; its status is ``completed`` once every item is final
  (``failed`` only when every item failed) and per-item failures stay in ``items``. Its single
  webhook is ``batch.completed`` / ``batch.failed`` with ``data: {id: <batch id>, status,
  credits_used, items: [...]}``. Batches are a low-level call here (``generate_batch``); a
  mediajobs job is one generation.
- **Batch size.** 1..50 items is checked before sending: a batch the model would refuse (built
  with ``model_construct`` or changed after validation) raises ``BAD_REQUEST`` with the provider's
  code ``invalid_request`` and no request is made.
- **Webhooks.** ``X-ProdVisual-Signature`` is the hex HMAC-SHA256 of the raw body keyed with the
  API key, checked in constant time. The signature covers no timestamp and the payload has no
  event id, so ``event_id`` is the SHA-256 of the raw body: an identical redelivery (or a replay)
  de-duplicates to the same id; state only moving forward does the rest. A signed delivery is
  trusted (``WebhookNotice.task`` is set). The payload has no ``expires_at``; outputs from a
  webhook carry ``expires_at=None`` (the provider keeps files 7 days) and ``fetch`` gives the
  exact time.
- **Rate limits.** ``last_rate_limit`` holds the ``X-RateLimit-*`` headers of the latest answer,
  success or error, so callers can pace themselves across the 60/min, 10K/day limits. A 429's
  delay is ``Retry-After``, else ``X-RateLimit-Reset`` minus now.
- ``styles()`` needs no key by the document; sending the key anyway is harmless.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from mediajobs.errors import ErrorKind, ProviderError, provider_error
from mediajobs.providers.base import (
    OutputKind,
    OutputRef,
    ProviderAdapter,
    ProviderName,
    ProviderTask,
    StartRequest,
    TaskState,
    WebhookNotice,
)
from mediajobs.providers.http import ProviderHttpClient, RetryPolicy, default_timeout
from mediajobs.providers.prodvisual.errors import PROVIDER, map_error
from mediajobs.providers.prodvisual.models import (
    BatchRequest,
    BatchResponse,
    CreditsResponse,
    ErrorCode,
    GenerateRequest,
    GenerateResponse,
    GenerationError,
    GenerationState,
    GenerationStatus,
    ProdVisualOptions,
    RateLimitStatus,
    StylesResponse,
    WebhookPayload,
)
from mediajobs.signing import verify_hex

STAGE_GENERATE = "generate"
SIGNATURE_HEADER = "X-ProdVisual-Signature"

_STATES: Mapping[GenerationState, TaskState] = {
    GenerationState.PENDING: TaskState.PENDING,
    GenerationState.PROCESSING: TaskState.RUNNING,
    GenerationState.COMPLETED: TaskState.COMPLETED,
    GenerationState.FAILED: TaskState.FAILED,
}


class ProdVisualAdapter(ProviderAdapter):
    """ProdVisual API v1 over one HTTP client; see the module docstring for the decisions."""

    name = ProviderName.PRODVISUAL
    stages = (STAGE_GENERATE,)

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        before_request: Callable[[str], None] | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("a ProdVisual API key is required")
        self._api_key = api_key
        self.last_rate_limit: RateLimitStatus | None = None
        self._http = ProviderHttpClient(
            provider=PROVIDER,
            base_url=base_url.rstrip("/").removesuffix("/v1"),
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            error_mapper=self._map_error,
            timeout=timeout or default_timeout(),
            retry=retry or RetryPolicy(),
            transport=transport,
            before_request=before_request,
        )

    def close(self) -> None:
        self._http.close()

    # -- the documented endpoints --------------------------------------------------------------

    def generate(self, request: GenerateRequest) -> GenerateResponse:
        """``POST /v1/generate``."""
        body = _revalidated(GenerateRequest, request)
        return self._call("POST", "/v1/generate", GenerateResponse, json=body)

    def generate_batch(self, request: BatchRequest) -> BatchResponse:
        """``POST /v1/generate/batch`` (1..50 items, checked before sending)."""
        body = _revalidated(BatchRequest, request)
        return self._call("POST", "/v1/generate/batch", BatchResponse, json=body)

    def styles(self) -> StylesResponse:
        """``GET /v1/styles``."""
        return self._call("GET", "/v1/styles", StylesResponse)

    def credits(self) -> CreditsResponse:
        """``GET /v1/account/credits``."""
        return self._call("GET", "/v1/account/credits", CreditsResponse)

    def generation(self, generation_id: str) -> GenerationStatus:
        """``GET /v1/generations/{id}`` for a generation or a batch id."""
        if not generation_id:
            raise ValueError("a generation id is required")
        return self._call("GET", f"/v1/generations/{quote(generation_id, safe='')}", GenerationStatus)

    # -- ProviderAdapter -----------------------------------------------------------------------

    def start(self, request: StartRequest) -> ProviderTask:
        options = request.options
        if not isinstance(options, ProdVisualOptions):
            raise TypeError(f"ProdVisual needs ProdVisualOptions, got {type(options).__name__}")
        if request.start_from is not None:
            # every generation starts from the product image; another style is a new generate
            raise provider_error(
                provider=PROVIDER,
                kind=ErrorKind.BAD_REQUEST,
                provider_code=ErrorCode.INVALID_REQUEST.value,
                provider_message=f"ProdVisual jobs cannot start with {request.start_from.kind.value}",
            )
        image_url = request.product.image_url
        if not image_url:
            raise provider_error(
                provider=PROVIDER,
                kind=ErrorKind.BAD_REQUEST,
                provider_code=ErrorCode.INVALID_REQUEST.value,
                provider_message="ProdVisual needs a product image URL (image_url)",
            )
        try:
            generate_request = options.to_request(image_url, request.webhook_url)
        except ValidationError as exc:
            raise _invalid_request(exc) from exc
        answer = self.generate(generate_request)
        return _task(
            task_id=answer.id,
            status=answer.status,
            output_url=answer.output_url,
            expires_at=answer.expires_at,
            credits_used=answer.credits_used,
            error=answer.error,
        )

    def fetch(self, stage: str, task_id: str) -> ProviderTask:
        _check_stage(stage)
        status = self.generation(task_id)
        return _task(
            task_id=status.id,
            status=status.status,
            output_url=status.output_url,
            expires_at=status.expires_at,
            credits_used=status.credits_used,
            error=status.error,
            items=status.items,
        )

    def advance(self, completed: ProviderTask, request: StartRequest) -> ProviderTask | None:
        _check_stage(completed.stage)
        return None

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookNotice:
        lowered = {key.lower(): value for key, value in headers.items()}
        verify_hex(self._api_key, body, lowered.get(SIGNATURE_HEADER.lower()))
        try:
            payload = WebhookPayload.model_validate_json(body)
        except ValidationError as exc:
            raise _invalid_response("the webhook body", exc) from exc
        data = payload.data
        task = _task(
            task_id=data.id,
            status=data.status,
            output_url=data.output_url,
            expires_at=None,
            credits_used=data.credits_used,
            error=data.error,
            items=data.items,
        )
        return WebhookNotice(
            provider=self.name,
            task_id=data.id,
            event_id=hashlib.sha256(body).hexdigest(),
            task=task,
        )

    # -- plumbing ------------------------------------------------------------------------------

    def _call[M: BaseModel](self, method: str, path: str, model: type[M], *, json: object | None = None) -> M:
        response = self._http.request(method, path, json=json)
        self._note_rate_limit(response)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise _invalid_response(f"the answer to {method} {path}", exc) from exc

    def _map_error(self, response: httpx.Response) -> ProviderError:
        self._note_rate_limit(response)
        return map_error(response)

    def _note_rate_limit(self, response: httpx.Response) -> None:
        self.last_rate_limit = parse_rate_limit(response.headers)


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimitStatus | None:
    """The ``X-RateLimit-*`` headers, or ``None`` when the answer carries none of them."""
    limit = _int_header(headers, "x-ratelimit-limit")
    remaining = _int_header(headers, "x-ratelimit-remaining")
    reset = _int_header(headers, "x-ratelimit-reset")
    if limit is None and remaining is None and reset is None:
        return None
    reset_at = datetime.fromtimestamp(reset, UTC) if reset is not None else None
    return RateLimitStatus(limit=limit, remaining=remaining, reset_at=reset_at)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def _check_stage(stage: str) -> None:
    if stage != STAGE_GENERATE:
        raise ValueError(f"ProdVisual has one stage, {STAGE_GENERATE!r}; got {stage!r}")


def _revalidated[M: BaseModel](model: type[M], request: M) -> object:
    """The JSON body of ``request`` after checking it again against ``model``'s limits."""
    try:
        checked = model.model_validate(request.model_dump())
    except ValidationError as exc:
        raise _invalid_request(exc) from exc
    return checked.model_dump(mode="json", exclude_none=True)


def task_from_generation(generation: GenerationStatus) -> ProviderTask:
    """One generation (e.g. an item of a batch answer or batch webhook) as a task."""
    return _task(
        task_id=generation.id,
        status=generation.status,
        output_url=generation.output_url,
        expires_at=generation.expires_at,
        credits_used=generation.credits_used,
        error=generation.error,
    )


def _task(
    *,
    task_id: str,
    status: GenerationState,
    output_url: str | None,
    expires_at: datetime | None,
    credits_used: int | None,
    error: GenerationError | None,
    items: list[GenerationStatus] | None = None,
) -> ProviderTask:
    outputs = [OutputRef(kind=OutputKind.IMAGE, url=output_url, expires_at=expires_at)] if output_url else []
    outputs += [
        OutputRef(kind=OutputKind.IMAGE, url=item.output_url, expires_at=item.expires_at)
        for item in items or ()
        if item.output_url
    ]
    state = _STATES[status]
    error_code = error_message = None
    if state is TaskState.FAILED:
        error_code = error.code if error else "generation_failed"
        error_message = error.message if error else "ProdVisual reported the generation as failed"
    return ProviderTask(
        provider=ProviderName.PRODVISUAL,
        stage=STAGE_GENERATE,
        task_id=task_id,
        state=state,
        provider_status=status.value,
        outputs=tuple(outputs),
        credits_used=credits_used,
        error_code=error_code,
        error_message=error_message,
    )


def _invalid_request(exc: ValidationError) -> ProviderError:
    return provider_error(
        provider=PROVIDER,
        kind=ErrorKind.BAD_REQUEST,
        provider_code=ErrorCode.INVALID_REQUEST.value,
        provider_message=f"refused before sending: {_summary(exc)}",
    )


def _invalid_response(what: str, exc: ValidationError) -> ProviderError:
    return provider_error(
        provider=PROVIDER,
        kind=ErrorKind.INVALID_RESPONSE,
        provider_code="invalid_response",
        provider_message=f"{what} is not the documented shape: {_summary(exc)}",
    )


def _summary(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
