"""Client notifications: a signed webhook and an EventBridge event when a job or batch is final.

Nothing here sends anything from the Lambda that reports the final state. NotifyClient calls
:meth:`Notifier.job_finished` (batches call :func:`publish`), which writes one *delivery* record
(a conditional put: the same event notified twice is recorded once) and starts one execution of
the notification state machine (``statemachine/notification.asl.json``) named after the event's
webhook id (a second start of a name is a no-op). That execution outlives the Lambda that started
it and never touches the job's own execution:

1. ``PublishEvent`` puts the event on the stack's EventBridge bus (source ``mediajobs``, a
   detail-type per event type) for AWS-native consumers, once per delivery record
   (``published_at``): a replayed delivery's execution skips it (``already_published``), since a
   replay is for the client's webhook URL and re-publishing would send every rule's targets a
   duplicate; only an event that never reached the bus (no bus then) is published by a replay;
2. ``Deliver`` POSTs it to the client's URL, signed the Standard Webhooks way, and answers
   ``done``, ``failed`` or ``retry`` after ``wait_seconds``; the state machine waits (hours if
   the schedule says so) and comes back. Every attempt sends the same ``webhook-id`` and body,
   with a fresh ``webhook-timestamp`` and signatures.

The webhook id is deterministic (``msg_`` + SHA-256 of the event type and the job or batch id;
a ``job.progress`` event adds its timeline entry's sequence, see ``notifications.progress``),
so clients de-duplicate on it. A tenant's ``webhook_events_filter`` (or the job's own) names the
event types wanted: an event of another type is neither recorded nor sent nor published.
A 2xx answer delivers; 410 Gone disables that URL for the tenant
(this and later events to it are recorded as ``disabled`` and not sent); anything else (other
statuses, redirects, which are never followed, timeouts, connection errors) is retried on the
``webhook_retry_delays`` schedule and then recorded as ``failed``. The URL is vetted with the
SSRF policy of :mod:`mediajobs.fetching` before every attempt.

Items in the jobs table (``pk`` / ``sk``):

- ``TENANT#<tenant>`` / ``WEBHOOKS``: the tenant's default URL (for jobs that name none), its one
  or two ``whsec_`` secrets (newest first; two during a rotation, when both sign and the header
  carries two ``v1,`` signatures) and the set of URLs a 410 disabled;
- ``DELIVERY#<webhook id>`` / ``DELIVERY``: one event: its URL, the exact body, status, attempts,
  last answer, the next attempt's time and when it went to EventBridge (kept 30 days,
  ``expires_at``), indexed per tenant for the delivery log (``notifications.listing``).

Size: recording, publishing and delivering are the three steps of one notification around one
delivery record; they are read together, so they stay in one module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

import httpx
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from mediajobs.fetching import FetchError, UnsafeUrlError, UrlPolicy, post_pinned
from mediajobs.jobs.models import Job, utcnow
from mediajobs.notifications.models import (
    DEFAULT_RETRY_DELAYS,
    DETAIL_TYPES,
    EVENT_SOURCE,
    JOB_EVENT_TYPES,
    USER_AGENT,
    Delivery,
    DeliveryStatus,
    EventPublishError,
    EventType,
    NotificationError,
)
from mediajobs.notifications.signing import event_body, job_event_data, signature_headers, webhook_id
from mediajobs.notifications.store import NotificationStore
from mediajobs.observability import logger, metrics, redact

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef
    from mypy_boto3_stepfunctions.client import SFNClient


# --- recording an event and starting its delivery -----------------------------------------------------


def _subject_of(event_type: str, payload: Mapping[str, Any]) -> str:
    key = "batch_id" if event_type.startswith("batch.") else "job_id"
    subject = payload.get(key)
    if not isinstance(subject, str) or not subject:
        raise NotificationError(f"a {event_type} payload carries its {key} (or pass subject_id)")
    return subject


class Notifier:
    """Records a final state's event once and starts its delivery execution (never sends itself)."""

    def __init__(
        self,
        *,
        store: NotificationStore,
        sfn: SFNClient,
        state_machine_arn: str,
        job_view: Callable[[Job], Mapping[str, Any]],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.sfn = sfn
        self.state_machine_arn = state_machine_arn
        self.job_view = job_view
        self.now = clock

    def job_finished(self, job: Job) -> str | None:
        """Notify ``job``'s final state (``job.succeeded`` / ``failed`` / ``cancelled``).

        Never raises for a notification problem: the job's execution must end as the job did. A
        failure is logged with the metric ``NotificationsNotStarted``. Returns the webhook id.
        """
        event_type = JOB_EVENT_TYPES.get(job.status)
        if event_type is None:
            logger.warning("job is not final: nothing to notify", extra={"status": job.status.value})
            return None
        try:
            return self.publish(
                event_type,
                job.tenant_id,
                job_event_data(self.job_view(job)),
                job.spec.webhook_url,
                subject_id=job.job_id,
                occurred_at=job.updated_at,
                events_filter=job.spec.webhook_events_filter,
            )
        except NotificationError:
            logger.exception("the job's notification could not be started", extra={"job_id": job.job_id})
            metrics.add_metric(name="NotificationsNotStarted", unit=MetricUnit.Count, value=1)
            return None

    def publish(
        self,
        event_type: EventType,
        tenant_id: str,
        payload: Mapping[str, Any],
        webhook_url: str | None = None,
        *,
        subject_id: str | None = None,
        occurred_at: datetime | None = None,
        sequence: int | None = None,
        events_filter: list[str] | None = None,
        start_delivery: bool = True,
    ) -> str | None:
        """Record the event (once) and start its delivery (once); returns its webhook id.

        An event type the job's ``events_filter`` (else the tenant's ``webhook_events_filter``)
        leaves out is neither recorded nor sent nor published: answers ``None``. ``sequence``
        numbers a ``job.progress`` event (its webhook id is then unique per timeline entry).

        ``webhook_url`` falls back to the tenant's default URL. ``subject_id`` (the job or batch
        id, default ``payload["job_id"]`` / ``payload["batch_id"]``) makes the webhook id, so a
        second call for the same event changes nothing: call it again whenever unsure.
        Raises NotificationError.
        """
        if event_type not in DETAIL_TYPES:
            raise NotificationError(f"unknown event type {event_type!r}")
        subject = subject_id or _subject_of(event_type, payload)
        msg_id = webhook_id(event_type, subject if sequence is None else f"{subject}#{sequence}")
        now = self.now()
        tenant = self.store.tenant_webhooks(tenant_id)
        if not tenant.wants(event_type, events_filter):
            logger.debug("event type filtered out: not recorded", extra={"event_type": event_type})
            return None
        url = webhook_url or tenant.default_url
        if url is None:
            status = DeliveryStatus.NO_WEBHOOK
        elif url in tenant.disabled_urls:
            status = DeliveryStatus.DISABLED
        else:
            status = DeliveryStatus.PENDING
        delivery = Delivery(
            webhook_id=msg_id,
            tenant_id=tenant_id,
            event_type=event_type,
            subject_id=subject,
            url=url,
            body=event_body(event_type, occurred_at or now, payload),
            occurred_at=occurred_at or now,
            status=status,
            last_error="the URL answered 410 Gone before" if status is DeliveryStatus.DISABLED else None,
            created_at=now,
            updated_at=now,
            sequence=sequence,
        )
        if self.store.create_delivery(delivery):
            logger.info(
                "notification recorded",
                extra={"webhook_id": msg_id, "event_type": event_type, "delivery_status": status.value},
            )
        else:
            logger.info("notification recorded before: not again", extra={"webhook_id": msg_id})
        if start_delivery:
            self.start_delivery(msg_id)
        return msg_id

    def start_delivery(self, msg_id: str) -> None:
        """Start the recorded event's execution (``publish`` does, unless told not to)."""
        # same name and input: a running execution is returned, a finished one refuses (both fine)
        try:
            self.sfn.start_execution(
                stateMachineArn=self.state_machine_arn, name=msg_id, input=json.dumps({"webhook_id": msg_id})
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            if code == "ExecutionAlreadyExists":
                return
            raise NotificationError(f"the notification's execution could not start: {code}") from exc
        except BotoCoreError as exc:
            raise NotificationError(f"the notification's execution could not start: {exc}") from exc


# --- EventBridge --------------------------------------------------------------------------------------


class PublishOutcome(StrEnum):
    PUBLISHED = "published"
    ALREADY_PUBLISHED = "already_published"
    NO_BUS = "no_bus"


class EventPublisher:
    """Puts a recorded event on the EventBridge bus (once per delivery record)."""

    def __init__(
        self,
        *,
        store: NotificationStore,
        events: EventBridgeClient,
        bus_name: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.events = events
        self.bus_name = bus_name
        self.now = clock

    def publish(self, msg_id: str) -> PublishOutcome:
        delivery = self.store.get_delivery(msg_id)
        if delivery.published_at is not None:
            return PublishOutcome.ALREADY_PUBLISHED
        if not self.bus_name:
            logger.warning("no event bus is configured: the event is not published")
            return PublishOutcome.NO_BUS
        # the webhook's body, with the webhook id (consumers de-duplicate on it) and the tenant
        detail = {"id": delivery.webhook_id, "tenant_id": delivery.tenant_id} | json.loads(delivery.body)
        entry: PutEventsRequestEntryTypeDef = {
            "Source": EVENT_SOURCE,
            "DetailType": DETAIL_TYPES[delivery.event_type],
            "Detail": json.dumps(detail, separators=(",", ":")),
            "EventBusName": self.bus_name,
            "Time": delivery.occurred_at,
        }
        try:
            answer = self.events.put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as exc:
            raise EventPublishError(f"EventBridge PutEvents failed: {type(exc).__name__}") from exc
        if answer.get("FailedEntryCount", 0):
            failed = answer["Entries"][0]
            raise EventPublishError(
                f"EventBridge refused the event: {failed.get('ErrorCode')}: {failed.get('ErrorMessage')}"
            )
        self.store.mark_published(msg_id, now=self.now())
        logger.info("event published", extra={"webhook_id": msg_id, "detail_type": entry["DetailType"]})
        return PublishOutcome.PUBLISHED


# --- webhook attempts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """What the state machine does after an attempt: ``done``, ``failed``, or ``retry`` later."""

    next: Literal["done", "retry", "failed"]
    status: DeliveryStatus
    wait_seconds: int = 0

    def as_dict(self) -> dict[str, str | int]:
        return {"next": self.next, "status": self.status.value, "wait_seconds": self.wait_seconds}

    @classmethod
    def finished(cls, status: DeliveryStatus) -> Attempt:
        return cls("failed" if status is DeliveryStatus.FAILED else "done", status)


@dataclass(frozen=True)
class _Outcome:
    kind: Literal["delivered", "gone", "retry", "refused"]
    http_status: int | None = None
    error: str | None = None


class WebhookDeliverer:
    """Makes one delivery attempt and records it; the state machine runs the schedule."""

    def __init__(
        self,
        *,
        store: NotificationStore,
        http: httpx.Client,
        policy: UrlPolicy,
        retry_delays: Sequence[int] = DEFAULT_RETRY_DELAYS,
        timeout_seconds: float = 10.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.http = http
        self.policy = policy
        self.retry_delays = tuple(retry_delays)
        self.timeout = httpx.Timeout(timeout_seconds)
        self.now = clock

    def attempt(self, msg_id: str) -> Attempt:
        """Send the event once, unless it is delivered, given up on, disabled or has no URL."""
        delivery = self.store.get_delivery(msg_id)
        if delivery.status is not DeliveryStatus.PENDING or delivery.url is None:
            return Attempt.finished(delivery.status)
        tenant = self.store.tenant_webhooks(delivery.tenant_id)
        number = delivery.attempts + 1
        if delivery.url in tenant.disabled_urls:
            error = "the URL answered 410 Gone before"
            return self._record(
                delivery, DeliveryStatus.DISABLED, delivery.attempts, None, error
            ) or Attempt.finished(DeliveryStatus.DISABLED)
        if tenant.secrets:
            outcome = self._send(delivery, tenant.secrets)
        else:
            # retried: an operator may set the secret (scripts/tenant_webhooks.py) in the meantime
            outcome = _Outcome("retry", error="the tenant has no webhook signing secret")
        status, wait = self._verdict(delivery, outcome, number)
        due = self.now() + timedelta(seconds=wait) if status is DeliveryStatus.PENDING else None
        earlier = self._record(
            delivery, status, number, outcome.http_status, outcome.error, next_attempt_at=due
        )
        if earlier is not None:
            return earlier
        if status is DeliveryStatus.PENDING:
            return Attempt("retry", status, wait)
        return Attempt.finished(status)

    def _verdict(self, delivery: Delivery, outcome: _Outcome, number: int) -> tuple[DeliveryStatus, int]:
        """The delivery's status after attempt ``number`` (and the wait before the next one)."""
        where = {
            "webhook_id": delivery.webhook_id,
            "attempt": number,
            "url": redact(str(delivery.url)),
            "http_status": outcome.http_status,
            "error": outcome.error,
        }
        if outcome.kind == "delivered":
            logger.info("webhook delivered", extra=where)
            return DeliveryStatus.DELIVERED, 0
        if outcome.kind == "gone":
            logger.warning("webhook URL answered 410 Gone: disabled for the tenant", extra=where)
            self.store.disable_url(delivery.tenant_id, str(delivery.url), now=self.now())
            return DeliveryStatus.DISABLED, 0
        if outcome.kind == "refused" or number > len(self.retry_delays):
            logger.warning("webhook not delivered; giving up", extra=where)
            return DeliveryStatus.FAILED, 0
        wait = self.retry_delays[number - 1]
        logger.info("webhook attempt failed; will retry", extra=where | {"wait_seconds": wait})
        return DeliveryStatus.PENDING, wait

    def _record(
        self,
        delivery: Delivery,
        status: DeliveryStatus,
        attempts: int,
        http_status: int | None,
        error: str | None,
        *,
        next_attempt_at: datetime | None = None,
    ) -> Attempt | None:
        """Write the attempt: ``None`` when written, else what the writer that came first decided."""
        if self.store.record_attempt(
            delivery,
            status=status,
            attempts=attempts,
            http_status=http_status,
            error=error,
            now=self.now(),
            next_attempt_at=next_attempt_at,
        ):
            return None
        current = self.store.get_delivery(delivery.webhook_id)
        logger.info("another attempt recorded first", extra={"delivery_status": current.status.value})
        if current.status is DeliveryStatus.PENDING:
            return Attempt("retry", DeliveryStatus.PENDING, self._wait_after(current.attempts))
        return Attempt.finished(current.status)

    def _wait_after(self, attempts: int) -> int:
        if not self.retry_delays:
            return 0
        return self.retry_delays[min(max(attempts, 1), len(self.retry_delays)) - 1]

    def _send(self, delivery: Delivery, secrets_: Sequence[str]) -> _Outcome:
        url = str(delivery.url)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **signature_headers(delivery.webhook_id, delivery.body, secrets_, self.now()),
        }
        try:
            # vetted and connected to the vetted address (no DNS rebinding), one POST, no redirect
            code = post_pinned(
                self.http,
                url,
                self.policy,
                content=delivery.body.encode(),
                headers=headers,
                timeout=self.timeout,
            )
        except UnsafeUrlError as exc:
            return _Outcome("refused", error=f"the webhook URL is not allowed: {exc}")
        except FetchError as exc:
            return _Outcome("retry", error=str(exc))
        if 200 <= code < 300:
            return _Outcome("delivered", http_status=code)
        if code == 410:
            return _Outcome("gone", http_status=code, error="the URL answered 410 Gone")
        return _Outcome("retry", http_status=code, error=f"{redact(url)} answered HTTP {code}")
