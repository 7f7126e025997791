"""JoggAI failures as domain errors.

JoggAI answers most errors with HTTP 200 and a non-zero business ``code`` in the envelope, so
the adapter checks the envelope after every call (:func:`envelope_error`); :func:`map_error` is
the :class:`ProviderHttpClient` mapper for non-2xx answers. Precedence for a non-2xx answer:
429 is a rate limit (delay from ``Retry-After`` / ``X-RateLimit-Reset``), any 5xx is a
retryable server error, and for other statuses the envelope's business code, when there is one,
says more than the status does.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from mediajobs.errors import ErrorKind, ProviderError, provider_error
from mediajobs.providers.base import ProviderName
from mediajobs.providers.http import parse_retry_after

from .models import BusinessCode

PROVIDER = ProviderName.JOGG.value

#: every documented non-zero business code and what it means to us
BUSINESS_CODE_KINDS: dict[int, ErrorKind] = {
    BusinessCode.RECORD_NOT_FOUND: ErrorKind.NOT_FOUND,
    BusinessCode.INVALID_API_KEY: ErrorKind.UNAUTHORIZED,
    BusinessCode.INSUFFICIENT_CREDIT: ErrorKind.INSUFFICIENT_CREDITS,
    BusinessCode.NO_PERMISSION: ErrorKind.FORBIDDEN,
    BusinessCode.PARAMETER_ERROR: ErrorKind.BAD_REQUEST,
    BusinessCode.SYSTEM_ERROR: ErrorKind.SERVER_ERROR,
}

# JoggAI's codes group by their leading digits (4xxxx parameter, 5xxxx system); an undocumented
# code is classed by that, never silently taken for success.
_SYSTEM_CODE_FLOOR = 50000

_STATUS_KINDS: dict[int, ErrorKind] = {
    400: ErrorKind.BAD_REQUEST,
    401: ErrorKind.UNAUTHORIZED,
    402: ErrorKind.INSUFFICIENT_CREDITS,
    403: ErrorKind.FORBIDDEN,
    404: ErrorKind.NOT_FOUND,
    408: ErrorKind.TIMEOUT,
    413: ErrorKind.TOO_LARGE,
}


def business_code_kind(code: int) -> ErrorKind:
    """The kind of a non-zero business code, documented or not."""
    known = BUSINESS_CODE_KINDS.get(code)
    if known is not None:
        return known
    return ErrorKind.SERVER_ERROR if code >= _SYSTEM_CODE_FLOOR else ErrorKind.BAD_REQUEST


def envelope_error(
    code: int, msg: str, *, http_status: int, headers: Mapping[str, str] | None = None
) -> ProviderError:
    """The domain error for an envelope whose ``code`` is not 0."""
    return provider_error(
        provider=PROVIDER,
        kind=business_code_kind(code),
        provider_code=str(code),
        provider_message=msg,
        http_status=http_status,
        retry_after=parse_retry_after(headers) if headers is not None else None,
    )


def _envelope_of(response: httpx.Response) -> tuple[int, str] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    code, msg = body.get("code"), body.get("msg")
    if not isinstance(code, int) or isinstance(code, bool):
        return None
    return code, msg if isinstance(msg, str) else ""


def map_error(response: httpx.Response) -> ProviderError:
    """The domain error for a non-2xx JoggAI answer (``ProviderHttpClient`` error mapper)."""
    status = response.status_code
    envelope = _envelope_of(response)
    code = str(envelope[0]) if envelope else f"http_{status}"
    message = (envelope[1] if envelope else "") or response.text[:500] or response.reason_phrase
    if status == 429:
        kind = ErrorKind.RATE_LIMITED
    elif status >= 500:
        kind = ErrorKind.SERVER_ERROR
    elif envelope is not None and envelope[0] != BusinessCode.SUCCESS:
        kind = business_code_kind(envelope[0])
    else:
        kind = _STATUS_KINDS.get(status, ErrorKind.BAD_REQUEST)
    return provider_error(
        provider=PROVIDER,
        kind=kind,
        provider_code=code,
        provider_message=message,
        http_status=status,
        retry_after=parse_retry_after(response.headers),
    )
