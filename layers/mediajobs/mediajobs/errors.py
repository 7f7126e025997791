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
