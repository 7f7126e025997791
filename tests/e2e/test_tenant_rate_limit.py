"""Each tenant has its own request rate over the API: one tenant's flood leaves the others served.

The package's stack keeps the template's default rate (20 requests a second, a burst of 40), which
one client on this stack cannot exceed (the local API serves one request at a time, about 20 a
second). This module sets the rate of the running stack lower, as a redeploy with other
``ApiRequestsPerSecond``/``ApiRequestBurst`` parameters would: the functions read them from their
environment on their next cold start (``reset_service_caches``), and the default comes back after.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest
from local.stack import LocalStack, reset_service_caches

from tests.e2e.conftest import Client

PER_SECOND = 4
BURST = 8


@pytest.fixture(scope="module")
def limited(stack: LocalStack) -> Iterator[tuple[Client, Client]]:
    saved = {name: os.environ.get(name) for name in ("API_REQUESTS_PER_SECOND", "API_REQUEST_BURST")}
    os.environ.update({"API_REQUESTS_PER_SECOND": str(PER_SECOND), "API_REQUEST_BURST": str(BURST)})
    reset_service_caches()
    stack.add_api_key("flooding-tenant-key", "flooding-tenant")
    stack.add_api_key("calm-tenant-key", "calm-tenant")
    try:
        yield Client(stack.api_url, "flooding-tenant-key"), Client(stack.api_url, "calm-tenant-key")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_service_caches()


def list_jobs(client: Client) -> httpx.Response:
    return client.http.get("/v1/jobs", params={"limit": 1})


def test_given_one_tenant_flooding_the_api_when_another_calls_then_only_the_flood_is_refused(
    limited: tuple[Client, Client],
) -> None:
    flooding, calm = limited
    flood: list[httpx.Response] = []
    others: list[httpx.Response] = []
    started = time.monotonic()

    for i in range(60):
        flood.append(list_jobs(flooding))
        if i % 10 == 9:
            others.append(list_jobs(calm))
    elapsed = time.monotonic() - started

    refused = [a for a in flood if a.status_code == 429]
    admitted = [a for a in flood if a.status_code == 200]
    print(
        f"\nflood: {len(flood)} requests in {elapsed:.1f} s, {len(admitted)} admitted, "
        f"{len(refused)} refused (rate {PER_SECOND}/s, burst {BURST}); other tenant: "
        f"{sum(a.status_code == 200 for a in others)}/{len(others)} answered 200"
    )
    assert len(admitted) + len(refused) == len(flood), {a.status_code for a in flood}
    assert len(admitted) <= BURST + PER_SECOND * elapsed + 1
    assert len(admitted) >= BURST
    assert refused, "the flood was never refused"
    assert [a.status_code for a in others] == [200] * len(others)
    for answer in refused:
        error = answer.json()["error"]
        assert error["code"] == "rate_limited"
        assert error["request_id"]
        assert int(answer.headers["retry-after"]) >= 1


def test_given_a_refused_tenant_when_it_waits_retry_after_then_it_is_served_again(
    limited: tuple[Client, Client],
) -> None:
    flooding, _ = limited
    answer = list_jobs(flooding)
    while answer.status_code == 200:
        answer = list_jobs(flooding)
    assert answer.status_code == 429

    time.sleep(int(answer.headers["retry-after"]))

    assert list_jobs(flooding).status_code == 200
