"""SDK unit tests: the client against scripted answers (``httpx.MockTransport``), no network."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mediajobs_client import Client, RetryPolicy

BASE_URL = "https://api.mediajobs.test"
API_KEY = "mj_live_unit"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers requests in order and keeps every request it saw."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    def bodies(self) -> list[Any]:
        return [json.loads(request.content) if request.content else None for request in self.requests]


class Sleeps(list[float]):
    """Records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def error(status: int, code: str, message: str = "no", **extra: Any) -> httpx.Response:
    headers = extra.pop("headers", None)
    return httpx.Response(
        status, json={"error": {"code": code, "message": message, **extra}}, headers=headers
    )


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_client(script: Script, sleeps: Sleeps, **retry: Any) -> Client:
    return Client(
        BASE_URL,
        API_KEY,
        transport=httpx.MockTransport(script),
        retry=RetryPolicy(**retry),
        sleep=sleeps,
    )


JOB: dict[str, Any] = {
    "job_id": "job-1",
    "provider": "prodvisual",
    "status": "queued",
    "stage": None,
    "created_at": "2026-12-04T10:00:00Z",
    "updated_at": "2026-12-04T10:00:00Z",
    "deadline_at": "2026-12-04T11:00:00Z",
    "provider_jobs": [],
    "credits_used": None,
    "timeline": [],
    "outputs": [],
    "metadata": {},
    "links": {"self": "/v1/jobs/job-1"},
}


def job(**changes: Any) -> dict[str, Any]:
    return JOB | changes


def accepted(job_id: str = "job-1") -> httpx.Response:
    return httpx.Response(
        202, json={"job_id": job_id, "status": "queued", "links": {"self": f"/v1/jobs/{job_id}"}}
    )


def event(sequence: int, status: str, *, final: bool = False) -> dict[str, Any]:
    return {
        "job_id": "job-1",
        "sequence": sequence,
        "status": status,
        "stage": None,
        "detail": None,
        "at": "2026-12-04T10:00:00Z",
        "final": final,
    }


def stream(*events: dict[str, Any], end: bool = False) -> httpx.Response:
    """An events answer as the API writes it (``text/event-stream``, ``end`` after the final one)."""
    lines = ["retry: 1000", ""]
    for e in events:
        lines += [f"id: {e['sequence']}", "event: job.progress", f"data: {json.dumps(e)}", ""]
    if end:
        lines += [f"id: {events[-1]['sequence'] if events else 0}", "event: end", "data: {}", ""]
    return httpx.Response(
        200, text="\n".join(lines) + "\n", headers={"Content-Type": "text/event-stream; charset=utf-8"}
    )
