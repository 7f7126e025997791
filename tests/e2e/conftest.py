"""The end-to-end tier: the local stack driven through its HTTP API exactly as a client app would."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from local.sample_shop import SampleShop
from local.sandboxes.common import Sandbox
from local.stack import LocalStack, Timing

FINAL = {"succeeded", "failed", "cancelled"}
#: the e2e stack's FallbackUnreachableSeconds (the deployed default is 300)
FALLBACK_UNREACHABLE_SECONDS = 8


class Client:
    """A client app: one API key, JSON over HTTP."""

    def __init__(self, base_url: str, api_key: str | None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=30.0)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post("/v1/jobs", json=body)
        assert answer.status_code == 202, answer.text
        assert answer.headers["location"] == f"/v1/jobs/{answer.json()['job_id']}"
        return dict(answer.json())

    def job(self, job_id: str) -> dict[str, Any]:
        answer = self.http.get(f"/v1/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def wait_final(self, job_id: str, timeout: float = 90.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job["status"] in FINAL:
                return job
            time.sleep(0.25)
        raise AssertionError(f"job {job_id} not final after {timeout}s: {self.job(job_id)['status']}")

    def run(self, body: dict[str, Any], timeout: float = 90.0) -> dict[str, Any]:
        return self.wait_final(self.create(body)["job_id"], timeout)


@pytest.fixture(scope="package")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        api_port=0,
        timing=Timing(poll_initial_seconds=1, poll_max_seconds=4, job_deadline_seconds=600),
        # the burst suite (tests/reliability) proves the shared limiter against the sandbox's limit;
        # here the sandbox keeps its documented 60/min and a 429 takes the provider's Retry-After path
        parameters={
            "ProdVisualRequestsPerMinute": "6000",
            # a job with a fallback moves on after its provider stayed unreachable this long
            "FallbackUnreachableSeconds": str(FALLBACK_UNREACHABLE_SECONDS),
        },
    ) as s:
        s.add_api_key("other-tenant-key", "other-tenant")
        yield s


@pytest.fixture(scope="package")
def shop() -> Iterator[SampleShop]:
    running = SampleShop()
    yield running
    running.stop()


@pytest.fixture
def client(stack: LocalStack) -> Client:
    return Client(stack.api_url, stack.api_key)


@contextlib.contextmanager
def sandbox_settings(sandbox: Sandbox, **changes: Any) -> Iterator[None]:
    """Change a sandbox's settings (fault knobs, durations, credits) for the duration of a test."""
    before = sandbox.settings
    sandbox.settings = type(before).model_validate(before.model_dump() | changes)
    try:
        yield
    finally:
        sandbox.settings = before


FAST_CREATIFY = {
    "initializing_seconds": 0.1,
    "image_generating_seconds": 0.3,
    "video_generating_seconds": 0.4,
}
FAST_JOGG = {"pending_seconds": 0.1, "processing_seconds": 0.4, "length_scale": 0.1}
FAST_PRODVISUAL = {"pending_seconds": 0.05, "processing_seconds": 0.3}


@contextlib.contextmanager
def fast_sandboxes(stack: LocalStack) -> Iterator[None]:
    """All three providers finish in well under a second (for tests that run many jobs)."""
    assert stack.sandboxes is not None
    with contextlib.ExitStack() as changes:
        changes.enter_context(sandbox_settings(stack.sandboxes.creatify, **FAST_CREATIFY))
        changes.enter_context(sandbox_settings(stack.sandboxes.jogg, **FAST_JOGG))
        changes.enter_context(sandbox_settings(stack.sandboxes.prodvisual, **FAST_PRODVISUAL))
        yield
