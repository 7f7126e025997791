"""Client notifications' records: event types, tenant webhook settings, deliveries; their errors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from mediajobs.errors import MediajobsError
from mediajobs.jobs.models import JobStatus

EventType = Literal["job.succeeded", "job.failed", "job.cancelled", "batch.completed", "job.progress"]
#: every event type a tenant or a job may choose in ``webhook_events_filter``
EVENT_TYPES: Final[tuple[EventType, ...]] = (
    "job.progress",
    "job.succeeded",
    "job.failed",
    "job.cancelled",
    "batch.completed",
)

EVENT_SOURCE: Final = "mediajobs"
#: the EventBridge detail-type of each event type
DETAIL_TYPES: Final[Mapping[str, str]] = {
    "job.succeeded": "Job Succeeded",
    "job.failed": "Job Failed",
    "job.cancelled": "Job Cancelled",
    "batch.completed": "Batch Completed",
    "job.progress": "Job Progress",
}
JOB_EVENT_TYPES: Final[Mapping[JobStatus, EventType]] = {
    JobStatus.SUCCEEDED: "job.succeeded",
    JobStatus.FAILED: "job.failed",
    JobStatus.CANCELLED: "job.cancelled",
}
WEBHOOK_ID_PATTERN: Final = r"^msg_[0-9a-f]{24}$"
#: ``whsec_`` and the base64 of at least 24 random bytes (what :func:`generate_secret` makes)
WHSEC_PATTERN: Final = r"^whsec_[A-Za-z0-9+/]{32,256}={0,2}$"
MAX_SECRETS: Final = 2
DEFAULT_RETRY_DELAYS: Final = (5, 30, 120, 600, 1800, 3600, 7200)
USER_AGENT: Final = "mediajobs-webhooks/1.0"
DELIVERY_KEEP_SECONDS: Final = 30 * 86400

WebhookSecret = Annotated[str, Field(pattern=WHSEC_PATTERN)]
WebhookId = Annotated[str, Field(pattern=WEBHOOK_ID_PATTERN)]


# --- errors -----------------------------------------------------------------------------------------


class NotificationError(MediajobsError):
    """A notification could not be recorded, started, published or delivered."""


class NotificationStoreError(NotificationError):
    """DynamoDB refused or failed a request."""


class DeliveryNotFoundError(NotificationError):
    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"no notification {webhook_id} is recorded")
        self.webhook_id = webhook_id


class EventPublishError(NotificationError):
    """EventBridge did not take the event (retryable: the state machine tries again)."""


class InvalidWebhookSettingsError(NotificationError):
    """Tenant webhook settings that must not be stored (bad secret, unsafe URL...)."""


# --- records -----------------------------------------------------------------------------------------


class TenantWebhooks(BaseModel):
    """A tenant's webhook settings (an absent item reads as no URL and no secret)."""

    model_config = ConfigDict(extra="ignore")

    tenant_id: str
    default_url: str | None = None
    #: newest first; both sign during a rotation
    secrets: Annotated[list[WebhookSecret], Field(max_length=MAX_SECRETS)] = Field(default_factory=list)
    disabled_urls: set[str] = Field(default_factory=set)
    #: the event types the tenant wants (``None``: all of them); a job's own filter comes first
    webhook_events_filter: list[EventType] | None = None
    updated_at: datetime | None = None

    def wants(self, event_type: str, job_filter: list[str] | None = None) -> bool:
        """Whether ``event_type`` is delivered: the job's filter if it has one, else the tenant's."""
        chosen = job_filter if job_filter is not None else self.webhook_events_filter
        return chosen is None or event_type in chosen


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    #: every attempt failed, or the URL is not one mediajobs may call
    FAILED = "failed"
    #: the URL answered 410 Gone (now or for an earlier event): not sent
    DISABLED = "disabled"
    #: neither the job nor the tenant names a URL: EventBridge only
    NO_WEBHOOK = "no_webhook"


class Delivery(BaseModel):
    """One event for one client: what is sent on every attempt, and how the attempts went."""

    model_config = ConfigDict(extra="ignore")

    webhook_id: str
    tenant_id: str
    event_type: EventType
    subject_id: str
    url: str | None = None
    body: str
    occurred_at: datetime
    status: DeliveryStatus
    attempts: Annotated[int, Field(ge=0)] = 0
    last_http_status: int | None = None
    last_error: str | None = None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None = None
    published_at: datetime | None = None
    #: ``job.progress``: the timeline entry's sequence number (1 for the first entry of the job)
    sequence: Annotated[int, Field(ge=1)] | None = None
    #: when the next attempt is due while the delivery is pending after a failed attempt
    next_attempt_at: datetime | None = None
    #: how many times the delivery was replayed (POST /v1/webhook-deliveries/{id}/replay)
    replays: Annotated[int, Field(ge=0)] = 0


class NotificationTaskInput(BaseModel):
    """What the notification state machine's tasks receive."""

    model_config = ConfigDict(extra="ignore")

    webhook_id: WebhookId
