"""Every failure the SDK reports is a ``MediajobsError``; API answers keep their status and code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mediajobs_client.models import Job, Upload


class MediajobsError(Exception):
    """An error answer of the API (``status``, ``code``, ``message``, ``details``) or of the SDK."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details or []
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        where = f"{self.status} " if self.status is not None else ""
        code = f"{self.code}: " if self.code else ""
        return f"{where}{code}{self.message}"


class BadRequestError(MediajobsError):
    """400: the request could not be read (malformed JSON, a bad cursor or idempotency key)."""


class AuthenticationError(MediajobsError):
    """401 or 403: the API key is missing, wrong or revoked."""


class NotFoundError(MediajobsError):
    """404: the resource does not exist or belongs to another tenant."""


class PaymentRequiredError(MediajobsError):
    """402 ``budget_exceeded``: the tenant's or this API key's daily or monthly credit budget does not
    allow it. ``message`` names which; ``details[].path`` is ``daily``, ``monthly``,
    ``api_key.daily`` or ``api_key.monthly`` (the field of :class:`Budget` that is spent)."""


class ConflictError(MediajobsError):
    """409: the resource is not in a state that allows this (``job_final``, ``job_not_finished``...)."""


class ValidationError(MediajobsError):
    """422: the request names a field the API refuses; ``details`` has the field paths."""


class RateLimitedError(MediajobsError):
    """429 after every retry; ``retry_after`` is what the API asked for, in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(MediajobsError):
    """5xx after every retry."""


class APIConnectionError(MediajobsError):
    """The API could not be reached (refused, reset, timed out) after every retry."""


class DownloadIntegrityError(MediajobsError):
    """A downloaded output's size or SHA-256 is not what the API reported; nothing was kept."""


class WaitTimeoutError(MediajobsError):
    """A job, upload or batch was not final within the time given to ``wait``."""


class JobFailedError(MediajobsError):
    """``jobs.run`` found the job ``failed`` or ``cancelled``; ``job`` is its final state."""

    def __init__(self, job: Job) -> None:
        code = job.error.code if job.error else job.status
        message = job.error.message if job.error else f"job {job.job_id} is {job.status}"
        super().__init__(message, code=code)
        self.job = job


class UploadFailedError(MediajobsError):
    """The uploaded file was refused (``invalid_product_image``, ``product_image_too_large``)."""

    def __init__(self, upload: Upload) -> None:
        code = upload.error.code if upload.error else "upload_failed"
        message = upload.error.message if upload.error else f"upload {upload.upload_id} failed"
        super().__init__(message, code=code)
        self.upload = upload


class WebhookVerificationError(MediajobsError):
    """A webhook delivery whose signature, timestamp or headers do not check out."""


def error_for_status(status: int) -> type[MediajobsError]:
    """The exception class of an error answer's status."""
    by_status: dict[int, type[MediajobsError]] = {
        400: BadRequestError,
        401: AuthenticationError,
        402: PaymentRequiredError,
        403: AuthenticationError,
        404: NotFoundError,
        409: ConflictError,
        422: ValidationError,
        429: RateLimitedError,
    }
    if status in by_status:
        return by_status[status]
    return ServerError if status >= 500 else MediajobsError
