"""Tenant webhook settings and delivery records in the jobs table (keys in the service docstring)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mediajobs.notifications.listing import listing_keys
from mediajobs.notifications.models import (
    DELIVERY_KEEP_SECONDS,
    MAX_SECRETS,
    Delivery,
    DeliveryNotFoundError,
    DeliveryStatus,
    EventType,
    InvalidWebhookSettingsError,
    NotificationStoreError,
    TenantWebhooks,
)
from mediajobs.notifications.signing import check_secret
from mediajobs.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def _tenant_key(tenant_id: str) -> dict[str, str]:
    return {"pk": f"TENANT#{tenant_id}", "sk": "WEBHOOKS"}


def _delivery_key(msg_id: str) -> dict[str, str]:
    return {"pk": f"DELIVERY#{msg_id}", "sk": "DELIVERY"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _progress_key(job_id: str) -> dict[str, str]:
    return {"pk": f"PROGRESS#{job_id}", "sk": "PROGRESS"}


class NotificationStore:
    """Tenant webhook settings and delivery records in the jobs table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    @property
    def table(self) -> Table:
        return self._table

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

    def set_events_filter(
        self, tenant_id: str, event_types: Sequence[EventType] | None, *, now: datetime
    ) -> TenantWebhooks:
        """The event types the tenant's webhooks carry (``None``: all)."""
        names = {"#filter": "webhook_events_filter", "#updated": "updated_at"}
        values: dict[str, Any] = {":updated": _iso(now)}
        if event_types is None:
            expression = "SET #updated = :updated REMOVE #filter"
        else:
            expression = "SET #updated = :updated, #filter = :filter"
            values[":filter"] = list(dict.fromkeys(event_types))
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
        item |= listing_keys(delivery)
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
        next_attempt_at: datetime | None = None,
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
        due = _iso(next_attempt_at) if next_attempt_at is not None else None
        optional = (("last_http_status", http_status), ("last_error", error), ("next_attempt_at", due))
        for name, value in optional:
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

    def reopen(self, delivery: Delivery, *, now: datetime) -> bool:
        """Make a delivered, failed or disabled delivery pending again with a fresh retry schedule
        (same webhook id and body); ``False`` if it is no longer in the status ``delivery`` shows."""
        try:
            self._table.update_item(
                Key=_delivery_key(delivery.webhook_id),
                UpdateExpression=(
                    "SET #status = :pending, #attempts = :zero, #updated = :now ADD #replays :one"
                    " REMOVE #next, #delivered"
                ),
                ConditionExpression="#status = :seen AND #attempts = :attempts",
                ExpressionAttributeNames={
                    "#status": "status",
                    "#attempts": "attempts",
                    "#updated": "updated_at",
                    "#replays": "replays",
                    "#next": "next_attempt_at",
                    "#delivered": "delivered_at",
                },
                ExpressionAttributeValues={
                    ":pending": DeliveryStatus.PENDING.value,
                    ":zero": 0,
                    ":one": 1,
                    ":now": _iso(now),
                    ":seen": delivery.status.value,
                    ":attempts": delivery.attempts,
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise self._failed("update_item", exc) from exc
        return True

    # -- progress events ------------------------------------------------------------------------

    def progress_notified(self, job_id: str) -> int:
        """How many of the job's timeline entries were handed to notification (0: none yet)."""
        try:
            item = self._table.get_item(Key=_progress_key(job_id), ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise self._failed("get_item", exc) from exc
        return int(str(item["notified"])) if item else 0

    def mark_progress_notified(self, job_id: str, count: int, *, now: datetime) -> None:
        """Move the job's marker up to ``count`` (never down: a slower writer changes nothing)."""
        try:
            self._table.update_item(
                Key=_progress_key(job_id),
                UpdateExpression="SET #notified = :count, #updated = :now, #expires = :expires",
                ConditionExpression="attribute_not_exists(#notified) OR #notified < :count",
                ExpressionAttributeNames={
                    "#notified": "notified",
                    "#updated": "updated_at",
                    "#expires": "expires_at",
                },
                ExpressionAttributeValues={
                    ":count": count,
                    ":now": _iso(now),
                    ":expires": int(now.timestamp()) + DELIVERY_KEEP_SECONDS,
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return
            raise self._failed("update_item", exc) from exc

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
