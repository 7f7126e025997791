"""Reliability suites: many jobs on a local stack of their own, against faulty or limited sandboxes.

``make test`` runs them at a quick scale; ``make reliability`` runs the sizes the acceptance names
(``MEDIAJOBS_RELIABILITY=full``: 210 jobs under faults, a burst of 300 ProdVisual jobs at 60
requests per minute). Each test prints its figures.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from local.sample_shop import SampleShop

from tests.e2e.conftest import FINAL

FULL = os.environ.get("MEDIAJOBS_RELIABILITY", "quick") == "full"


@dataclass(frozen=True)
class Scale:
    jobs_per_provider: int
    burst_jobs: int
    burst_per_minute: int


SCALE = Scale(70, 300, 60) if FULL else Scale(10, 45, 30)


class CountingClient:
    """A client app that keeps the status of every answer it got (5xx must stay at zero)."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.statuses: Counter[int] = Counter()
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=60.0,
            event_hooks={"response": [self._count]},
        )

    def _count(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def create(self, body: dict[str, Any]) -> str:
        answer = self.http.post("/v1/jobs", json=body)
        assert answer.status_code == 202, answer.text
        return str(answer.json()["job_id"])

    def job(self, job_id: str) -> dict[str, Any]:
        answer = self.http.get(f"/v1/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def statuses_of_all(self) -> dict[str, str]:
        """Every job of the tenant and its status, through the listing (a few requests)."""
        found: dict[str, str] = {}
        cursor: str | None = None
        while True:
            params = {"limit": "100"} | ({"cursor": cursor} if cursor else {})
            answer = self.http.get("/v1/jobs", params=params)
            assert answer.status_code == 200, answer.text
            page = answer.json()
            found |= {j["job_id"]: j["status"] for j in page["jobs"]}
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    def wait_all_final(self, job_ids: list[str], timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            statuses = self.statuses_of_all()
            waiting = [j for j in job_ids if statuses.get(j) not in FINAL]
            if not waiting:
                return {j: statuses[j] for j in job_ids}
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(waiting)} jobs not final after {timeout:.0f}s: {waiting[:5]}")
            time.sleep(3)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="package")
def shop() -> Iterator[SampleShop]:
    running = SampleShop()
    yield running
    running.stop()


def report(title: str, rows: dict[str, object]) -> str:
    width = max(len(k) for k in rows)
    lines = [f"\n== {title} ==", *(f"  {k.ljust(width)}  {v}" for k, v in rows.items())]
    return "\n".join(lines)
