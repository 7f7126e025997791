"""Creatify error responses (DRF shapes) become the right domain errors."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mediajobs.errors import ErrorKind, PermanentProviderError, ProviderError, RetryableProviderError
from mediajobs.providers.creatify import STATUS_KINDS, CreatifyAdapter, GenImageRequest, map_error
from mediajobs.providers.http import NO_RETRY, RetryPolicy

TASK_ID = "7e5e8a6f-d0d5-4736-b390-03e696ffc969"
Handler = Callable[[httpx.Request], httpx.Response]

# (status, DRF body, kind, retryable)
TABLE: list[tuple[int, dict[str, Any], ErrorKind, bool]] = [
    (400, {"detail": "Bad request."}, ErrorKind.BAD_REQUEST, False),
    (401, {"detail": "Incorrect authentication credentials."}, ErrorKind.UNAUTHORIZED, False),
    (402, {"detail": "You do not have enough credits."}, ErrorKind.INSUFFICIENT_CREDITS, False),
    (403, {"detail": "You do not have permission to perform this action."}, ErrorKind.FORBIDDEN, False),
    (404, {"detail": "No ProductToVideo matches the given query."}, ErrorKind.NOT_FOUND, False),
    (408, {"detail": "Request timed out."}, ErrorKind.TIMEOUT, True),
    (413, {"detail": "Request entity too large."}, ErrorKind.TOO_LARGE, False),
    (429, {"detail": "Request was throttled."}, ErrorKind.RATE_LIMITED, True),
    (500, {"detail": "A server error occurred."}, ErrorKind.SERVER_ERROR, True),
    (502, {"detail": "Bad gateway."}, ErrorKind.SERVER_ERROR, True),
    (503, {"detail": "Service unavailable."}, ErrorKind.SERVER_ERROR, True),
    (504, {"detail": "Gateway timeout."}, ErrorKind.SERVER_ERROR, True),
]


def adapter_answering(handler: Handler) -> CreatifyAdapter:
    return CreatifyAdapter(
        "https://api.creatify.test", "id", "key", retry=NO_RETRY, transport=httpx.MockTransport(handler)
    )


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Handler:
    def handle(_: httpx.Request) -> httpx.Response:
        if isinstance(body, (dict, list)):
            return httpx.Response(status, json=body, headers=headers)
        return httpx.Response(status, text=body or "", headers=headers)

    return handle


def error_from_get(status: int, body: Any = None, headers: dict[str, str] | None = None) -> ProviderError:
    adapter = adapter_answering(answer(status, body, headers))
    with pytest.raises(ProviderError) as caught:
        adapter.get(TASK_ID)
    return caught.value


def test_given_the_status_table_then_every_entry_is_exercised_by_the_table_test() -> None:
    assert set(STATUS_KINDS) == {status for status, *_ in TABLE}


@pytest.mark.parametrize(("status", "body", "kind", "retryable"), TABLE)
def test_given_a_drf_error_status_when_calling_creatify_then_it_maps_to_its_kind(
    status: int, body: dict[str, Any], kind: ErrorKind, retryable: bool
) -> None:
    error = error_from_get(status, body)

    assert error.kind is kind
    assert isinstance(error, RetryableProviderError if retryable else PermanentProviderError)
    assert error.provider == "creatify"
    assert error.provider_code == str(status)
    assert error.provider_message == body["detail"]
    assert error.http_status == status


def test_given_drf_field_errors_when_mapped_then_the_message_names_each_field() -> None:
    body = {
        "product_url": ["Ensure this field has no more than 200 characters."],
        "aspect_ratio": ['"4x3" is not a valid choice.'],
    }

    error = error_from_get(400, body)

    assert error.kind is ErrorKind.BAD_REQUEST
    assert error.provider_message == (
        "product_url: Ensure this field has no more than 200 characters.; "
        'aspect_ratio: "4x3" is not a valid choice.'
    )


def test_given_drf_non_field_errors_when_mapped_then_the_message_is_the_bare_error() -> None:
    error = error_from_get(400, {"non_field_errors": ["A video can only be generated from image_generated."]})

    assert error.provider_message == "A video can only be generated from image_generated."


def test_given_a_bare_drf_error_list_when_mapped_then_the_messages_are_joined() -> None:
    error = error_from_get(400, ["first problem", "second problem"])

    assert error.provider_message == "first problem; second problem"


def test_given_a_body_with_a_code_when_mapped_then_the_code_is_kept_as_provider_code() -> None:
    error = error_from_get(402, {"detail": "Not enough credits.", "code": "insufficient_credits"})

    assert (error.provider_code, error.provider_message) == ("insufficient_credits", "Not enough credits.")


def test_given_a_non_json_gateway_page_when_mapped_then_its_text_is_the_message() -> None:
    error = error_from_get(502, "<html>Bad Gateway</html>")

    assert error.kind is ErrorKind.SERVER_ERROR
    assert error.provider_message == "<html>Bad Gateway</html>"


@pytest.mark.parametrize(("status", "kind"), [(418, ErrorKind.BAD_REQUEST), (599, ErrorKind.SERVER_ERROR)])
def test_given_an_unlisted_status_when_mapped_then_its_class_decides_the_kind(
    status: int, kind: ErrorKind
) -> None:
    error = map_error(httpx.Response(status, json={"detail": "odd"}))

    assert error.kind is kind


def test_given_a_429_with_retry_after_seconds_when_mapped_then_the_delay_is_kept() -> None:
    error = error_from_get(429, {"detail": "Request was throttled."}, {"Retry-After": "7"})

    assert isinstance(error, RetryableProviderError)
    assert error.retry_after == 7.0


def test_given_a_429_with_x_ratelimit_reset_when_mapped_then_the_delay_runs_to_the_reset() -> None:
    reset = int(time.time()) + 30

    error = error_from_get(429, {"detail": "Request was throttled."}, {"X-RateLimit-Reset": str(reset)})

    assert isinstance(error, RetryableProviderError)
    assert error.retry_after is not None
    assert 25 <= error.retry_after <= 30


def test_given_a_503_with_retry_after_when_mapped_then_the_delay_is_kept() -> None:
    error = error_from_get(503, {"detail": "Down for maintenance."}, {"Retry-After": "12"})

    assert isinstance(error, RetryableProviderError)
    assert error.retry_after == 12.0


def test_given_a_500_without_retry_after_when_mapped_then_no_delay_is_imposed() -> None:
    error = error_from_get(500, {"detail": "A server error occurred."})

    assert isinstance(error, RetryableProviderError)
    assert error.retry_after is None


def test_given_a_short_throttle_then_success_when_getting_then_the_read_is_retried_inline() -> None:
    answers = [
        httpx.Response(429, json={"detail": "Request was throttled."}, headers={"Retry-After": "0"}),
        httpx.Response(
            200,
            json={
                "id": TASK_ID,
                "product_url": "https://e.example/p.jpg",
                "status": "initializing",
                "created_at": "2025-05-30T04:11:05.449603-07:00",
                "updated_at": "2025-05-30T04:11:05.449603-07:00",
            },
        ),
    ]
    calls: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return answers.pop(0)

    adapter = CreatifyAdapter(
        "https://api.creatify.test",
        "id",
        "key",
        retry=RetryPolicy(max_attempts=2),
        transport=httpx.MockTransport(handle),
    )

    task = adapter.get(TASK_ID)

    assert str(task.id) == TASK_ID
    assert len(calls) == 2


def test_given_a_server_error_on_gen_image_when_submitting_then_it_is_not_repeated() -> None:
    # a repeated gen_image could create a second, billed task
    calls: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500, json={"detail": "A server error occurred."})

    adapter = CreatifyAdapter(
        "https://api.creatify.test",
        "id",
        "key",
        retry=RetryPolicy(max_attempts=3, base_delay=0.0),
        transport=httpx.MockTransport(handle),
    )

    with pytest.raises(RetryableProviderError):
        adapter.gen_image(GenImageRequest(product_url="https://e.example/p.jpg"))
    assert len(calls) == 1
    assert json.loads(calls[0].content) == {"product_url": "https://e.example/p.jpg"}
