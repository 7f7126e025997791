"""ProdVisual error mapping: the document's status/code table, delays, odd bodies, rate-limit headers."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from mediajobs.errors import (
    ErrorKind,
    PermanentProviderError,
    ProviderError,
    RetryableProviderError,
)
from mediajobs.providers.http import NO_RETRY
from mediajobs.providers.prodvisual import ERROR_TABLE, ProdVisualAdapter, map_error

Handler = Callable[[httpx.Request], httpx.Response]

RETRYABLE_STATUSES = {429, 500}


def _adapter(handler: Handler) -> ProdVisualAdapter:
    return ProdVisualAdapter(
        "https://api.prodvisual.test", "pv_test_key", retry=NO_RETRY, transport=httpx.MockTransport(handler)
    )


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Handler:
    body = {"error": {"code": code, "message": message, "status": status}}
    return lambda _request: httpx.Response(status, json=body, headers=headers)


def _raised(handler: Handler) -> ProviderError:
    adapter = _adapter(handler)
    with pytest.raises(ProviderError) as caught:
        adapter.credits()
    adapter.close()
    return caught.value


@pytest.mark.parametrize(("status", "documented"), sorted(ERROR_TABLE.items()))
def test_given_documented_error_when_answered_then_kind_class_code_and_message_are_kept(
    status: int, documented: tuple[str, ErrorKind]
) -> None:
    code, kind = documented
    message = f"provider says {code}"

    error = _raised(_error(status, code, message))

    assert error.kind is kind
    expected_class = RetryableProviderError if status in RETRYABLE_STATUSES else PermanentProviderError
    assert type(error) is expected_class
    assert (error.provider, error.provider_code, error.provider_message) == ("prodvisual", code, message)
    assert error.http_status == status


def test_given_the_table_when_read_then_it_has_every_documented_status() -> None:
    assert set(ERROR_TABLE) == {400, 401, 402, 404, 413, 422, 429, 500}


def test_given_429_with_retry_after_when_mapped_then_retry_after_is_that_delay() -> None:
    error = _raised(_error(429, "rate_limited", "Too many requests", {"Retry-After": "17"}))

    assert isinstance(error, RetryableProviderError)
    assert error.retry_after == 17.0


def test_given_429_with_only_ratelimit_reset_when_mapped_then_delay_is_reset_minus_now() -> None:
    now = 1_800_000_000.0
    response = httpx.Response(
        429,
        json={"error": {"code": "rate_limited", "message": "slow down", "status": 429}},
        headers={"X-RateLimit-Reset": str(int(now) + 42)},
    )

    error = map_error(response, now=now)

    assert isinstance(error, RetryableProviderError)
    assert error.retry_after == 42.0


def test_given_500_with_ratelimit_reset_when_mapped_then_reset_is_not_taken_as_delay() -> None:
    reset = str(int(time.time()) + 50)

    error = _raised(_error(500, "server_error", "boom", {"X-RateLimit-Reset": reset}))

    assert isinstance(error, RetryableProviderError)
    assert error.retry_after is None


def test_given_non_json_error_body_when_mapped_then_status_decides_and_table_code_is_used() -> None:
    error = _raised(lambda _r: httpx.Response(413, text="<html>Request Entity Too Large</html>"))

    assert error.kind is ErrorKind.TOO_LARGE
    assert error.provider_code == "file_too_large"
    assert "Request Entity Too Large" in error.provider_message


def test_given_undocumented_5xx_when_mapped_then_it_is_a_retryable_server_error() -> None:
    error = _raised(lambda _r: httpx.Response(503, text="upstream unavailable"))

    assert isinstance(error, RetryableProviderError)
    assert error.kind is ErrorKind.SERVER_ERROR
    assert error.provider_code == "http_503"


def test_given_undocumented_status_with_documented_code_when_mapped_then_code_decides() -> None:
    error = _raised(_error(504, "server_error", "Gateway timeout"))

    assert error.kind is ErrorKind.SERVER_ERROR
    assert error.provider_message == "Gateway timeout"


def test_given_error_answer_with_ratelimit_headers_when_mapped_then_last_rate_limit_is_updated() -> None:
    adapter = _adapter(
        _error(
            429,
            "rate_limited",
            "Too many requests",
            {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1800000060"},
        )
    )

    with pytest.raises(RetryableProviderError):
        adapter.credits()

    assert adapter.last_rate_limit is not None
    assert (adapter.last_rate_limit.limit, adapter.last_rate_limit.remaining) == (60, 0)
    assert adapter.last_rate_limit.reset_at is not None
    assert adapter.last_rate_limit.reset_at.timestamp() == 1_800_000_060


def test_given_success_with_ratelimit_headers_when_called_then_last_rate_limit_is_updated() -> None:
    adapter = _adapter(
        lambda _r: httpx.Response(
            200,
            json={"credits_remaining": 5},
            headers={"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "58", "X-RateLimit-Reset": "1"},
        )
    )

    adapter.credits()

    assert adapter.last_rate_limit is not None
    assert adapter.last_rate_limit.remaining == 58


def test_given_success_that_is_not_the_documented_shape_when_parsed_then_invalid_response() -> None:
    error = _raised(lambda _r: httpx.Response(200, json={"balance": 5}))

    assert isinstance(error, PermanentProviderError)
    assert error.kind is ErrorKind.INVALID_RESPONSE
    assert "credits_remaining" in error.provider_message


def test_given_refused_connection_when_called_then_retryable_connection_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    error = _raised(refuse)

    assert isinstance(error, RetryableProviderError)
    assert error.kind is ErrorKind.CONNECTION
