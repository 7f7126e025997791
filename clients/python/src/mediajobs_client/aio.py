"""The asynchronous client: ``AsyncClient`` has the sync client's resources with ``async`` methods."""

from __future__ import annotations

import asyncio
import builtins
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from mediajobs_client import _core, _waiting, errors
from mediajobs_client.client import RunResult
from mediajobs_client.models import (
    Batch,
    BatchAccepted,
    BatchManifest,
    BatchRetried,
    Budget,
    Credits,
    Estimate,
    Job,
    JobAccepted,
    JobEvent,
    JobPage,
    JobSummary,
    ManifestCreated,
    Output,
    Provider,
    Styles,
    Upload,
    UploadCreated,
    Usage,
    WebhookDelivery,
    WebhookDeliveryPage,
)
from mediajobs_client.webhooks import Webhooks

#: ``on_update`` may be a plain function or a coroutine function
JobCallback = Callable[[Job], Awaitable[None] | None]
BatchCallback = Callable[[Batch], Awaitable[None] | None]


async def _notify[T](callback: Callable[[T], Awaitable[None] | None] | None, value: T) -> None:
    if callback is None:
        return
    result = callback(value)
    if result is not None:
        await result


class AsyncClient:
    """The mediajobs API over HTTPS for asyncio code; the same retries and checks as ``Client``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout = _core.DEFAULT_TIMEOUT,
        download_timeout: httpx.Timeout = _core.DOWNLOAD_TIMEOUT,
        retry: _core.RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        webhook_secret: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or _core.RetryPolicy()
        self._sleep = sleep
        self._api = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": _core.USER_AGENT},
            timeout=timeout,
            transport=transport,
        )
        self._files = httpx.AsyncClient(
            headers={"User-Agent": _core.USER_AGENT}, timeout=download_timeout, transport=transport
        )
        self.jobs = AsyncJobs(self)
        self.uploads = AsyncUploads(self)
        self.batches = AsyncBatches(self)
        self.batch_manifests = AsyncBatchManifests(self)
        self.providers = AsyncProviders(self)
        self.deliveries = AsyncWebhookDeliveries(self)
        self.billing = AsyncBilling(self)
        self.webhooks = Webhooks(webhook_secret)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._api.aclose()
        await self._files.aclose()

    async def request(self, call: _core.Call) -> httpx.Response:
        attempt = 0
        while True:
            try:
                answer = await self._api.request(
                    call.method, call.path, params=call.params, json=call.json, headers=call.headers()
                )
            except httpx.TransportError as exc:
                if attempt >= self.retry.max_retries or not call.retry_exception(exc):
                    raise _core.connection_error(exc, call) from exc
                await self._sleep(self.retry.delay(attempt, None))
                attempt += 1
                continue
            if answer.is_success:
                return answer
            if attempt >= self.retry.max_retries or not call.retry_answer(answer):
                raise _core.api_error(answer)
            await self._sleep(self.retry.delay(attempt, _core.retry_after_seconds(answer.headers)))
            attempt += 1

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self.request(_core.Call(method, path, **kwargs))).json()

    async def download(
        self, output: Output, directory: str | os.PathLike[str], filename: str | None = None
    ) -> Path:
        """Save one output, verified against the size and SHA-256 the API reported."""
        target_dir = Path(directory)
        target_dir.mkdir(parents=True, exist_ok=True)
        name = filename or _core.output_filename(output, f"{output.stage}-{output.kind}")
        target = target_dir / name
        partial = target_dir / f".{name}.part"
        attempt = 0
        while True:
            try:
                await self._stream_to(output, partial, name)
            except (httpx.TransportError, errors.ServerError) as exc:
                partial.unlink(missing_ok=True)
                if attempt >= self.retry.max_retries:
                    if isinstance(exc, errors.MediajobsError):
                        raise
                    raise errors.APIConnectionError(f"download of {name}: {exc}") from exc
                await self._sleep(self.retry.delay(attempt, None))
                attempt += 1
                continue
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            partial.replace(target)
            return target

    async def _stream_to(self, output: Output, partial: Path, name: str) -> None:
        check = _core.IntegrityCheck(output)
        async with self._files.stream("GET", output.download_url) as answer:
            if not answer.is_success:
                await answer.aread()
                raise _core.api_error(answer)
            with partial.open("wb") as sink:  # local disk writes are short; no thread needed
                async for chunk in answer.aiter_bytes(1 << 16):
                    check.update(chunk)
                    sink.write(chunk)
        check.check(name)

    async def post_form(
        self, created: UploadCreated | ManifestCreated, path: Path, content_type: str
    ) -> None:
        form = _core.upload_form(created.fields, content_type)
        data = path.read_bytes()
        attempt = 0
        while True:
            try:
                answer = await self._files.post(
                    created.url, data=form, files={"file": (path.name, data, content_type)}
                )
            except httpx.TransportError as exc:
                if attempt >= self.retry.max_retries:
                    raise errors.APIConnectionError(f"upload of {path.name}: {exc}") from exc
            else:
                if answer.is_success:
                    return
                if attempt >= self.retry.max_retries or answer.status_code not in _core.RETRY_STATUSES:
                    raise errors.error_for_status(answer.status_code)(
                        f"the upload form refused {path.name}: {answer.text[:500]}",
                        status=answer.status_code,
                        code="upload_refused",
                    )
            await self._sleep(self.retry.delay(attempt, None))
            attempt += 1


class AsyncJobs:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self,
        *,
        provider: str,
        product: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        webhook_url: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        fallback: Sequence[Mapping[str, Any]] | None = None,
        webhook_events_filter: Sequence[str] | None = None,
        deadline_seconds: int | None = None,
    ) -> JobAccepted:
        body = _core.job_body(
            provider,
            product,
            options,
            webhook_url,
            metadata,
            fallback=fallback,
            webhook_events_filter=webhook_events_filter,
        )
        if deadline_seconds is not None:
            body["deadline_seconds"] = deadline_seconds
        key = idempotency_key or _core.new_idempotency_key()
        return JobAccepted.model_validate(
            await self._client._json("POST", "/v1/jobs", json=body, idempotency_key=key)
        )

    async def estimate(
        self,
        *,
        provider: str,
        product: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Estimate:
        """``POST /v1/jobs`` with ``dry_run: true``: what the job would cost; nothing is created."""
        body = _core.job_body(provider, product, options, None, None) | {"dry_run": True}
        return Estimate.model_validate(await self._client._json("POST", "/v1/jobs", json=body))

    async def get(self, job_id: str) -> Job:
        return Job.model_validate(await self._client._json("GET", f"/v1/jobs/{job_id}"))

    async def list_page(
        self,
        *,
        status: str | None = None,
        provider: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> JobPage:
        params = {"status": status, "provider": provider, "limit": limit, "cursor": cursor}
        query = {name: value for name, value in params.items() if value is not None}
        return JobPage.model_validate(await self._client._json("GET", "/v1/jobs", params=query))

    async def list(
        self, *, status: str | None = None, provider: str | None = None, page_size: int = 100
    ) -> AsyncIterator[JobSummary]:
        cursor: str | None = None
        while True:
            page = await self.list_page(status=status, provider=provider, limit=page_size, cursor=cursor)
            for job in page.jobs:
                yield job
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def wait(
        self,
        job_id: str,
        *,
        on_update: JobCallback | None = None,
        timeout: float = 900.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 5.0,
    ) -> Job:
        """Like ``Client.jobs.wait``: follows the event feed, polls the job if the feed fails."""
        wait = _waiting.JobWait(
            job_id, timeout=timeout, poll_interval=poll_interval, max_poll_interval=max_poll_interval
        )

        async def read() -> Job:
            job = await self.get(job_id)
            if on_update is not None and wait.changed(job):
                await _notify(on_update, job)
            return job

        if on_update is not None and (job := await read()).final:
            return job
        while (call := wait.events_call()) is not None:
            try:
                news = wait.take_events(await self._client.request(call))
            except _waiting.STREAM_ERRORS:
                wait.stream_broke()
                break
            if news and on_update is not None and not wait.final_seen and (job := await read()).final:
                return job
            if pause := wait.pause_after_events(news):
                await self._client._sleep(pause)
        while not (job := await read()).final:
            await self._client._sleep(wait.poll_delay(job))
        return job

    async def run(
        self,
        *,
        provider: str,
        product: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        webhook_url: str | None = None,
        metadata: Mapping[str, str] | None = None,
        download_to: str | os.PathLike[str] | None = None,
        on_update: JobCallback | None = None,
        timeout: float = 900.0,
        raise_on_failure: bool = True,
        fallback: Sequence[Mapping[str, Any]] | None = None,
        webhook_events_filter: Sequence[str] | None = None,
    ) -> RunResult:
        accepted = await self.create(
            provider=provider,
            product=product,
            options=options,
            webhook_url=webhook_url,
            metadata=metadata,
            fallback=fallback,
            webhook_events_filter=webhook_events_filter,
        )
        job = await self.wait(accepted.job_id, on_update=on_update, timeout=timeout)
        if job.status != "succeeded":
            if raise_on_failure:
                raise errors.JobFailedError(job)
            return RunResult(job)
        files = await self.download(job, download_to) if download_to is not None else []
        return RunResult(job, files)

    async def download(self, job: Job, directory: str | os.PathLike[str]) -> builtins.list[Path]:
        if any(_core.expires_soon(output) for output in job.outputs):
            job = await self.get(job.job_id)  # fresh presigned URLs
        names = _core.job_output_names(job)
        return [
            await self._client.download(output, directory, name)
            for output, name in zip(job.outputs, names, strict=True)
        ]

    async def cancel(self, job_id: str) -> Job:
        return Job.model_validate(await self._client._json("POST", f"/v1/jobs/{job_id}/cancel"))

    async def events(
        self, job_id: str, *, last_event_id: int = 0, wait: int = 20, timeout: float = 900.0
    ) -> AsyncIterator[JobEvent]:
        """Like ``Client.jobs.events``: reconnects with ``Last-Event-ID`` until the final event."""
        deadline = time.monotonic() + timeout
        last = last_event_id
        while True:
            answer = await self._client.request(_core.events_call(job_id, last, wait))
            events, ended = _core.event_stream_events(answer.text)
            for event in events:
                if event.sequence > last:
                    last = event.sequence
                    yield event
            if ended:
                return
            if time.monotonic() >= deadline:
                raise errors.WaitTimeoutError(
                    f"job {job_id} had no final event after {timeout:g} s", code="wait_timeout"
                )

    async def regenerate(self, job_id: str, **changes: Any) -> JobAccepted:
        body = {name: value for name, value in changes.items() if value is not None}
        return JobAccepted.model_validate(
            await self._client._json("POST", f"/v1/jobs/{job_id}/regenerate", json=body)
        )

    async def video(self, job_id: str, *, video_prompt: str | None = None) -> JobAccepted:
        body = {"video_prompt": video_prompt} if video_prompt is not None else {}
        return JobAccepted.model_validate(
            await self._client._json("POST", f"/v1/jobs/{job_id}/video", json=body)
        )


class AsyncUploads:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self,
        *,
        provider: str,
        options: Mapping[str, Any] | None = None,
        product: Mapping[str, Any] | None = None,
        webhook_url: str | None = None,
        metadata: Mapping[str, str] | None = None,
        filename: str | None = None,
        idempotency_key: str | None = None,
    ) -> UploadCreated:
        body = _core.job_body(provider, product, options, webhook_url, metadata)
        params = {"filename": filename} if filename else None
        key = idempotency_key or _core.new_idempotency_key()
        return UploadCreated.model_validate(
            await self._client._json("POST", "/v1/uploads", json=body, params=params, idempotency_key=key)
        )

    async def get(self, upload_id: str) -> Upload:
        return Upload.model_validate(await self._client._json("GET", f"/v1/uploads/{upload_id}"))

    async def wait(self, upload_id: str, *, timeout: float = 60.0, poll_interval: float = 0.2) -> Upload:
        deadline = time.monotonic() + timeout
        backoff = _core.Backoff(poll_interval, 2.0)
        while True:
            upload = await self.get(upload_id)
            if upload.status != "awaiting_upload":
                return upload
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise errors.WaitTimeoutError(
                    f"upload {upload_id} still awaits its file after {timeout:g} s", code="wait_timeout"
                )
            await self._client._sleep(backoff.next(remaining))

    async def create_from_file(
        self,
        path: str | os.PathLike[str],
        *,
        provider: str,
        options: Mapping[str, Any] | None = None,
        product: Mapping[str, Any] | None = None,
        webhook_url: str | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        timeout: float = 60.0,
    ) -> Upload:
        source = Path(path)
        kind = _core.content_type_of(source, content_type)
        created = await self.create(
            provider=provider,
            options=options,
            product=product,
            webhook_url=webhook_url,
            metadata=metadata,
            filename=source.name,
        )
        _core.check_size(source, created)
        await self._client.post_form(created, source, kind)
        upload = await self.wait(created.upload_id, timeout=timeout)
        if upload.status == "failed":
            raise errors.UploadFailedError(upload)
        return upload


class AsyncBatches:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        webhook_url: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> BatchAccepted:
        body: dict[str, Any] = {"items": [dict(item) for item in items]}
        if webhook_url is not None:
            body["webhook_url"] = webhook_url
        if metadata:
            body["metadata"] = dict(metadata)
        key = idempotency_key or _core.new_idempotency_key()
        return BatchAccepted.model_validate(
            await self._client._json("POST", "/v1/batches", json=body, idempotency_key=key)
        )

    async def estimate(self, items: Sequence[Mapping[str, Any]]) -> Estimate:
        """``POST /v1/batches`` with ``dry_run: true``: what the batch would cost; nothing is created."""
        body = {"items": [dict(item) for item in items], "dry_run": True}
        return Estimate.model_validate(await self._client._json("POST", "/v1/batches", json=body))

    async def get(self, batch_id: str) -> Batch:
        return Batch.model_validate(await self._client._json("GET", f"/v1/batches/{batch_id}"))

    async def retry(self, batch_id: str) -> BatchRetried:
        """``POST /v1/batches/{id}/retry``: rerun the completed batch's failed items, once each."""
        return BatchRetried.model_validate(await self._client._json("POST", f"/v1/batches/{batch_id}/retry"))

    async def wait(
        self,
        batch_id: str,
        *,
        on_update: BatchCallback | None = None,
        timeout: float = 3600.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 5.0,
    ) -> Batch:
        deadline = time.monotonic() + timeout
        backoff = _core.Backoff(poll_interval, max_poll_interval)
        seen: tuple[str, dict[str, int]] | None = None
        while True:
            batch = await self.get(batch_id)
            if (batch.status, batch.counts) != seen:
                seen = (batch.status, dict(batch.counts))
                await _notify(on_update, batch)
            if batch.completed:
                return batch
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise errors.WaitTimeoutError(
                    f"batch {batch_id} is not completed after {timeout:g} s: {batch.counts}",
                    code="wait_timeout",
                )
            await self._client._sleep(backoff.next(remaining))


class AsyncBatchManifests:
    """``client.batch_manifests``: a batch from a CSV or JSON manifest file (an S3 presigned POST)."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self,
        *,
        manifest_format: str,
        webhook_url: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ManifestCreated:
        """``POST /v1/batch-manifests``: the upload form of a ``csv`` or ``json`` manifest."""
        body = _core.manifest_body(manifest_format, webhook_url, metadata)
        return ManifestCreated.model_validate(
            await self._client._json("POST", "/v1/batch-manifests", json=body)
        )

    async def get(self, manifest_id: str) -> BatchManifest:
        return BatchManifest.model_validate(
            await self._client._json("GET", f"/v1/batch-manifests/{manifest_id}")
        )

    async def wait(
        self, manifest_id: str, *, timeout: float = 60.0, poll_interval: float = 0.2
    ) -> BatchManifest:
        """Poll until the file was handled: ``started`` (its ``batch_id``) or ``refused``."""
        deadline = time.monotonic() + timeout
        backoff = _core.Backoff(poll_interval, 2.0)
        while True:
            manifest = await self.get(manifest_id)
            if manifest.status != "awaiting_file":
                return manifest
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise errors.WaitTimeoutError(
                    f"manifest {manifest_id} still awaits its file after {timeout:g} s", code="wait_timeout"
                )
            await self._client._sleep(backoff.next(remaining))

    async def create_from_file(
        self,
        path: str | os.PathLike[str],
        *,
        webhook_url: str | None = None,
        metadata: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> BatchManifest:
        """Send a ``.csv`` or ``.json`` manifest and wait for its batch; a refused file raises
        ``ValidationError`` with the manifest's problems as ``details``."""
        source = Path(path)
        fmt = _core.manifest_format(source)
        created = await self.create(manifest_format=fmt, webhook_url=webhook_url, metadata=metadata)
        _core.check_size(source, created, code="manifest_too_large")
        await self._client.post_form(created, source, _core.MANIFEST_TYPES[fmt])
        return _core.started_or_raise(await self.wait(created.manifest_id, timeout=timeout))


class AsyncProviders:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self) -> list[Provider]:
        data = await self._client._json("GET", "/v1/providers")
        return [Provider.model_validate(item) for item in data["providers"]]

    async def styles(self) -> Styles:
        return Styles.model_validate(await self._client._json("GET", "/v1/providers/prodvisual/styles"))

    async def credits(self, provider: str) -> Credits:
        return Credits.model_validate(await self._client._json("GET", f"/v1/providers/{provider}/credits"))


class AsyncWebhookDeliveries:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list_page(
        self, *, status: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> WebhookDeliveryPage:
        params = {"status": status, "limit": limit, "cursor": cursor}
        query = {name: value for name, value in params.items() if value is not None}
        return WebhookDeliveryPage.model_validate(
            await self._client._json("GET", "/v1/webhook-deliveries", params=query)
        )

    async def list(
        self, *, status: str | None = None, page_size: int = 100
    ) -> AsyncIterator[WebhookDelivery]:
        cursor: str | None = None
        while True:
            page = await self.list_page(status=status, limit=page_size, cursor=cursor)
            for delivery in page.deliveries:
                yield delivery
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def replay(self, delivery_id: str) -> WebhookDelivery:
        return WebhookDelivery.model_validate(
            await self._client._json("POST", f"/v1/webhook-deliveries/{delivery_id}/replay")
        )


class AsyncBilling:
    """``client.billing``: estimates, the tenant's credit budget, usage per provider."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def estimate(self, items: Sequence[Mapping[str, Any]]) -> Estimate:
        body = {"items": [dict(item) for item in items]}
        return Estimate.model_validate(await self._client._json("POST", "/v1/estimates", json=body))

    async def budget(self) -> Budget:
        return Budget.model_validate(await self._client._json("GET", "/v1/budget"))

    async def usage(self, from_day: date | str | None = None, to_day: date | str | None = None) -> Usage:
        params = _core.usage_params(from_day, to_day)
        return Usage.model_validate(await self._client._json("GET", "/v1/usage", params=params))
