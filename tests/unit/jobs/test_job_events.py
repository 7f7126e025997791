"""A job's timeline as numbered events, the long poll that waits for the next one, and its SSE text."""

from __future__ import annotations

from datetime import timedelta

from mediajobs.api.routes.job_events import event_stream
from mediajobs.jobs.events import MAX_WAIT_SECONDS, EventBatch, events_after, wait_for_events
from mediajobs.jobs.models import Job, JobStatus
from mediajobs_client._core import event_stream_events
from tests.unit.jobs.fakes import START, new_job

JOB_ID = "e" * 32


def running_job() -> Job:
    job = new_job(JOB_ID).moved_to(JobStatus.RUNNING, now=START + timedelta(seconds=1))
    return job.add_timeline(JobStatus.RUNNING, "generate", START + timedelta(seconds=2), detail="processing")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_events_are_numbered_from_one_and_only_later_ones_come_after_a_sequence() -> None:
    job = running_job()

    assert [e.sequence for e in events_after(job)] == [1, 2, 3]
    assert [(e.sequence, e.detail) for e in events_after(job, 2)] == [(3, "processing")]
    assert events_after(job, 3) == []


def test_given_no_new_entry_the_long_poll_rereads_until_one_is_written() -> None:
    job, clock = running_job(), Clock()
    later = job.add_timeline(JobStatus.ARCHIVING, "generate", START + timedelta(seconds=9))
    reads = iter([job, job, job, later])

    batch = wait_for_events(lambda: next(reads), after=3, wait_seconds=10, clock=clock, sleep=clock.sleep)

    assert [e.sequence for e in batch.events] == [4]
    assert batch.final is False
    assert len(clock.sleeps) == 3


def test_given_nothing_new_the_long_poll_answers_empty_at_its_deadline_capped_at_25_seconds() -> None:
    job, clock = running_job(), Clock()

    batch = wait_for_events(lambda: job, after=3, wait_seconds=600, clock=clock, sleep=clock.sleep)

    assert batch == EventBatch([], final=False)
    assert clock.now == MAX_WAIT_SECONDS


def test_a_final_job_answers_at_once_even_with_nothing_new() -> None:
    job = running_job().moved_to(JobStatus.FAILED, now=START + timedelta(seconds=5))
    clock = Clock()

    batch = wait_for_events(lambda: job, after=4, wait_seconds=20, clock=clock, sleep=clock.sleep)

    assert batch == EventBatch([], final=True)
    assert clock.sleeps == []


def test_the_sse_text_the_api_writes_is_what_the_sdk_reads_back() -> None:
    job = running_job().moved_to(JobStatus.SUCCEEDED, now=START + timedelta(seconds=5))
    batch = EventBatch(events_after(job, 1), final=True)

    text = event_stream(batch, after=1)
    events, ended = event_stream_events(text)

    assert text.startswith("retry: ")
    assert "id: 2\nevent: job.progress\ndata: {" in text
    assert text.endswith("id: 4\nevent: end\ndata: {}\n\n")
    assert [e.sequence for e in events] == [2, 3, 4]
    assert events[-1].status == "succeeded"
    assert events[-1].final
    assert ended


def test_an_open_feed_has_no_end_event() -> None:
    events, ended = event_stream_events(event_stream(EventBatch(events_after(running_job()), final=False), 0))

    assert [e.sequence for e in events] == [1, 2, 3]
    assert not ended
