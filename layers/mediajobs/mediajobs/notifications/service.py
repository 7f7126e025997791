"""Client notifications: a signed webhook and an EventBridge event when a job or batch is final.

Nothing here sends anything from the Lambda that reports the final state. NotifyClient calls
:meth:`Notifier.job_finished` (batches call :func:`publish`), which writes one *delivery* record
(a conditional put: the same event notified twice is recorded once) and starts one execution of
the notification state machine (``statemachine/notification.asl.json``) named after the event's
webhook id (a second start of a name is a no-op). That execution outlives the Lambda that started
it and never touches the job's own execution:

1. ``PublishEvent`` puts the event on the stack's EventBridge bus (source ``mediajobs``, a
   detail-type per event type) for AWS-native consumers;
2. ``Deliver`` POSTs it to the client's URL, signed the Standard Webhooks way, and answers
   ``done``, ``failed`` or ``retry`` after ``wait_seconds``; the state machine waits (hours if
   the schedule says so) and comes back. Every attempt sends the same ``webhook-id`` and body,
   with a fresh ``webhook-timestamp`` and signatures.

The webhook id is deterministic (``msg_`` + SHA-256 of the event type and the job or batch id),
so clients de-duplicate on it. A 2xx answer delivers; 410 Gone disables that URL for the tenant
(this and later events to it are recorded as ``disabled`` and not sent); anything else (other
statuses, redirects, which are never followed, timeouts, connection errors) is retried on the
``webhook_retry_delays`` schedule and then recorded as ``failed``. The URL is vetted with the
SSRF policy of :mod:`mediajobs.fetching` before every attempt.

Items in the jobs table (``pk`` / ``sk``):

- ``TENANT#<tenant>`` / ``WEBHOOKS``: the tenant's default URL (for jobs that name none), its one
  or two ``whsec_`` secrets (newest first; two during a rotation, when both sign and the header
  carries two ``v1,`` signatures) and the set of URLs a 410 disabled;
- ``DELIVERY#<webhook id>`` / ``DELIVERY``: one event: its URL, the exact body, status, attempts,
  last answer and when it went to EventBridge (kept 30 days, ``expires_at``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import boto3
import httpx
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field
from standardwebhooks import Webhook

from mediajobs.api.schemas import JobView
from mediajobs.aws import dynamodb_table, s3_client, sfn_client
from mediajobs.config import get_settings
from mediajobs.errors import MediajobsError
from mediajobs.fetching import FetchError, UnsafeUrlError, UrlPolicy, post_pinned, redact
from mediajobs.jobs.models import Job, JobStatus, utcnow
from mediajobs.jobs.service import JobService
from mediajobs.jobs.store import JobStore
from mediajobs.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef
    from mypy_boto3_stepfunctions.client import SFNClient

EventType = Literal["job.succeeded", "job.failed", "job.cancelled", "batch.completed"]

EVENT_SOURCE: Final = "mediajobs"
#: the EventBridge detail-type of each event type
DETAIL_TYPES: Final[Mapping[str, str]] = {
    "job.succeeded": "Job Succeeded",
    "job.failed": "Job Failed",
    "job.cancelled": "Job Cancelled",
    "batch.completed": "Batch Completed",
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


# --- the event and its signature -------------------------------------------------------------------


def webhook_id(event_type: str, subject_id: str) -> str:
    """The event's ``webhook-id``: the same for every attempt, every notification, every retry."""
    digest = hashlib.sha256(f"{event_type}:{subject_id}".encode()).hexdigest()
    return f"msg_{digest[:24]}"


def generate_secret() -> str:
    """A new signing secret: ``whsec_`` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_secret(secret: str) -> str:
    """``secret`` if it is a usable ``whsec_`` secret; InvalidWebhookSettingsError otherwise."""
    if not re.fullmatch(WHSEC_PATTERN, secret):
        raise InvalidWebhookSettingsError(
            "a webhook secret is 'whsec_' followed by the base64 of at least 24 random bytes"
        )
    try:
        base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError as exc:
        raise InvalidWebhookSettingsError("the webhook secret is not valid base64 after 'whsec_'") from exc
    return secret


def signature_headers(msg_id: str, body: str, secrets_: Sequence[str], at: datetime) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (one ``v1,`` per secret)."""
    if not secrets_:
        raise NotificationError("there is no secret to sign with")
    moment = at.astimezone(UTC).replace(microsecond=0)
    signatures = " ".join(Webhook(secret).sign(msg_id, moment, body) for secret in secrets_)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signatures,
    }


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_body(event_type: str, occurred_at: datetime, data: Mapping[str, Any]) -> str:
    """The JSON text every attempt sends: ``{"type", "timestamp", "data"}``."""
    event = {"type": event_type, "timestamp": _timestamp(occurred_at), "data": data}
    return json.dumps(event, separators=(",", ":"))


def job_event_data(view: JobView) -> dict[str, Any]:
    """The job as ``GET /v1/jobs/{id}`` shows it, without presigned URLs (they expire: clients GET
    the job when they want to download)."""
    data: dict[str, Any] = view.model_dump(mode="json")
    for output in data.get("outputs", []):
        output.pop("download_url", None)
        output.pop("download_url_expires_at", None)
    return data


def parse_retry_delays(text: str) -> tuple[int, ...]:
    """``"5,30,120"`` -> ``(5, 30, 120)``: the wait before each retry (empty: no retry)."""
    return tuple(int(part) for part in text.split(",") if part.strip())


# --- records -----------------------------------------------------------------------------------------


class TenantWebhooks(BaseModel):
    """A tenant's webhook settings (an absent item reads as no URL and no secret)."""

    model_config = ConfigDict(extra="ignore")

    tenant_id: str
    default_url: str | None = None
    #: newest first; both sign during a rotation
    secrets: Annotated[list[WebhookSecret], Field(max_length=MAX_SECRETS)] = Field(default_factory=list)
    disabled_urls: set[str] = Field(default_factory=set)
    updated_at: datetime | None = None


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


class NotificationTaskInput(BaseModel):
    """What the notification state machine's tasks receive."""

    model_config = ConfigDict(extra="ignore")

    webhook_id: WebhookId


def _tenant_key(tenant_id: str) -> dict[str, str]:
    return {"pk": f"TENANT#{tenant_id}", "sk": "WEBHOOKS"}


def _delivery_key(msg_id: str) -> dict[str, str]:
    return {"pk": f"DELIVERY#{msg_id}", "sk": "DELIVERY"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class NotificationStore:
    """Tenant webhook settings and delivery records in the jobs table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    # -- tenant settings ------------------------------------------------------------------------

    def tenant_webhooks(self, tenant_id: str) -> TenantWebhooks:
        try:
            item = self._table.get_item(Key=_tenant_key(tenant_id), ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise self._failed("get_item", exc) from exc
        if not item:
            return TenantWebhooks(tenant_id=tenant_id)
        return TenantWebhooks.model_validate(item | {"tenant_id": tenant_id})

    def configure_tenant(
        self, tenant_id: str, *, secrets: Sequence[str], default_url: str | None, now: datetime
    ) -> TenantWebhooks:
        """Set the tenant's secrets (1 or 2, newest first) and default URL (``None``: none).

        Setting a default URL enables it again if a 410 had disabled it. Callers vet the URL.
        """
        if not 1 <= len(secrets) <= MAX_SECRETS:
            raise InvalidWebhookSettingsError(f"a tenant has 1 or {MAX_SECRETS} webhook secrets")
        for secret in secrets:
            check_secret(secret)
        names = {"#secrets": "secrets", "#updated": "updated_at", "#url": "default_url"}
        values: dict[str, Any] = {":secrets": list(secrets), ":updated": _iso(now)}
        expression = "SET #secrets = :secrets, #updated = :updated"
        if default_url is None:
            expression += " REMOVE #url"
        else:
            expression += ", #url = :url DELETE #disabled :urls"
            names["#disabled"] = "disabled_urls"
            values |= {":url": default_url, ":urls": {default_url}}
        self._update(_tenant_key(tenant_id), expression, names, values)
        return self.tenant_webhooks(tenant_id)

    def disable_url(self, tenant_id: str, url: str, *, now: datetime) -> None:
        """Stop sending to ``url`` for this tenant (it answered 410 Gone)."""
        self._update(
            _tenant_key(tenant_id),
            "ADD #disabled :urls SET #updated = :updated",
            {"#disabled": "disabled_urls", "#updated": "updated_at"},
            {":urls": {url}, ":updated": _iso(now)},
        )

    def enable_url(self, tenant_id: str, url: str, *, now: datetime) -> None:
        self._update(
            _tenant_key(tenant_id),
            "DELETE #disabled :urls SET #updated = :updated",
            {"#disabled": "disabled_urls", "#updated": "updated_at"},
            {":urls": {url}, ":updated": _iso(now)},
        )

    # -- deliveries -----------------------------------------------------------------------------

    def create_delivery(self, delivery: Delivery) -> bool:
        """``True`` if recorded now, ``False`` if this event was recorded before."""
        item: dict[str, Any] = json.loads(delivery.model_dump_json(exclude_none=True), parse_float=Decimal)
        item |= _delivery_key(delivery.webhook_id) | {
            "type": "delivery",
            "expires_at": int(delivery.created_at.timestamp()) + DELIVERY_KEEP_SECONDS,
        }
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise self._failed("put_item", exc) from exc
        return True

    def find_delivery(self, msg_id: str) -> Delivery | None:
        try:
            item = self._table.get_item(Key=_delivery_key(msg_id), ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise self._failed("get_item", exc) from exc
        return Delivery.model_validate(item) if item else None

    def get_delivery(self, msg_id: str) -> Delivery:
        delivery = self.find_delivery(msg_id)
        if delivery is None:
            raise DeliveryNotFoundError(msg_id)
        return delivery

    def record_attempt(
        self,
        delivery: Delivery,
        *,
        status: DeliveryStatus,
        attempts: int,
        http_status: int | None,
        error: str | None,
        now: datetime,
    ) -> bool:
        """Write an attempt's outcome if the record is still as ``delivery`` shows it (pending,
        same attempt count); ``False`` if another writer got there first."""
        names = {"#status": "status", "#attempts": "attempts", "#updated": "updated_at"}
        values: dict[str, Any] = {
            ":status": status.value,
            ":attempts": attempts,
            ":updated": _iso(now),
            ":pending": DeliveryStatus.PENDING.value,
            ":previous": delivery.attempts,
        }
        sets = ["#status = :status", "#attempts = :attempts", "#updated = :updated"]
        removes = []
        for name, value in (("last_http_status", http_status), ("last_error", error)):
            names[f"#{name}"] = name
            if value is None:
                removes.append(f"#{name}")
            else:
                sets.append(f"#{name} = :{name}")
                values[f":{name}"] = value
        if status is DeliveryStatus.DELIVERED:
            names["#delivered"] = "delivered_at"
            sets.append("#delivered = :updated")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            self._table.update_item(
                Key=_delivery_key(delivery.webhook_id),
                UpdateExpression=expression,
                ConditionExpression="#status = :pending AND #attempts = :previous",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise self._failed("update_item", exc) from exc
        return True

    def mark_published(self, msg_id: str, *, now: datetime) -> None:
        self._update(
            _delivery_key(msg_id),
            "SET #published = if_not_exists(#published, :now)",
            {"#published": "published_at"},
            {":now": _iso(now)},
            condition="attribute_exists(pk)",
        )

    # -- internals ------------------------------------------------------------------------------

    def _update(
        self,
        key: dict[str, str],
        expression: str,
        names: dict[str, str],
        values: dict[str, Any],
        *,
        condition: str | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {
            "Key": key,
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if condition is not None:
            kwargs["ConditionExpression"] = condition
        try:
            self._table.update_item(**kwargs)
        except ClientError as exc:
            raise self._failed("update_item", exc) from exc

    def _failed(self, operation: str, exc: ClientError) -> NotificationStoreError:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        logger.error("DynamoDB request failed", extra={"operation": operation, "error_code": code})
        return NotificationStoreError(f"DynamoDB {operation} failed: {code}")


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
        job_view: Callable[[Job], JobView],
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
    ) -> str:
        """Record the event (once) and start its delivery (once); returns its webhook id.

        ``webhook_url`` falls back to the tenant's default URL. ``subject_id`` (the job or batch
        id, default ``payload["job_id"]`` / ``payload["batch_id"]``) makes the webhook id, so a
        second call for the same event changes nothing: call it again whenever unsure.
        Raises NotificationError.
        """
        if event_type not in DETAIL_TYPES:
            raise NotificationError(f"unknown event type {event_type!r}")
        subject = subject_id or _subject_of(event_type, payload)
        msg_id = webhook_id(event_type, subject)
        now = self.now()
        tenant = self.store.tenant_webhooks(tenant_id)
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
        )
        if self.store.create_delivery(delivery):
            logger.info(
                "notification recorded",
                extra={"webhook_id": msg_id, "event_type": event_type, "delivery_status": status.value},
            )
        else:
            logger.info("notification recorded before: not again", extra={"webhook_id": msg_id})
        self._start(msg_id)
        return msg_id

    def _start(self, msg_id: str) -> None:
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
        earlier = self._record(delivery, status, number, outcome.http_status, outcome.error)
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
    ) -> Attempt | None:
        """Write the attempt: ``None`` when written, else what the writer that came first decided."""
        if self.store.record_attempt(
            delivery, status=status, attempts=attempts, http_status=http_status, error=error, now=self.now()
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


# --- what the functions use (built once per container) --------------------------------------------


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
    settings = get_settings()
    table = dynamodb_table(settings.jobs_table)
    jobs = JobService(
        store=JobStore(table), s3=s3_client(), sfn=sfn_client(), http=http_client(), settings=settings
    )
    return Notifier(
        store=NotificationStore(table),
        sfn=sfn_client(),
        state_machine_arn=settings.notification_state_machine_arn,
        job_view=jobs.view,
    )


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
    for cached in (events_client, http_client, notifier, event_publisher, webhook_deliverer):
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
