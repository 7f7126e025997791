"""A job's timeline as numbered events: what ``job.progress`` webhooks and ``GET /v1/jobs/{id}/events`` carry.

The timeline only grows (an entry, once written, never changes), so an entry's 1-based position
is its ``sequence``: the ``id:`` of a Server-Sent Event, the ``sequence`` of a ``job.progress``
webhook, and what a client resumes after (``Last-Event-ID``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

from mediajobs.jobs.models import Job, JobStatus, TimelineEntry

#: the longest a long poll holds the request (API Gateway ends an integration at 30 s)
MAX_WAIT_SECONDS: Final = 25
#: how often a long poll re-reads the job
POLL_INTERVAL_SECONDS: Final = 0.5


class JobEvent(BaseModel):
    """One timeline entry of a job, numbered."""

    model_config = ConfigDict(extra="forbid")

    job_id: str
    sequence: Annotated[int, Field(ge=1, description="1 for the job's first entry; resume after it")]
    status: JobStatus
    stage: str | None = None
    detail: Annotated[str | None, Field(description="the provider's own status, or why the job ended")] = None
    at: datetime
    final: Annotated[bool, Field(description="the job's last event: its status is final")]


def job_event(job_id: str, sequence: int, entry: TimelineEntry) -> JobEvent:
    return JobEvent(
        job_id=job_id,
        sequence=sequence,
        status=entry.status,
        stage=entry.stage,
        detail=entry.detail,
        at=entry.at,
        final=entry.status.final,
    )


def events_after(job: Job, after: int = 0) -> list[JobEvent]:
    """The job's events whose sequence is greater than ``after``, in order."""
    start = max(after, 0)
    return [job_event(job.job_id, n, e) for n, e in enumerate(job.timeline, start=1) if n > start]


@dataclass(frozen=True)
class EventBatch:
    events: list[JobEvent]
    #: the job is final: no event follows the last one
    final: bool


def wait_for_events(
    read: Callable[[], Job],
    *,
    after: int,
    wait_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> EventBatch:
    """The events after ``after``; with none yet and the job not final, re-read the job until
    one appears or ``wait_seconds`` (at most :data:`MAX_WAIT_SECONDS`) have passed."""
    deadline = clock() + min(max(wait_seconds, 0.0), MAX_WAIT_SECONDS)
    while True:
        job = read()
        events = events_after(job, after)
        if events or job.status.final or clock() >= deadline:
            return EventBatch(events, job.status.final)
        sleep(min(POLL_INTERVAL_SECONDS, max(deadline - clock(), 0.0)))
