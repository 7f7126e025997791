"""Domain errors that the rest of mediajobs acts on.

Provider adapters turn every HTTP status, business code and transport failure into one of two
kinds: :class:`RetryableProviderError` (try again later, possibly after the delay the provider asked
for) or :class:`PermanentProviderError` (trying again cannot help). Both keep the provider's own code
and message so a failed job can tell its client what the provider said.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """The small set of failure kinds later code can act on."""

    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    INSUFFICIENT_CREDITS = "insufficient_credits"
    INVALID_IMAGE = "invalid_image"
    TOO_LARGE = "too_large"
    NOT_FOUND = "not_found"
    GENERATION_FAILED = "generation_failed"
    INVALID_RESPONSE = "invalid_response"


RETRYABLE_KINDS = frozenset(
    {ErrorKind.RATE_LIMITED, ErrorKind.SERVER_ERROR, ErrorKind.TIMEOUT, ErrorKind.CONNECTION}
)


class MediajobsError(Exception):
    """Base of every error mediajobs raises on purpose."""


class ProviderError(MediajobsError):
    """A provider call failed. ``provider_code`` and ``provider_message`` are the provider's own words."""

    def __init__(
        self,
        *,
        provider: str,
        kind: ErrorKind,
        provider_code: str,
        provider_message: str,
        http_status: int | None = None,
    ) -> None:
        super().__init__(f"{provider} {kind.value}: {provider_code}: {provider_message}")
        self.provider = provider
        self.kind = kind
        self.provider_code = provider_code
        self.provider_message = provider_message
        self.http_status = http_status

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS


class RetryableProviderError(ProviderError):
    """Worth trying again. ``retry_after`` is the delay in seconds the provider asked for, if any."""

    def __init__(
        self,
        *,
        provider: str,
        kind: ErrorKind,
        provider_code: str,
        provider_message: str,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            provider=provider,
            kind=kind,
            provider_code=provider_code,
            provider_message=provider_message,
            http_status=http_status,
        )
        self.retry_after = retry_after


class PermanentProviderError(ProviderError):
    """Trying again with the same input cannot succeed."""


def provider_error(
    *,
    provider: str,
    kind: ErrorKind,
    provider_code: str,
    provider_message: str,
    http_status: int | None = None,
    retry_after: float | None = None,
) -> ProviderError:
    """Build the right subclass for ``kind``."""
    if kind in RETRYABLE_KINDS:
        return RetryableProviderError(
            provider=provider,
            kind=kind,
            provider_code=provider_code,
            provider_message=provider_message,
            http_status=http_status,
            retry_after=retry_after,
        )
    return PermanentProviderError(
        provider=provider,
        kind=kind,
        provider_code=provider_code,
        provider_message=provider_message,
        http_status=http_status,
    )


class WebhookVerificationError(MediajobsError):
    """A webhook delivery's signature is missing, malformed or wrong."""


# --- what a request asked for cannot be done ------------------------------------------------------
#
# The domain raises these; the edge (``mediajobs.api.errors.STATUS_OF``) maps each kind to an HTTP
# status in one table, and answers ``{"error": {"code", "message", "details"?}}``. ``code`` is the
# stable machine code clients act on; ``message`` says what to fix.


class Problem:
    """One field of a request that is wrong: its dotted path and what is wrong with it."""

    __slots__ = ("message", "path")

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message


class DomainError(MediajobsError):
    """A request mediajobs refuses, with a stable machine code and a message that says what to fix."""

    def __init__(self, code: str, message: str, details: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class InvalidRequestError(DomainError):
    """The request cannot be understood as sent (a bad cursor, an unreadable parameter)."""


class NotFoundError(DomainError):
    """No such resource for this tenant (another tenant's answers exactly the same)."""

    def __init__(self, what: str) -> None:
        super().__init__("not_found", f"{what} does not exist or belongs to another tenant")


class JobNotFoundError(NotFoundError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id}")


class UploadNotFoundError(NotFoundError):
    def __init__(self, upload_id: str) -> None:
        super().__init__(f"upload {upload_id}")


class BatchNotFoundError(NotFoundError):
    def __init__(self, batch_id: str) -> None:
        super().__init__(f"batch {batch_id}")


class UnknownResourceError(DomainError):
    """A named thing (a provider, a feature of one) that does not exist, with its own code."""


class ConflictError(DomainError):
    """The resource is not in a state that allows this (a job still running, already continued)."""


class GoneError(DomainError):
    """The resource existed and is no longer served (an expired link)."""


class ValidationFailedError(DomainError):
    """The request is well formed but its content is refused (an unsafe URL, an unusable image)."""

    def __init__(self, code: str, message: str, details: list[Problem] | None = None) -> None:
        super().__init__(code, message, details)


class InvalidProductImageError(ValidationFailedError):
    """The product image cannot be used (unreachable, not an image, too large, too small)."""


def invalid_field(path: str, message: str) -> ValidationFailedError:
    """The standard ``validation_error`` for one field."""
    return ValidationFailedError(
        "validation_error", f"the request is invalid: {path}: {message}", [Problem(path, message)]
    )


class PaymentRequiredError(DomainError):
    """The request would spend credits the tenant's budget does not allow (``budget_exceeded``)."""


class UpstreamError(DomainError):
    """A provider answered mediajobs with an error it cannot pass on as the client's fault."""


class ServiceUnavailableError(DomainError):
    """mediajobs or a provider cannot do it right now; the same request may work later."""
