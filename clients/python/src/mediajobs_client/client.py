"""The synchronous client: ``Client(base_url, api_key)`` with ``jobs``, ``uploads``, ``batches``,
``providers`` and ``webhooks``."""

from __future__ import annotations

import builtins
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from mediajobs_client import _core, _waiting, errors
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

JobCallback = Callable[[Job], None]
BatchCallback = Callable[[Batch], None]


@dataclass
class RunResult:
    """What ``jobs.run`` did: the final job, and the files it saved (when asked to)."""

    job: Job
    files: list[Path] = field(default_factory=list)


class Client:
    """The mediajobs API over HTTPS, with retries, idempotent creates and verified downloads."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout = _core.DEFAULT_TIMEOUT,
        download_timeout: httpx.Timeout = _core.DOWNLOAD_TIMEOUT,
        retry: _core.RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        webhook_secret: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or _core.RetryPolicy()
        self._sleep = sleep
        self._api = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": _core.USER_AGENT},
            timeout=timeout,
            transport=transport,
        )
        # presigned S3 URLs carry their own authorization: never send the API key there
        self._files = httpx.Client(
            headers={"User-Agent": _core.USER_AGENT}, timeout=download_timeout, transport=transport
        )
        self.jobs = Jobs(self)
        self.uploads = Uploads(self)
        self.batches = Batches(self)
        self.batch_manifests = BatchManifests(self)
        self.providers = Providers(self)
        self.deliveries = WebhookDeliveries(self)
        self.billing = Billing(self)
        self.webhooks = Webhooks(webhook_secret)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._api.close()
        self._files.close()

    def request(self, call: _core.Call) -> httpx.Response:
        """Send ``call``, retrying as its policy allows; the 2xx answer, else the mapped error."""
        attempt = 0
        while True:
            try:
                answer = self._api.request(
                    call.method, call.path, params=call.params, json=call.json, headers=call.headers()
                )
            except httpx.TransportError as exc:
                if attempt >= self.retry.max_retries or not call.retry_exception(exc):
                    raise _core.connection_error(exc, call) from exc
                self._sleep(self.retry.delay(attempt, None))
                attempt += 1
                continue
            if answer.is_success:
                return answer
            if attempt >= self.retry.max_retries or not call.retry_answer(answer):
                raise _core.api_error(answer)
            self._sleep(self.retry.delay(attempt, _core.retry_after_seconds(answer.headers)))
            attempt += 1

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(_core.Call(method, path, **kwargs)).json()

    def download(
        self, output: Output, directory: str | os.PathLike[str], filename: str | None = None
    ) -> Path:
        """Save one output under ``directory``; its size and SHA-256 must be what the API reported.

        A mismatch raises ``DownloadIntegrityError`` and leaves no file. Transport errors and 5xx
        answers are retried.
        """
        target_dir = Path(directory)
        target_dir.mkdir(parents=True, exist_ok=True)
        name = filename or _core.output_filename(output, f"{output.stage}-{output.kind}")
        target = target_dir / name
        partial = target_dir / f".{name}.part"
        attempt = 0
        while True:
            try:
                self._stream_to(output, partial, name)
            except (httpx.TransportError, errors.ServerError) as exc:
                partial.unlink(missing_ok=True)
                if attempt >= self.retry.max_retries:
                    if isinstance(exc, errors.MediajobsError):
                        raise
                    raise errors.APIConnectionError(f"download of {name}: {exc}") from exc
                self._sleep(self.retry.delay(attempt, None))
                attempt += 1
                continue
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            partial.replace(target)
            return target

    def _stream_to(self, output: Output, partial: Path, name: str) -> None:
        check = _core.IntegrityCheck(output)
        with self._files.stream("GET", output.download_url) as answer:
            if not answer.is_success:
                answer.read()
                raise _core.api_error(answer)
            with partial.open("wb") as sink:
                for chunk in answer.iter_bytes(1 << 16):
                    check.update(chunk)
                    sink.write(chunk)
        check.check(name)

    def post_form(self, created: UploadCreated | ManifestCreated, path: Path, content_type: str) -> None:
        """Send a file to an upload's presigned S3 POST form (the fields first, the file last)."""
        form = _core.upload_form(created.fields, content_type)
        attempt = 0
        while True:
            try:
                with path.open("rb") as source:
                    answer = self._files.post(
                        created.url, data=form, files={"file": (path.name, source, content_type)}
                    )
            except httpx.TransportError as exc:
                if attempt >= self.retry.max_retries:
                    raise errors.APIConnectionError(f"upload of {path.name}: {exc}") from exc
            else:
                if answer.is_success:
                    return
                if attempt >= self.retry.max_retries or answer.status_code not in _core.RETRY_STATUSES:
                    # S3 answers XML: keep its text as the message
                    raise errors.error_for_status(answer.status_code)(
                        f"the upload form refused {path.name}: {answer.text[:500]}",
                        status=answer.status_code,
                        code="upload_refused",
                    )
            self._sleep(self.retry.delay(attempt, None))
            attempt += 1


class Jobs:
    """``client.jobs``: create, read, list, wait for, run, cancel, regenerate and continue jobs."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
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
        """``POST /v1/jobs``. Every retry of this call sends the same ``Idempotency-Key``."""
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
        data = self._client._json("POST", "/v1/jobs", json=body, idempotency_key=key)
        return JobAccepted.model_validate(data)

    def estimate(
        self,
        *,
        provider: str,
        product: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Estimate:
        """``POST /v1/jobs`` with ``dry_run: true``: what the job would cost; nothing is created."""
        body = _core.job_body(provider, product, options, None, None) | {"dry_run": True}
        return Estimate.model_validate(self._client._json("POST", "/v1/jobs", json=body))

    def get(self, job_id: str) -> Job:
        return Job.model_validate(self._client._json("GET", f"/v1/jobs/{job_id}"))

    def list_page(
        self,
        *,
        status: str | None = None,
        provider: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> JobPage:
        """One page of ``GET /v1/jobs`` (newest first)."""
        params = {"status": status, "provider": provider, "limit": limit, "cursor": cursor}
        query = {name: value for name, value in params.items() if value is not None}
        return JobPage.model_validate(self._client._json("GET", "/v1/jobs", params=query))

    def list(
        self, *, status: str | None = None, provider: str | None = None, page_size: int = 100
    ) -> Iterator[JobSummary]:
        """Every job (optionally of one status and/or provider), following ``next_cursor`` to the end."""
        cursor: str | None = None
        while True:
            page = self.list_page(status=status, provider=provider, limit=page_size, cursor=cursor)
            yield from page.jobs
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def wait(
        self,
        job_id: str,
        *,
        on_update: JobCallback | None = None,
        timeout: float = 900.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 5.0,
    ) -> Job:
        """Wait until the job is final (succeeded, failed or cancelled) and return it.

        Follows the job's event feed (``GET /v1/jobs/{id}/events``, each request held up to 10 s)
        until its final event, then reads the job once; if the feed is unavailable or breaks, it
        polls ``GET /v1/jobs/{id}`` every ``poll_interval`` seconds, backing off to
        ``max_poll_interval``. ``on_update`` gets the job at the start and whenever its status,
        stage, provider status or progress changed (the job is read again after each new event).
        Raises ``WaitTimeoutError`` after ``timeout`` seconds.
        """
        wait = _waiting.JobWait(
            job_id, timeout=timeout, poll_interval=poll_interval, max_poll_interval=max_poll_interval
        )

        def read() -> Job:
            job = self.get(job_id)
            if on_update is not None and wait.changed(job):
                on_update(job)
            return job

        if on_update is not None and (job := read()).final:
            return job
        while (call := wait.events_call()) is not None:
            try:
                news = wait.take_events(self._client.request(call))
            except _waiting.STREAM_ERRORS:
                wait.stream_broke()
                break
            if news and on_update is not None and not wait.final_seen and (job := read()).final:
                return job
            if pause := wait.pause_after_events(news):
                self._client._sleep(pause)
        while not (job := read()).final:
            self._client._sleep(wait.poll_delay(job))
        return job

    def run(
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
        """Create a job, wait for it, and (with ``download_to``) save every output there.

        A failed or cancelled job raises ``JobFailedError`` (unless ``raise_on_failure=False``).
        """
        accepted = self.create(
            provider=provider,
            product=product,
            options=options,
            webhook_url=webhook_url,
            metadata=metadata,
            fallback=fallback,
            webhook_events_filter=webhook_events_filter,
        )
        return self.finish(
            accepted.job_id,
            download_to=download_to,
            on_update=on_update,
            timeout=timeout,
            raise_on_failure=raise_on_failure,
        )

    def finish(
        self,
        job_id: str,
        *,
        download_to: str | os.PathLike[str] | None = None,
        on_update: JobCallback | None = None,
        timeout: float = 900.0,
        raise_on_failure: bool = True,
    ) -> RunResult:
        """Wait for an existing job and download its outputs (the second half of ``run``)."""
        job = self.wait(job_id, on_update=on_update, timeout=timeout)
        if job.status != "succeeded":
            if raise_on_failure:
                raise errors.JobFailedError(job)
            return RunResult(job)
        files = self.download(job, download_to) if download_to is not None else []
        return RunResult(job, files)

    def download(self, job: Job, directory: str | os.PathLike[str]) -> builtins.list[Path]:
        """Save every output of a succeeded job as ``<job id>-<kind>.<ext>``, each one verified."""
        if any(_core.expires_soon(output) for output in job.outputs):
            job = self.get(job.job_id)  # fresh presigned URLs
        names = _core.job_output_names(job)
        return [
            self._client.download(output, directory, name)
            for output, name in zip(job.outputs, names, strict=True)
        ]

    def cancel(self, job_id: str) -> Job:
        return Job.model_validate(self._client._json("POST", f"/v1/jobs/{job_id}/cancel"))

    def events(
        self, job_id: str, *, last_event_id: int = 0, wait: int = 20, timeout: float = 900.0
    ) -> Iterator[JobEvent]:
        """The job's events after ``last_event_id``, in order and each once, until its final one.

        ``GET /v1/jobs/{id}/events`` answers the events since ``Last-Event-ID`` and closes (the
        API cannot stream), so this reconnects with the last id it saw, each request held up to
        ``wait`` seconds for a new event. Raises ``WaitTimeoutError`` after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        last = last_event_id
        while True:
            answer = self._client.request(_core.events_call(job_id, last, wait))
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

    def regenerate(self, job_id: str, **changes: Any) -> JobAccepted:
        """A new job from a succeeded one: ``image_prompt``/``video_prompt`` (Creatify), ``style``
        and other options (ProdVisual), ``script_style``/``override_script`` (JoggAI)."""
        body = {name: value for name, value in changes.items() if value is not None}
        return JobAccepted.model_validate(
            self._client._json("POST", f"/v1/jobs/{job_id}/regenerate", json=body)
        )

    def video(self, job_id: str, *, video_prompt: str | None = None) -> JobAccepted:
        """The video of a Creatify job that stopped after its preview image (a new job)."""
        body = {"video_prompt": video_prompt} if video_prompt is not None else {}
        return JobAccepted.model_validate(self._client._json("POST", f"/v1/jobs/{job_id}/video", json=body))


class Uploads:
    """``client.uploads``: jobs whose product image is a local file (an S3 presigned POST)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
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
        """``POST /v1/uploads``: the job spec (without ``product.image_url``) and its upload form."""
        body = _core.job_body(provider, product, options, webhook_url, metadata)
        params = {"filename": filename} if filename else None
        key = idempotency_key or _core.new_idempotency_key()
        data = self._client._json("POST", "/v1/uploads", json=body, params=params, idempotency_key=key)
        return UploadCreated.model_validate(data)

    def get(self, upload_id: str) -> Upload:
        return Upload.model_validate(self._client._json("GET", f"/v1/uploads/{upload_id}"))

    def wait(self, upload_id: str, *, timeout: float = 60.0, poll_interval: float = 0.2) -> Upload:
        """Poll until the uploaded file was handled: ``started`` (with its ``job_id``) or ``failed``."""
        deadline = time.monotonic() + timeout
        backoff = _core.Backoff(poll_interval, 2.0)
        while True:
            upload = self.get(upload_id)
            if upload.status != "awaiting_upload":
                return upload
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise errors.WaitTimeoutError(
                    f"upload {upload_id} still awaits its file after {timeout:g} s", code="wait_timeout"
                )
            self._client._sleep(backoff.next(remaining))

    def create_from_file(
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
        """Create the upload, send the file to its form, and wait until it started its job.

        Returns the upload (``status == "started"``, ``job_id`` set); a refused file raises
        ``UploadFailedError`` with the API's code.
        """
        source = Path(path)
        kind = _core.content_type_of(source, content_type)
        created = self.create(
            provider=provider,
            options=options,
            product=product,
            webhook_url=webhook_url,
            metadata=metadata,
            filename=source.name,
        )
        _core.check_size(source, created)
        self._client.post_form(created, source, kind)
        upload = self.wait(created.upload_id, timeout=timeout)
        if upload.status == "failed":
            raise errors.UploadFailedError(upload)
        return upload


class Batches:
    """``client.batches``: up to 500 job specs in one request."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        webhook_url: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> BatchAccepted:
        """``POST /v1/batches``: each item is a job spec as ``jobs.create`` sends it."""
        body: dict[str, Any] = {"items": [dict(item) for item in items]}
        if webhook_url is not None:
            body["webhook_url"] = webhook_url
        if metadata:
            body["metadata"] = dict(metadata)
        key = idempotency_key or _core.new_idempotency_key()
        return BatchAccepted.model_validate(
            self._client._json("POST", "/v1/batches", json=body, idempotency_key=key)
        )

    def estimate(self, items: Sequence[Mapping[str, Any]]) -> Estimate:
        """``POST /v1/batches`` with ``dry_run: true``: what the batch would cost; nothing is created."""
        body = {"items": [dict(item) for item in items], "dry_run": True}
        return Estimate.model_validate(self._client._json("POST", "/v1/batches", json=body))

    def get(self, batch_id: str) -> Batch:
        return Batch.model_validate(self._client._json("GET", f"/v1/batches/{batch_id}"))

    def retry(self, batch_id: str) -> BatchRetried:
        """``POST /v1/batches/{id}/retry``: rerun the completed batch's failed items, once each."""
        return BatchRetried.model_validate(self._client._json("POST", f"/v1/batches/{batch_id}/retry"))

    def wait(
        self,
        batch_id: str,
        *,
        on_update: BatchCallback | None = None,
        timeout: float = 3600.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 5.0,
    ) -> Batch:
        """Poll until the batch is ``completed``; ``on_update`` gets it whenever its counts change."""
        deadline = time.monotonic() + timeout
        backoff = _core.Backoff(poll_interval, max_poll_interval)
        seen: tuple[str, dict[str, int]] | None = None
        while True:
            batch = self.get(batch_id)
            if on_update is not None and (batch.status, batch.counts) != seen:
                seen = (batch.status, dict(batch.counts))
                on_update(batch)
            if batch.completed:
                return batch
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise errors.WaitTimeoutError(
                    f"batch {batch_id} is not completed after {timeout:g} s: {batch.counts}",
                    code="wait_timeout",
                )
            self._client._sleep(backoff.next(remaining))


class BatchManifests:
    """``client.batch_manifests``: a batch from a CSV or JSON manifest file (an S3 presigned POST)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self,
        *,
        manifest_format: str,
        webhook_url: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ManifestCreated:
        """``POST /v1/batch-manifests``: the upload form of a ``csv`` or ``json`` manifest."""
        body = _core.manifest_body(manifest_format, webhook_url, metadata)
        return ManifestCreated.model_validate(self._client._json("POST", "/v1/batch-manifests", json=body))

    def get(self, manifest_id: str) -> BatchManifest:
        return BatchManifest.model_validate(self._client._json("GET", f"/v1/batch-manifests/{manifest_id}"))

    def wait(self, manifest_id: str, *, timeout: float = 60.0, poll_interval: float = 0.2) -> BatchManifest:
        """Poll until the file was handled: ``started`` (its ``batch_id``) or ``refused``."""
        deadline = time.monotonic() + timeout
        backoff = _core.Backoff(poll_interval, 2.0)
        while True:
            manifest = self.get(manifest_id)
            if manifest.status != "awaiting_file":
                return manifest
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise errors.WaitTimeoutError(
                    f"manifest {manifest_id} still awaits its file after {timeout:g} s", code="wait_timeout"
                )
            self._client._sleep(backoff.next(remaining))

    def create_from_file(
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
        created = self.create(manifest_format=fmt, webhook_url=webhook_url, metadata=metadata)
        _core.check_size(source, created, code="manifest_too_large")
        self._client.post_form(created, source, _core.MANIFEST_TYPES[fmt])
        return _core.started_or_raise(self.wait(created.manifest_id, timeout=timeout))


class Providers:
    """``client.providers``: what each provider can do, ProdVisual's styles, credits."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self) -> list[Provider]:
        data = self._client._json("GET", "/v1/providers")
        return [Provider.model_validate(item) for item in data["providers"]]

    def styles(self) -> Styles:
        return Styles.model_validate(self._client._json("GET", "/v1/providers/prodvisual/styles"))

    def credits(self, provider: str) -> Credits:
        return Credits.model_validate(self._client._json("GET", f"/v1/providers/{provider}/credits"))


class WebhookDeliveries:
    """``client.deliveries``: your webhook delivery log, and replaying a delivery."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list_page(
        self, *, status: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> WebhookDeliveryPage:
        """One page of ``GET /v1/webhook-deliveries`` (newest first)."""
        params = {"status": status, "limit": limit, "cursor": cursor}
        query = {name: value for name, value in params.items() if value is not None}
        return WebhookDeliveryPage.model_validate(
            self._client._json("GET", "/v1/webhook-deliveries", params=query)
        )

    def list(self, *, status: str | None = None, page_size: int = 100) -> Iterator[WebhookDelivery]:
        """Every delivery (optionally of one status), following ``next_cursor`` to the end."""
        cursor: str | None = None
        while True:
            page = self.list_page(status=status, limit=page_size, cursor=cursor)
            yield from page.deliveries
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def replay(self, delivery_id: str) -> WebhookDelivery:
        """Send a delivered, failed or disabled delivery again (same webhook-id, fresh signature)."""
        return WebhookDelivery.model_validate(
            self._client._json("POST", f"/v1/webhook-deliveries/{delivery_id}/replay")
        )


class Billing:
    """``client.billing``: estimates, the tenant's credit budget, usage per provider."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def estimate(self, items: Sequence[Mapping[str, Any]]) -> Estimate:
        """``POST /v1/estimates``: each item a job spec as ``jobs.create`` sends it (1 to 500)."""
        body = {"items": [dict(item) for item in items]}
        return Estimate.model_validate(self._client._json("POST", "/v1/estimates", json=body))

    def budget(self) -> Budget:
        """``GET /v1/budget``: today's and this month's limits, spent and left (UTC)."""
        return Budget.model_validate(self._client._json("GET", "/v1/budget"))

    def usage(self, from_day: date | str | None = None, to_day: date | str | None = None) -> Usage:
        """``GET /v1/usage``: final jobs and credits per provider and day (default: the last 30 days)."""
        params = _core.usage_params(from_day, to_day)
        return Usage.model_validate(self._client._json("GET", "/v1/usage", params=params))
