"""SharedRateLimiter on moto's DynamoDB: paced slots, the daily quota, slots kept across waits."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from mediajobs.ratelimit import (
    INLINE_WAIT_SECONDS,
    SLOT_GRACE_SECONDS,
    RateLimitWaitError,
    RateRule,
    SharedRateLimiter,
    prepaid_slot,
)
from tests.support.aws import MOCK_CONFIG, REGION, create_from_template

T0 = 1_790_000_000.0  # a fixed epoch second (2026-09-22, mid-day UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def table() -> Iterator[object]:
    with mock_aws(config=MOCK_CONFIG):
        name = create_from_template(["JobsTable"])["JobsTable"]
        yield boto3.resource("dynamodb", region_name=REGION).Table(name)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def limiter(table: object, clock: Clock, **rules: RateRule) -> SharedRateLimiter:
    return SharedRateLimiter(table, rules, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]


def test_given_a_per_minute_limit_when_many_reserve_at_once_then_slots_are_evenly_spaced(
    table: object, clock: Clock
) -> None:
    rule = RateRule(per_minute=60, headroom=1.0)
    shared = limiter(table, clock, prodvisual=rule)

    slots = [shared.reserve("prodvisual") for _ in range(120)]

    assert slots[0] == T0
    assert [round(b - a, 6) for a, b in itertools.pairwise(slots)] == [1.0] * 119
    assert max(sum(1 for s in slots if start <= s < start + 60) for start in slots) == 60


def test_given_headroom_when_reserving_then_the_pace_is_that_share_of_the_limit(
    table: object, clock: Clock
) -> None:
    shared = limiter(table, clock, jogg=RateRule(per_minute=20, headroom=0.95, methods=frozenset({"POST"})))

    first, second = shared.reserve("jogg"), shared.reserve("jogg")

    assert second - first == pytest.approx(60 / (20 * 0.95), abs=1e-5)


def test_given_an_idle_queue_when_time_has_passed_then_the_next_request_goes_at_once(
    table: object, clock: Clock
) -> None:
    shared = limiter(table, clock, prodvisual=RateRule(per_minute=60, headroom=1.0))
    shared.reserve("prodvisual")
    clock.now += 30

    assert shared.reserve("prodvisual") == clock.now


def test_given_threads_reserving_together_when_done_then_no_two_share_a_slot(table: object) -> None:
    shared = SharedRateLimiter(table, {"prodvisual": RateRule(per_minute=600, headroom=1.0)})  # type: ignore[arg-type]
    slots: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(10):
            slot = shared.reserve("prodvisual")
            with lock:
                slots.append(slot)

    workers = [threading.Thread(target=take) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    ordered = sorted(slots)
    assert len(ordered) == 80
    assert min(b - a for a, b in itertools.pairwise(ordered)) >= 0.1 - 1e-5


def test_given_a_daily_quota_when_it_is_used_up_then_the_wait_is_until_the_next_utc_day(
    table: object, clock: Clock
) -> None:
    shared = limiter(table, clock, prodvisual=RateRule(per_day=3))
    for _ in range(3):
        shared.reserve("prodvisual")

    with pytest.raises(RateLimitWaitError) as refused:
        shared.reserve("prodvisual")

    midnight = (T0 // 86400 + 1) * 86400
    assert refused.value.retry_after == pytest.approx(midnight - T0)
    assert refused.value.slot is None
    clock.now = midnight + 1
    assert shared.reserve("prodvisual") == clock.now


def test_given_methods_that_do_not_count_when_requested_then_no_slot_is_taken(
    table: object, clock: Clock
) -> None:
    shared = limiter(table, clock, jogg=RateRule(per_minute=1, methods=frozenset({"POST"})))

    for _ in range(5):
        shared.before_request("jogg", "GET")
    shared.before_request("creatify", "POST")  # no rule: unlimited

    assert clock.slept == []
    assert shared.reserve("jogg") == T0


def test_given_a_slot_a_moment_away_when_a_request_goes_then_it_waits_inline(
    table: object, clock: Clock
) -> None:
    shared = limiter(table, clock, prodvisual=RateRule(per_minute=60, headroom=1.0))
    shared.reserve("prodvisual")

    shared.before_request("prodvisual", "GET")

    assert clock.slept == [pytest.approx(1.0)]


def test_given_a_job_call_and_a_far_slot_when_a_request_goes_then_the_slot_is_kept_for_it(
    table: object, clock: Clock
) -> None:
    shared = limiter(table, clock, prodvisual=RateRule(per_minute=60, headroom=1.0))
    for _ in range(10):
        shared.reserve("prodvisual")

    with prepaid_slot(None), pytest.raises(RateLimitWaitError) as waiting:
        shared.before_request("prodvisual", "POST")

    assert waiting.value.slot == pytest.approx(T0 + 10)
    assert waiting.value.retry_after == pytest.approx(10)
    # the job comes back shortly before its slot and uses it: no new reservation
    clock.now = T0 + 9
    with prepaid_slot(waiting.value.slot):
        shared.before_request("prodvisual", "POST")
    assert clock.slept == [pytest.approx(1.0)]
    assert shared.reserve("prodvisual") == pytest.approx(T0 + 11)


def test_given_a_slot_long_past_when_the_job_comes_back_then_it_reserves_a_new_one(
    table: object, clock: Clock
) -> None:
    shared = limiter(table, clock, prodvisual=RateRule(per_minute=60, headroom=1.0))
    stale = T0
    shared.reserve("prodvisual")
    clock.now = T0 + SLOT_GRACE_SECONDS + 5

    with prepaid_slot(stale):
        shared.before_request("prodvisual", "POST")

    assert shared.reserve("prodvisual") == pytest.approx(clock.now + 1)


def test_given_no_job_call_and_a_far_slot_when_a_request_goes_then_nothing_is_reserved(
    table: object, clock: Clock
) -> None:
    shared = limiter(table, clock, prodvisual=RateRule(per_minute=60, headroom=1.0))
    for _ in range(10):
        shared.reserve("prodvisual")

    with pytest.raises(RateLimitWaitError) as refused:
        shared.before_request("prodvisual", "GET")

    assert refused.value.slot is None
    assert refused.value.retry_after == pytest.approx(10)
    assert refused.value.retry_after > INLINE_WAIT_SECONDS
    assert shared.reserve("prodvisual") == pytest.approx(T0 + 10)
