"""Burst: many ProdVisual jobs created at once (not a batch) against the documented rate limit.

The sandbox enforces the limit like ProdVisual does (429 past it). mediajobs' shared limiter must
keep every 60-second window of the sandbox's request log within the limit, so no request is
refused and no job fails, while still using at least 90% of the allowed rate.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from local.sample_shop import SampleShop
from local.sandboxes.prodvisual import ProdVisualSettings
from local.stack import LocalStack, Timing

from tests.reliability.conftest import SCALE, CountingClient, report

LIMIT = SCALE.burst_per_minute


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        api_port=0,
        quiet=True,
        # a job polls only if its callback is late: the burst is about the submits
        timing=Timing(poll_initial_seconds=60, poll_max_seconds=120, job_deadline_seconds=3600),
        prodvisual=ProdVisualSettings(rate_limit_per_minute=LIMIT, credits=100_000),
        parameters={"ProdVisualRequestsPerMinute": str(LIMIT)},
    ) as running:
        running.add_api_key("burst-key", "burst-tenant")
        yield running


def busiest_window(times: list[float], seconds: float = 60.0) -> int:
    """The most requests in any window of ``seconds`` (half-open, as the sandbox counts)."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_a_burst_of_prodvisual_jobs_stays_within_the_rate_limit_and_uses_it(
    stack: LocalStack, shop: SampleShop, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.sandboxes is not None
    sandbox = stack.sandboxes.prodvisual
    client = CountingClient(stack.api_url, "burst-key")
    image = shop.url("product.png")
    body = {"provider": "prodvisual", "product": {"image_url": image}, "options": {"style": "white_bg"}}
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        job_ids = list(pool.map(lambda _: client.create(body), range(SCALE.burst_jobs)))
    created_in = time.monotonic() - started
    expected_minutes = SCALE.burst_jobs / LIMIT
    statuses = client.wait_all_final(job_ids, timeout=expected_minutes * 60 * 1.5 + 180)
    took = time.monotonic() - started

    requests = [r for r in sandbox.requests if r.endpoint in sandbox.api_endpoints]
    times = [r.at for r in requests]
    refused = [r for r in requests if r.status == 429]
    span = max(times) - min(times)
    achieved = (len(times) - 1) / span * 60 if span > 0 else 0.0
    busiest = busiest_window(times)
    generations = [g for g in sandbox.generations.values() if g.batch_id is None]
    succeeded = sum(1 for s in statuses.values() if s == "succeeded")
    with capsys.disabled():
        print(
            report(
                "burst",
                {
                    "jobs created at once": f"{len(job_ids)} in {created_in:.1f}s",
                    "jobs succeeded": f"{succeeded} in {took:.0f}s",
                    "provider requests": f"{len(requests)} ({len(generations)} generations)",
                    "429 answers": len(refused),
                    "busiest 60-s window": f"{busiest} requests (limit {LIMIT})",
                    "achieved rate": f"{achieved:.1f}/min = {achieved / LIMIT:.0%} of the limit",
                    "5xx seen by the client": client.server_errors,
                },
            )
        )
    assert set(statuses.values()) == {"succeeded"}
    assert len(generations) == len(job_ids)
    assert refused == []
    assert busiest <= LIMIT
    assert achieved >= 0.9 * LIMIT
    assert client.server_errors == 0
