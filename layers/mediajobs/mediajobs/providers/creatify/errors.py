"""Creatify error responses as domain errors.

Creatify's documents show no error bodies. The API is Django REST framework (trailing slashes,
``{"detail": ...}`` answers), so the mapping assumes DRF's shapes: ``{"detail": "..."}`` for
401/403/404/429/5xx and ``{"field": ["msg", ...]}`` (or ``non_field_errors``, or a bare list) for
400. DRF bodies carry no machine code, so ``provider_code`` is the body's ``code`` when one is
present and otherwise the HTTP status as a string; ``provider_message`` is the ``detail`` or the
field errors flattened to ``"field: msg; field: msg"``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from mediajobs.errors import ErrorKind, ProviderError, provider_error
from mediajobs.providers.base import ProviderName
from mediajobs.providers.http import parse_retry_after

PROVIDER = ProviderName.CREATIFY.value

#: HTTP status -> error kind; any other 5xx is SERVER_ERROR, any other 4xx BAD_REQUEST.
#: 408 (not in the brief's list) is a timeout the provider reports, so it is retryable like ours.
STATUS_KINDS: dict[int, ErrorKind] = {
    400: ErrorKind.BAD_REQUEST,
    401: ErrorKind.UNAUTHORIZED,
    402: ErrorKind.INSUFFICIENT_CREDITS,
    403: ErrorKind.FORBIDDEN,
    404: ErrorKind.NOT_FOUND,
    408: ErrorKind.TIMEOUT,
    413: ErrorKind.TOO_LARGE,
    429: ErrorKind.RATE_LIMITED,
    500: ErrorKind.SERVER_ERROR,
    502: ErrorKind.SERVER_ERROR,
    503: ErrorKind.SERVER_ERROR,
    504: ErrorKind.SERVER_ERROR,
}

_MAX_RAW_MESSAGE = 300


def kind_for_status(status: int) -> ErrorKind:
    if status in STATUS_KINDS:
        return STATUS_KINDS[status]
    return ErrorKind.SERVER_ERROR if status >= 500 else ErrorKind.BAD_REQUEST


def _flatten(errors: Any, prefix: str = "") -> list[str]:
    """DRF nests errors as dicts of lists (of dicts, for nested serializers)."""
    if isinstance(errors, dict):
        out: list[str] = []
        for key, value in errors.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            label = prefix if key == "non_field_errors" else name
            out.extend(_flatten(value, label))
        return out
    if isinstance(errors, list):
        return [line for item in errors for line in _flatten(item, prefix)]
    text = str(errors)
    return [f"{prefix}: {text}" if prefix else text]


def _describe(response: httpx.Response) -> tuple[str, str]:
    code = str(response.status_code)
    try:
        body: Any = json.loads(response.content)
    except ValueError:
        text = response.text.strip()[:_MAX_RAW_MESSAGE]
        return code, text or response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        if isinstance(body.get("code"), str) and body["code"]:
            code = body["code"]
        detail = body.get("detail")
        if isinstance(detail, str) and detail:
            return code, detail
        fields = {key: value for key, value in body.items() if key != "code"}
        message = "; ".join(_flatten(fields))
        return code, message or f"HTTP {response.status_code}"
    message = "; ".join(_flatten(body))
    return code, message or f"HTTP {response.status_code}"


def map_error(response: httpx.Response) -> ProviderError:
    """The domain error for a non-2xx Creatify response (the ``ProviderHttpClient`` error mapper)."""
    kind = kind_for_status(response.status_code)
    code, message = _describe(response)
    # DRF's throttling sends Retry-After on 429; a 503 in maintenance may send it too
    retry_after = parse_retry_after(response.headers) if response.status_code in {429, 503} else None
    return provider_error(
        provider=PROVIDER,
        kind=kind,
        provider_code=code,
        provider_message=message,
        http_status=response.status_code,
        retry_after=retry_after,
    )
