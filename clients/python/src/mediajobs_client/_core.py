"""What the sync and async clients share: retry decisions, error mapping, request bodies, polling."""

from __future__ import annotations

import hashlib
import mimetypes
import random
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from mediajobs_client import errors
from mediajobs_client.models import BatchManifest, Job, JobEvent, ManifestCreated, Output, UploadCreated

#: connect quickly or fail; a job answer can take a while (the API fetches the product image)
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: media can be large: reads may pause longer, there is no overall limit
DOWNLOAD_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "mediajobs-client-python/0.1.0"

EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a request that met a 429, a 5xx or a transport error.

    A ``Retry-After`` answer is honoured (capped at ``max_delay``) with up to 10% added jitter;
    otherwise the wait doubles from ``base_delay`` with "equal jitter" (half fixed, half random).
    """

    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
        if retry_after is not None:
            return min(self.max_delay, retry_after * (1 + self.rng.uniform(0, 0.1)))
        ceiling = min(self.max_delay, self.base_delay * 2.0**attempt)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


def retry_after_seconds(headers: httpx.Headers, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date); None when absent or unreadable."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class Call:
    """One API request. ``replayable``: sending it twice cannot do the work twice (a GET, or a
    create with an ``Idempotency-Key``), so it is retried after any 429, 5xx or transport error;
    any other request is retried only when it certainly never reached the API (a 429, or no
    connection)."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    idempotency_key: str | None = None
    extra_headers: Mapping[str, str] | None = None

    @property
    def replayable(self) -> bool:
        return self.method in {"GET", "HEAD"} or self.idempotency_key is not None

    def headers(self) -> dict[str, str]:
        headers = dict(self.extra_headers or {})
        if self.idempotency_key:
            headers["Idempotency-Key"] = self.idempotency_key
        return headers

    def retry_answer(self, answer: httpx.Response) -> bool:
        if answer.status_code == 429:
            return True
        if self.idempotency_key is not None and answer.status_code == 409:
            # the same create is still running elsewhere: the API says when to ask again
            return _error_code(answer) == "request_in_progress"
        return self.replayable and answer.status_code in RETRY_STATUSES

    def retry_exception(self, exc: httpx.TransportError) -> bool:
        if self.replayable:
            return True
        return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def _error_code(answer: httpx.Response) -> str | None:
    try:
        body = answer.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return str(error["code"]) if isinstance(error, dict) and "code" in error else None


def api_error(answer: httpx.Response) -> errors.MediajobsError:
    """The exception for an error answer: ``{"error": {"code", "message", "details"}}``."""
    code: str | None = None
    message = answer.reason_phrase or f"HTTP {answer.status_code}"
    details: list[dict[str, Any]] = []
    try:
        body = answer.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code")) if error.get("code") is not None else None
        message = str(error.get("message") or message)
        raw_details = error.get("details")
        if isinstance(raw_details, list):
            details = [d for d in raw_details if isinstance(d, dict)]
    elif answer.text:
        message = answer.text[:500]
    kind = errors.error_for_status(answer.status_code)
    common: dict[str, Any] = {
        "status": answer.status_code,
        "code": code,
        "details": details,
        "headers": answer.headers,
    }
    if kind is errors.RateLimitedError:
        return errors.RateLimitedError(message, retry_after=retry_after_seconds(answer.headers), **common)
    return kind(message, **common)


def connection_error(exc: httpx.TransportError, call: Call) -> errors.APIConnectionError:
    return errors.APIConnectionError(
        f"{call.method} {call.path}: {type(exc).__name__}: {exc}", code="connection_error"
    )


def job_body(
    provider: str,
    product: Mapping[str, Any] | None,
    options: Mapping[str, Any] | None,
    webhook_url: str | None,
    metadata: Mapping[str, str] | None,
    *,
    fallback: Sequence[Mapping[str, Any]] | None = None,
    webhook_events_filter: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The JSON of ``POST /v1/jobs`` (and of a batch item, and of an upload without the image)."""
    body: dict[str, Any] = {"provider": provider, "product": dict(product or {})}
    if fallback:
        body["fallback"] = [dict(f) for f in fallback]
    if options is not None:
        body["options"] = dict(options)
    if webhook_url is not None:
        body["webhook_url"] = webhook_url
    if webhook_events_filter is not None:
        body["webhook_events_filter"] = list(webhook_events_filter)
    if metadata:
        body["metadata"] = dict(metadata)
    return body


def usage_params(from_day: date | str | None, to_day: date | str | None) -> dict[str, str]:
    """The query of ``GET /v1/usage`` (UTC days, ``YYYY-MM-DD``)."""
    params = {"from": from_day, "to": to_day}
    return {name: str(value) for name, value in params.items() if value is not None}


def observed(job: Job) -> tuple[Any, ...]:
    """What ``on_update`` reports a change of: status, stage, provider status and progress."""
    progress = job.progress.model_dump() if job.progress is not None else None
    return (job.status, job.stage, job.provider_status, repr(progress), len(job.outputs))


class Backoff:
    """Polling intervals: ``initial``, growing by ``factor`` up to ``maximum``."""

    def __init__(self, initial: float = 0.5, maximum: float = 5.0, factor: float = 1.5) -> None:
        self.current = initial
        self.maximum = maximum
        self.factor = factor

    def next(self, remaining: float) -> float:
        interval = min(self.current, max(0.0, remaining))
        self.current = min(self.maximum, self.current * self.factor)
        return interval


def content_type_of(path: Path, given: str | None) -> str:
    content_type = given or mimetypes.guess_type(path.name)[0]
    if content_type is None or not content_type.startswith("image/"):
        raise errors.MediajobsError(
            f"{path.name}: not an image file (give content_type='image/png', 'image/jpeg' or 'image/webp')",
            code="invalid_product_image",
        )
    return content_type


def output_filename(output: Output, stem: str) -> str:
    extension = EXTENSIONS.get(output.content_type.split(";")[0].strip()) or (
        mimetypes.guess_extension(output.content_type) or ".bin"
    )
    return f"{stem}{extension}"


def job_output_names(job: Job) -> list[str]:
    """``<job id>-<kind>.<ext>`` per output, numbered when a kind appears more than once."""
    kinds = [output.kind for output in job.outputs]
    names: list[str] = []
    for index, output in enumerate(job.outputs):
        stem = f"{job.job_id}-{output.kind}"
        if kinds.count(output.kind) > 1:
            stem += f"-{kinds[: index + 1].count(output.kind)}"
        names.append(output_filename(output, stem))
    return names


class IntegrityCheck:
    """Counts and hashes a download as it streams, then compares with what the API reported."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self.size = 0
        self.digest = hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.digest.update(chunk)

    def check(self, name: str) -> None:
        if self.size != self.output.bytes:
            raise errors.DownloadIntegrityError(
                f"{name}: got {self.size} bytes, the API reported {self.output.bytes}", code="size_mismatch"
            )
        if self.digest.hexdigest() != self.output.sha256:
            raise errors.DownloadIntegrityError(
                f"{name}: SHA-256 {self.digest.hexdigest()} is not the reported {self.output.sha256}",
                code="sha256_mismatch",
            )


def upload_form(fields: Mapping[str, str], content_type: str) -> dict[str, str]:
    """The presigned POST's fields, with ``Content-Type`` added when the form does not fix it."""
    form = dict(fields)
    if not any(name.lower() == "content-type" for name in form):
        form["Content-Type"] = content_type
    return form


def expires_soon(output: Output) -> bool:
    """Its presigned URL expires within 30 s: fetch the job again for fresh ones."""
    expires = output.download_url_expires_at
    return expires is not None and expires.timestamp() - time.time() < 30


MANIFEST_TYPES = {"csv": "text/csv", "json": "application/json"}


def manifest_body(fmt: str, webhook_url: str | None, metadata: Mapping[str, str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"format": fmt}
    if webhook_url is not None:
        body["webhook_url"] = webhook_url
    if metadata:
        body["metadata"] = dict(metadata)
    return body


def manifest_format(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in MANIFEST_TYPES:
        raise errors.ValidationError(
            f"{path.name}: a manifest is a .csv or .json file", code="invalid_manifest"
        )
    return fmt


def started_or_raise(manifest: BatchManifest) -> BatchManifest:
    """The manifest once it started its batch; a refused one raises ``ValidationError``."""
    if manifest.status == "refused" and manifest.error is not None:
        raise errors.ValidationError(
            manifest.error.message,
            code=manifest.error.code,
            details=[problem.model_dump() for problem in manifest.error.details],
        )
    return manifest


def check_size(
    path: Path, created: UploadCreated | ManifestCreated, *, code: str = "product_image_too_large"
) -> None:
    """Refuse before sending a file the upload form would refuse for its size."""
    size = path.stat().st_size
    if size > created.max_bytes:
        raise errors.ValidationError(
            f"{path.name} is {size} bytes; uploads take at most {created.max_bytes}", code=code
        )


#: the longest the API holds a long poll of a job's events (seconds)
MAX_EVENTS_WAIT = 25


def event_stream_events(text: str) -> tuple[list[JobEvent], bool]:
    """The job events of one ``text/event-stream`` answer, and whether it ended with ``end``."""
    events: list[JobEvent] = []
    ended = False
    for block in text.replace("\r\n", "\n").split("\n\n"):
        kind, data = "message", []
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                kind = value
            elif name == "data":
                data.append(value)
        if kind == "end":
            ended = True
        elif kind == "job.progress" and data:
            events.append(JobEvent.model_validate_json("\n".join(data)))
    return events, ended


def events_call(job_id: str, last_event_id: int, wait: int) -> Call:
    """One request of a job's event feed: the events after ``last_event_id``, held up to ``wait`` s."""
    return Call(
        "GET",
        f"/v1/jobs/{job_id}/events",
        params={"wait": max(0, min(wait, MAX_EVENTS_WAIT))},
        extra_headers={"Accept": "text/event-stream", "Last-Event-ID": str(last_event_id)},
    )
