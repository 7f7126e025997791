"""Retries: which answers are retried, how long the client waits, and the Idempotency-Key it keeps."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from mediajobs_client import APIConnectionError, RateLimitedError, RetryPolicy, ServerError
from mediajobs_client._core import retry_after_seconds
from tests.unit.sdk.conftest import Script, Sleeps, accepted, error, job, make_client

SPEC = {
    "provider": "prodvisual",
    "product": {"image_url": "https://shop.test/p.png"},
    "options": {"style": "x"},
}


def test_given_a_429_with_retry_after_when_creating_then_the_client_waits_that_long_and_retries(
    sleeps: Sleeps,
) -> None:
    script = Script(error(429, "rate_limited", headers={"Retry-After": "3"}), accepted())
    client = make_client(script, sleeps)

    created = client.jobs.create(**SPEC)

    assert created.job_id == "job-1"
    assert len(script.requests) == 2
    assert len(sleeps) == 1
    assert 3.0 <= sleeps[0] <= 3.3  # Retry-After, plus at most 10% jitter


def test_given_a_retry_after_beyond_the_cap_when_retrying_then_the_wait_is_capped(sleeps: Sleeps) -> None:
    script = Script(
        error(503, "provider_unavailable", headers={"Retry-After": "600"}), httpx.Response(200, json=job())
    )
    client = make_client(script, sleeps, max_delay=8.0)

    client.jobs.get("job-1")

    assert sleeps == [8.0]


def test_given_a_retry_after_as_an_http_date_then_it_is_read_as_the_seconds_until_then() -> None:
    now = datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC)
    headers = httpx.Headers({"Retry-After": format_datetime(now + timedelta(seconds=7), usegmt=True)})

    assert retry_after_seconds(headers, now=now) == 7.0
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"})) is None


def test_given_retries_of_one_create_then_every_attempt_sends_the_same_idempotency_key(
    sleeps: Sleeps,
) -> None:
    script = Script(
        error(503, "unavailable"),
        httpx.ReadTimeout("the answer was lost"),
        error(409, "request_in_progress", headers={"Retry-After": "1"}),
        accepted(),
    )
    client = make_client(script, sleeps)

    client.jobs.create(**SPEC)

    keys = [request.headers.get("idempotency-key") for request in script.requests]
    assert len(keys) == 4
    assert keys[0] is not None
    assert len(set(keys)) == 1
    assert script.bodies()[0] == script.bodies()[3] == SPEC
    assert 1.0 <= sleeps[2] <= 1.1  # the in-progress answer's Retry-After


def test_given_two_creates_then_each_has_its_own_idempotency_key(sleeps: Sleeps) -> None:
    script = Script(accepted("job-1"), accepted("job-2"))
    client = make_client(script, sleeps)

    client.jobs.create(**SPEC)
    client.jobs.create(**SPEC)

    first, second = (request.headers["idempotency-key"] for request in script.requests)
    assert first != second


def test_given_a_caller_key_then_it_is_the_one_sent(sleeps: Sleeps) -> None:
    script = Script(accepted())
    client = make_client(script, sleeps)

    client.jobs.create(**SPEC, idempotency_key="order-42-hero-shot")

    assert script.requests[0].headers["idempotency-key"] == "order-42-hero-shot"


def test_given_a_5xx_on_a_post_without_a_key_then_it_is_not_sent_again(sleeps: Sleeps) -> None:
    script = Script(error(502, "provider_error"))
    client = make_client(script, sleeps)

    with pytest.raises(ServerError) as raised:
        client.jobs.regenerate("job-1", style="white_bg")

    assert len(script.requests) == 1  # a second regenerate could make a second job
    assert raised.value.status == 502
    assert sleeps == []


def test_given_a_refused_connection_on_a_post_without_a_key_then_it_is_retried(sleeps: Sleeps) -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(200, json=job(status="cancelled")))
    client = make_client(script, sleeps)

    cancelled = client.jobs.cancel("job-1")

    assert cancelled.status == "cancelled"
    assert len(script.requests) == 2


def test_given_429_on_every_attempt_then_rate_limited_is_raised_with_its_retry_after(sleeps: Sleeps) -> None:
    script = Script(*(error(429, "rate_limited", headers={"Retry-After": "2"}) for _ in range(3)))
    client = make_client(script, sleeps, max_retries=2)

    with pytest.raises(RateLimitedError) as raised:
        client.jobs.get("job-1")

    assert len(script.requests) == 3
    assert raised.value.retry_after == 2.0
    assert raised.value.code == "rate_limited"


def test_given_transport_errors_on_every_attempt_then_a_connection_error_is_raised(sleeps: Sleeps) -> None:
    script = Script(*(httpx.ConnectError("refused") for _ in range(3)))
    client = make_client(script, sleeps, max_retries=2)

    with pytest.raises(APIConnectionError, match="ConnectError"):
        client.providers.list()

    assert len(script.requests) == 3


def test_without_retry_after_the_waits_grow_with_jitter_and_stay_under_the_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0, rng=random.Random(7))

    waits = [policy.delay(attempt, None) for attempt in range(6)]

    ceilings = [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True)), waits
    assert len(set(waits)) == len(waits)  # jittered, not a fixed ladder
