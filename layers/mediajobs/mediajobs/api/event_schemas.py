"""Public API models of job events and the webhook delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from mediajobs.jobs.events import JobEvent
from mediajobs.notifications.models import DeliveryStatus, EventType

__all__ = ["JobEvent", "JobEventsPage", "WebhookDelivery", "WebhookDeliveryPage"]


class JobEventsPage(BaseModel):
    """The JSON form of ``GET /v1/jobs/{id}/events`` (``Accept: application/json``)."""

    job_id: str
    events: list[JobEvent]
    final: Annotated[bool, Field(description="the job is final: no event follows the last one")]
    last_event_id: Annotated[
        int, Field(description="send it back as Last-Event-ID (or ?after=) to get only later events")
    ]


class WebhookDelivery(BaseModel):
    """One webhook delivery: one event for one URL, and how its attempts went."""

    id: Annotated[str, Field(description="the webhook-id header every attempt and replay sends")]
    event_type: EventType
    subject_id: Annotated[str, Field(description="the job or batch the event is about")]
    sequence: Annotated[int | None, Field(description="job.progress: the timeline entry's sequence")] = None
    url: str | None = None
    status: DeliveryStatus
    attempts: int
    last_http_status: Annotated[int | None, Field(description="the URL's answer to the last attempt")] = None
    last_error: str | None = None
    next_attempt_at: Annotated[datetime | None, Field(description="pending: when it is tried again")] = None
    delivered_at: datetime | None = None
    replays: int
    created_at: datetime
    updated_at: datetime


class WebhookDeliveryPage(BaseModel):
    deliveries: list[WebhookDelivery]
    next_cursor: Annotated[str | None, Field(description="pass as ?cursor= for the next page")] = None
