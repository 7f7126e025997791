"""``jobs.wait`` follows the job's event feed, reads the job once at the end, and polls without it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mediajobs_client import AsyncClient, Client, Job, RetryPolicy, WaitTimeoutError
from mediajobs_client._waiting import EVENTS_HOLD_SECONDS, JobWait
from tests.unit.sdk.conftest import API_KEY, BASE_URL, Script, Sleeps, error, event, job, stream

JOB_PATH = "/v1/jobs/job-1"
EVENTS_PATH = "/v1/jobs/job-1/events"


class Routes:
    """Answers the job and its events from separate queues; keeps every request."""

    def __init__(self, *, jobs: list[httpx.Response], events: list[httpx.Response | Exception]) -> None:
        self.jobs = Script(*jobs)
        self.events = Script(*events)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return (self.events if request.url.path == EVENTS_PATH else self.jobs)(request)

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.url.path == path)

    @property
    def last_event_ids(self) -> list[str]:
        return [r.headers["last-event-id"] for r in self.requests if r.url.path == EVENTS_PATH]


def client_for(routes: Routes, sleeps: Sleeps, **retry: Any) -> Client:
    return Client(
        BASE_URL, API_KEY, transport=httpx.MockTransport(routes), retry=RetryPolicy(**retry), sleep=sleeps
    )


def follows_the_feed() -> Routes:
    return Routes(
        jobs=[httpx.Response(200, json=job(status="succeeded"))],
        events=[
            stream(event(1, "queued"), event(2, "running")),
            stream(),  # a long poll that ended without news
            stream(event(3, "succeeded", final=True), end=True),
        ],
    )


def test_wait_follows_the_event_feed_and_reads_the_job_once_after_its_final_event(sleeps: Sleeps) -> None:
    routes = follows_the_feed()
    client = client_for(routes, sleeps)

    final = client.jobs.wait("job-1", timeout=60)

    assert final.status == "succeeded"
    assert routes.count(JOB_PATH) == 1
    assert routes.last_event_ids == ["0", "2", "2"]
    holds = [int(r.url.params["wait"]) for r in routes.requests if r.url.path == EVENTS_PATH]
    assert all(1 <= hold <= EVENTS_HOLD_SECONDS for hold in holds)


def test_the_async_wait_follows_the_event_feed_and_reads_the_job_once_after_its_final_event() -> None:
    routes = follows_the_feed()

    async def main() -> Job:
        async def sleep(_seconds: float) -> None:
            return None

        async with AsyncClient(
            BASE_URL, API_KEY, transport=httpx.MockTransport(routes), retry=RetryPolicy(), sleep=sleep
        ) as client:
            return await client.jobs.wait("job-1", timeout=60)

    assert asyncio.run(main()).status == "succeeded"
    assert routes.count(JOB_PATH) == 1
    assert routes.last_event_ids == ["0", "2", "2"]


def test_wait_with_on_update_reads_the_job_at_the_start_and_after_each_new_event(sleeps: Sleeps) -> None:
    routes = Routes(
        jobs=[
            httpx.Response(200, json=job(status="queued")),
            httpx.Response(200, json=job(status="queued")),
            httpx.Response(200, json=job(status="running", stage="generate")),
            httpx.Response(200, json=job(status="succeeded", stage="generate")),
        ],
        events=[
            stream(event(1, "queued")),
            stream(event(2, "running")),
            stream(event(3, "succeeded", final=True), end=True),
        ],
    )
    client = client_for(routes, sleeps)
    seen: list[str] = []

    final = client.jobs.wait("job-1", on_update=lambda j: seen.append(j.status), timeout=60)

    assert final.status == "succeeded"
    # the first feed answer brought nothing the job did not already show: reported once
    assert seen == ["queued", "running", "succeeded"]
    assert (routes.count(JOB_PATH), routes.count(EVENTS_PATH)) == (4, 3)


@pytest.mark.parametrize(
    "unavailable",
    [
        error(404, "not_found", "no such route"),
        error(500, "internal_error"),
        httpx.ConnectError("connection refused"),
        httpx.Response(200, json={"events": []}),  # not an event stream
        httpx.Response(
            200,
            text="event: job.progress\ndata: {not json}\n\n",
            headers={"Content-Type": "text/event-stream"},
        ),
    ],
    ids=["404", "500", "no-connection", "json", "garbled"],
)
def test_wait_polls_the_job_when_the_event_feed_is_unavailable(
    sleeps: Sleeps, unavailable: httpx.Response | Exception
) -> None:
    routes = Routes(
        jobs=[
            httpx.Response(200, json=job(status="running")),
            httpx.Response(200, json=job(status="succeeded")),
        ],
        events=[unavailable],
    )
    client = client_for(routes, sleeps, max_retries=0)

    final = client.jobs.wait("job-1", timeout=60, poll_interval=0.25)

    assert final.status == "succeeded"
    assert routes.count(EVENTS_PATH) == 1  # never asked again once it failed
    assert routes.count(JOB_PATH) == 2
    assert sleeps == [0.25]


def test_wait_polls_the_job_when_the_event_feed_breaks_midway(sleeps: Sleeps) -> None:
    routes = Routes(
        jobs=[httpx.Response(200, json=job(status="succeeded"))],
        events=[stream(event(1, "queued")), httpx.ReadError("connection reset")],
    )
    client = client_for(routes, sleeps, max_retries=0)

    assert client.jobs.wait("job-1", timeout=60).status == "succeeded"
    assert (routes.count(EVENTS_PATH), routes.count(JOB_PATH)) == (2, 1)


def test_wait_polls_on_when_the_job_read_after_the_final_event_is_not_final_yet(sleeps: Sleeps) -> None:
    routes = Routes(
        jobs=[
            httpx.Response(200, json=job(status="archiving")),
            httpx.Response(200, json=job(status="succeeded")),
        ],
        events=[stream(event(1, "succeeded", final=True), end=True)],
    )
    client = client_for(routes, sleeps)

    assert client.jobs.wait("job-1", timeout=60).status == "succeeded"
    assert routes.count(EVENTS_PATH) == 1
    assert len(sleeps) == 1


# --- the shared decisions, on a fake clock ---------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def waiting(clock: Callable[[], float], timeout: float = 30.0) -> JobWait:
    return JobWait("job-1", timeout=timeout, poll_interval=0.5, max_poll_interval=5.0, clock=clock)


def test_each_events_request_is_held_at_most_the_time_left() -> None:
    clock = Clock()
    wait = waiting(clock, timeout=25.0)

    holds = []
    for step in (0.0, 18.0, 5.5):
        clock.now += step
        call = wait.events_call()
        assert call is not None
        assert call.params is not None
        holds.append(call.params["wait"])
    clock.now += 1.0

    assert holds == [EVENTS_HOLD_SECONDS, 7, 1]
    assert wait.events_call() is None  # under a second left: the last read is a poll


def test_an_empty_answer_that_did_not_hold_backs_off_one_that_held_does_not() -> None:
    clock = Clock()
    wait = waiting(clock)

    assert wait.events_call() is not None
    quick = wait.pause_after_events(news=False)
    assert wait.events_call() is not None
    clock.now += 10
    held = wait.pause_after_events(news=False)

    assert quick > 0
    assert held == 0


def test_the_wait_times_out_with_the_jobs_status_once_its_time_is_up() -> None:
    clock = Clock()
    wait = waiting(clock, timeout=30.0)
    running = Job.model_validate(job(status="running"))
    assert wait.poll_delay(running) > 0

    clock.now += 30

    with pytest.raises(WaitTimeoutError, match="job job-1 is still running after 30 s"):
        wait.poll_delay(running)
