"""Every documented JoggAI business code and HTTP failure maps to the right domain error."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from mediajobs.errors import (
    RETRYABLE_KINDS,
    ErrorKind,
    PermanentProviderError,
    ProviderError,
    RetryableProviderError,
)
from mediajobs.providers.http import NO_RETRY
from mediajobs.providers.jogg import (
    BUSINESS_CODE_KINDS,
    BusinessCode,
    CreateVideoFromProductRequest,
    JoggAdapter,
    map_error,
)

EXPECTED_KINDS = {
    10104: ErrorKind.NOT_FOUND,
    10105: ErrorKind.UNAUTHORIZED,
    18020: ErrorKind.INSUFFICIENT_CREDITS,
    18025: ErrorKind.FORBIDDEN,
    40000: ErrorKind.BAD_REQUEST,
    50000: ErrorKind.SERVER_ERROR,
}


def adapter_answering(handler: Callable[[httpx.Request], httpx.Response]) -> JoggAdapter:
    return JoggAdapter(
        "https://api.jogg.test", "key", "secret", retry=NO_RETRY, transport=httpx.MockTransport(handler)
    )


def envelope(code: int, msg: str, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": msg}, headers=headers)


def test_given_the_documented_codes_then_the_table_covers_every_non_zero_one() -> None:
    documented = {code.value for code in BusinessCode} - {0}

    assert set(BUSINESS_CODE_KINDS) == documented
    assert BUSINESS_CODE_KINDS == EXPECTED_KINDS


@pytest.mark.parametrize(("code", "kind"), sorted(EXPECTED_KINDS.items()))
def test_given_a_200_with_a_business_code_when_called_then_the_mapped_error_keeps_code_and_message(
    code: int, kind: ErrorKind
) -> None:
    adapter = adapter_answering(lambda _request: envelope(code, f"message for {code}"))

    with pytest.raises(ProviderError) as caught:
        adapter.get_product_video("v1")

    error = caught.value
    assert error.kind is kind
    assert error.provider == "jogg"
    assert error.provider_code == str(code)
    assert error.provider_message == f"message for {code}"
    assert error.http_status == 200
    expected_class = RetryableProviderError if kind in RETRYABLE_KINDS else PermanentProviderError
    assert isinstance(error, expected_class)


@pytest.mark.parametrize(("code", "kind"), sorted(EXPECTED_KINDS.items()))
def test_given_a_4xx_carrying_a_business_code_when_mapped_then_the_code_decides(
    code: int, kind: ErrorKind
) -> None:
    error = map_error(envelope(code, "said by jogg", status=400))

    assert error.kind is kind
    assert error.provider_code == str(code)
    assert error.http_status == 400


def test_given_a_429_with_retry_after_when_mapped_then_it_is_rate_limited_with_the_delay() -> None:
    error = map_error(envelope(429, "Too many requests", status=429, headers={"Retry-After": "17"}))

    assert isinstance(error, RetryableProviderError)
    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after == 17.0
    assert error.provider_message == "Too many requests"


def test_given_a_429_with_only_a_reset_epoch_when_mapped_then_the_delay_comes_from_it() -> None:
    response = httpx.Response(429, text="slow down", headers={"X-RateLimit-Reset": "4102444800"})

    error = map_error(response)

    assert isinstance(error, RetryableProviderError)
    assert error.retry_after is not None
    assert error.retry_after > 3600
    assert error.provider_code == "http_429"
    assert error.provider_message == "slow down"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_given_a_5xx_when_mapped_then_it_is_a_retryable_server_error(status: int) -> None:
    error = map_error(envelope(50000, "System error", status=status))

    assert isinstance(error, RetryableProviderError)
    assert error.kind is ErrorKind.SERVER_ERROR
    assert error.provider_code == "50000"
    assert error.http_status == status


def test_given_a_5xx_with_an_html_body_when_mapped_then_the_text_is_kept() -> None:
    error = map_error(httpx.Response(502, text="<html>bad gateway</html>"))

    assert error.kind is ErrorKind.SERVER_ERROR
    assert error.provider_code == "http_502"
    assert "bad gateway" in error.provider_message


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ErrorKind.BAD_REQUEST),
        (401, ErrorKind.UNAUTHORIZED),
        (403, ErrorKind.FORBIDDEN),
        (404, ErrorKind.NOT_FOUND),
    ],
)
def test_given_a_4xx_without_an_envelope_when_mapped_then_the_status_decides(
    status: int, kind: ErrorKind
) -> None:
    error = map_error(httpx.Response(status, text="nope"))

    assert error.kind is kind
    assert isinstance(error, PermanentProviderError)


@pytest.mark.parametrize(("code", "kind"), [(40013, ErrorKind.BAD_REQUEST), (50013, ErrorKind.SERVER_ERROR)])
def test_given_an_undocumented_code_in_a_200_when_called_then_its_range_decides(
    code: int, kind: ErrorKind
) -> None:
    adapter = adapter_answering(lambda _request: envelope(code, "new code"))

    with pytest.raises(ProviderError) as caught:
        adapter.get_product_video("v1")

    assert caught.value.kind is kind
    assert caught.value.provider_code == str(code)


def test_given_a_200_that_is_not_an_envelope_when_called_then_it_is_an_invalid_response() -> None:
    adapter = adapter_answering(lambda _request: httpx.Response(200, text="<html>maintenance</html>"))

    with pytest.raises(PermanentProviderError) as caught:
        adapter.get_product_video("v1")

    assert caught.value.kind is ErrorKind.INVALID_RESPONSE


def test_given_a_success_envelope_with_unexpected_data_when_called_then_it_is_an_invalid_response() -> None:
    adapter = adapter_answering(
        lambda _request: httpx.Response(200, json={"code": 0, "msg": "Success", "data": {}})
    )

    with pytest.raises(PermanentProviderError) as caught:
        adapter.get_product_video("v1")

    assert caught.value.kind is ErrorKind.INVALID_RESPONSE


def test_given_a_connection_failure_when_called_then_it_is_a_retryable_connection_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    adapter = adapter_answering(refuse)

    with pytest.raises(RetryableProviderError) as caught:
        adapter.get_product_video("v1")

    assert caught.value.kind is ErrorKind.CONNECTION


def test_given_a_server_error_on_create_video_when_called_then_it_is_not_repeated_inline() -> None:
    calls: list[str] = []

    def fail(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return envelope(50000, "System error", status=500)

    adapter = JoggAdapter("https://api.jogg.test", "key", "secret", transport=httpx.MockTransport(fail))
    adapter._http.sleep = lambda _seconds: None
    body = {
        "product_id": "p",
        "video_spec": {"length": "15"},
        "avatar": {"id": 1},
        "voice": {},
        "audio": {},
        "script": {"style": "Data", "language": "english"},
    }

    with pytest.raises(RetryableProviderError):
        adapter.create_video(CreateVideoFromProductRequest.model_validate(body))

    assert calls == ["POST"]


def test_given_a_server_error_on_the_status_read_when_called_then_it_is_retried_inline() -> None:
    answers = [
        envelope(50000, "System error", status=503),
        httpx.Response(200, json={"code": 0, "msg": "Success", "data": {"status": "pending"}}),
    ]
    adapter = JoggAdapter(
        "https://api.jogg.test", "key", "secret", transport=httpx.MockTransport(lambda _r: answers.pop(0))
    )
    adapter._http.sleep = lambda _seconds: None

    assert adapter.get_product_video("v1").status.value == "pending"
    assert answers == []
