"""ProdVisual error answers -> mediajobs domain errors.

The document's table pairs each HTTP status with one ``error.code``; the status decides the kind
(a 5xx is retryable whatever its body says), the body's code and message are kept as the
provider's words. A status outside the table falls back to its body code when that is a documented
one, else to the HTTP class. A body that is not the documented JSON (a proxy's HTML page) still
maps by status, with the table's code for that status.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from mediajobs.errors import ErrorKind, ProviderError, provider_error
from mediajobs.providers.base import ProviderName
from mediajobs.providers.http import parse_retry_after
from mediajobs.providers.prodvisual.models import ErrorCode

PROVIDER = ProviderName.PRODVISUAL.value

#: status -> (documented error.code, what mediajobs does about it)
ERROR_TABLE: Mapping[int, tuple[ErrorCode, ErrorKind]] = {
    400: (ErrorCode.INVALID_REQUEST, ErrorKind.BAD_REQUEST),
    401: (ErrorCode.UNAUTHORIZED, ErrorKind.UNAUTHORIZED),
    402: (ErrorCode.INSUFFICIENT_CREDITS, ErrorKind.INSUFFICIENT_CREDITS),
    404: (ErrorCode.NOT_FOUND, ErrorKind.NOT_FOUND),
    413: (ErrorCode.FILE_TOO_LARGE, ErrorKind.TOO_LARGE),
    422: (ErrorCode.INVALID_IMAGE, ErrorKind.INVALID_IMAGE),
    429: (ErrorCode.RATE_LIMITED, ErrorKind.RATE_LIMITED),
    500: (ErrorCode.SERVER_ERROR, ErrorKind.SERVER_ERROR),
}

_KIND_BY_CODE: Mapping[str, ErrorKind] = {code.value: kind for code, kind in ERROR_TABLE.values()}

_MESSAGE_SNIPPET = 300


def map_error(response: httpx.Response, *, now: float | None = None) -> ProviderError:
    """The domain error for one non-2xx ProdVisual answer."""
    status = response.status_code
    code, message = _read_body(response)
    documented = ERROR_TABLE.get(status)
    if documented is not None:
        kind = documented[1]
    elif code is not None and code in _KIND_BY_CODE:
        kind = _KIND_BY_CODE[code]
    else:
        kind = _kind_for_status(status)
    if code is None:
        code = documented[0].value if documented else f"http_{status}"
    if message is None:
        message = _text_snippet(response) or response.reason_phrase or f"HTTP {status}"
    return provider_error(
        provider=PROVIDER,
        kind=kind,
        provider_code=code,
        provider_message=message,
        http_status=status,
        retry_after=_retry_after(kind, response.headers, now),
    )


def _read_body(response: httpx.Response) -> tuple[str | None, str | None]:
    try:
        body = response.json()
    except ValueError:
        return None, None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None
    code, message = error.get("code"), error.get("message")
    return (
        code if isinstance(code, str) and code else None,
        message if isinstance(message, str) and message else None,
    )


def _text_snippet(response: httpx.Response) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        return ""
    return " ".join(text.split())[:_MESSAGE_SNIPPET]


def _kind_for_status(status: int) -> ErrorKind:
    if status >= 500:
        return ErrorKind.SERVER_ERROR
    if status == 408:
        return ErrorKind.TIMEOUT
    if status == 403:
        return ErrorKind.FORBIDDEN
    return ErrorKind.BAD_REQUEST


def _retry_after(kind: ErrorKind, headers: httpx.Headers, now: float | None) -> float | None:
    if kind is ErrorKind.RATE_LIMITED:
        # Retry-After first, else the window's X-RateLimit-Reset
        return parse_retry_after(headers, now)
    if kind is ErrorKind.SERVER_ERROR and "retry-after" in headers:
        # X-RateLimit-Reset says when the quota refills, not when a failing server recovers
        return parse_retry_after({"retry-after": headers["retry-after"]}, now)
    return None
