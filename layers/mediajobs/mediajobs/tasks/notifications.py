"""The client-notification tasks' services, built once per container, and ``publish`` for any function."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
import httpx
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config

from mediajobs.aws import dynamodb_table, s3_client, sfn_client
from mediajobs.config import get_settings
from mediajobs.fetching import UrlPolicy
from mediajobs.jobs.service import JobService
from mediajobs.jobs.store import JobStore
from mediajobs.notifications.models import (
    DeliveryStatus,
    EventType,
    NotificationError,
    NotificationTaskInput,
)
from mediajobs.notifications.progress import ProgressNotifier
from mediajobs.notifications.service import EventPublisher, Notifier, PublishOutcome, WebhookDeliverer
from mediajobs.notifications.signing import parse_retry_delays
from mediajobs.notifications.store import NotificationStore
from mediajobs.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient

__all__ = [
    "DeliveryStatus",
    "NotificationTaskInput",
    "PublishOutcome",
    "clear_caches",
    "event_publisher",
    "notifier",
    "progress_notifier",
    "publish",
    "webhook_deliverer",
]

_EVENTS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10)


@functools.cache
def events_client() -> EventBridgeClient:
    return boto3.client("events", config=_EVENTS_CONFIG)


@functools.cache
def http_client() -> httpx.Client:
    """Carries no credentials and follows no redirects (each delivery sets its own timeout)."""
    return httpx.Client(follow_redirects=False, timeout=httpx.Timeout(get_settings().webhook_timeout_seconds))


@functools.cache
def notifier() -> Notifier:
    # the API's view models are built only where a job notification is recorded, not at every
    # task's cold start
    from mediajobs.api.views import present  # noqa: PLC0415

    settings = get_settings()
    table = dynamodb_table(settings.jobs_table)
    jobs = JobService(
        store=JobStore(table), s3=s3_client(), sfn=sfn_client(), http=http_client(), settings=settings
    )
    return Notifier(
        store=NotificationStore(table),
        sfn=sfn_client(),
        state_machine_arn=settings.notification_state_machine_arn,
        job_view=lambda job: present(jobs, job).model_dump(mode="json"),
    )


@functools.cache
def progress_notifier() -> ProgressNotifier:
    return ProgressNotifier(notifier(), event_publisher())


@functools.cache
def event_publisher() -> EventPublisher:
    settings = get_settings()
    return EventPublisher(
        store=NotificationStore(dynamodb_table(settings.jobs_table)),
        events=events_client(),
        bus_name=settings.event_bus_name,
    )


@functools.cache
def webhook_deliverer() -> WebhookDeliverer:
    settings = get_settings()
    return WebhookDeliverer(
        store=NotificationStore(dynamodb_table(settings.jobs_table)),
        http=http_client(),
        policy=UrlPolicy(allow_loopback=settings.allow_loopback_urls),
        retry_delays=parse_retry_delays(settings.webhook_retry_delays),
        timeout_seconds=settings.webhook_timeout_seconds,
    )


def clear_caches() -> None:
    """Forget the clients and services above (the local stack starts several in one process)."""
    for cached in (
        events_client,
        http_client,
        notifier,
        progress_notifier,
        event_publisher,
        webhook_deliverer,
    ):
        cached.cache_clear()


def publish(
    event_type: EventType,
    tenant_id: str,
    payload: Mapping[str, Any],
    webhook_url: str | None = None,
    *,
    subject_id: str | None = None,
    occurred_at: datetime | None = None,
) -> str | None:
    """Notify an event (e.g. ``batch.completed``) from any function: fire and forget.

    Like :meth:`Notifier.publish` (same arguments, idempotent per event type and subject), but a
    failure is logged (metric ``NotificationsNotStarted``) and answers ``None`` instead of raising.
    The calling function needs ``NOTIFICATION_STATE_MACHINE_ARN`` and ``states:StartExecution``.
    """
    try:
        return notifier().publish(
            event_type, tenant_id, payload, webhook_url, subject_id=subject_id, occurred_at=occurred_at
        )
    except NotificationError:
        logger.exception("the notification could not be started", extra={"event_type": event_type})
        metrics.add_metric(name="NotificationsNotStarted", unit=MetricUnit.Count, value=1)
        return None
