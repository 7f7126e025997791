"""A tenant's delivery log: the TenantDeliveryIndex keys of a delivery record, and its listing.

Every delivery record carries ``gsi5pk`` ``DELIVERIES#<tenant>`` and ``gsi5sk``
``<created_at>#<webhook id>``, so a tenant's deliveries are one Query newest first (never a
scan); a status filter is a FilterExpression on that Query, the pages are filled up to ``limit``.
The cursor is the last listed record's sort key, bound to the tenant (:mod:`mediajobs.cursors`, as
the jobs listing's): another tenant's cursor is refused, not used as a start key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from mediajobs import cursors
from mediajobs.notifications.models import Delivery, DeliveryStatus, EventType, NotificationStoreError
from mediajobs.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _failed(exc: ClientError) -> NotificationStoreError:
    code = exc.response.get("Error", {}).get("Code", "Unknown")
    logger.error("DynamoDB request failed", extra={"operation": "query", "error_code": code})
    return NotificationStoreError(f"DynamoDB query failed: {code}")


#: a tenant's deliveries newest first: gsi5pk ``DELIVERIES#<tenant>``, gsi5sk ``<created_at>#<webhook id>``
TENANT_DELIVERY_INDEX = "TenantDeliveryIndex"
#: the attributes TenantDeliveryIndex projects (not the body: replay reads the base item)
LISTED_ATTRIBUTES = (
    "webhook_id",
    "tenant_id",
    "event_type",
    "subject_id",
    "url",
    "status",
    "attempts",
    "last_http_status",
    "last_error",
    "created_at",
    "updated_at",
    "delivered_at",
    "next_attempt_at",
    "sequence",
    "replays",
)


def listing_keys(delivery: Delivery) -> dict[str, str]:
    return {
        "gsi5pk": f"DELIVERIES#{delivery.tenant_id}",
        "gsi5sk": f"{_iso(delivery.created_at)}#{delivery.webhook_id}",
    }


class InvalidCursorError(NotificationStoreError):
    """A listing cursor this store did not hand out."""


#: a listing position: the TenantDeliveryIndex sort key (``<created_at ISO>#<webhook id>``)
LISTING_POSITION = re.compile(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(?:\+00:00|Z)#msg_[0-9A-Za-z_-]{1,64}")


def encode_cursor(tenant_id: str, position: str) -> str:
    return cursors.encode_cursor(tenant_id, position)


def decode_cursor(tenant_id: str, cursor: str) -> str:
    position = cursors.decode_cursor(tenant_id, cursor, position=LISTING_POSITION)
    if position is None:
        raise InvalidCursorError("the cursor is not one a listing of your deliveries answered")
    return position


class DeliverySummary(BaseModel):
    """A delivery as the tenant's listing shows it (what TenantDeliveryIndex projects)."""

    model_config = ConfigDict(extra="ignore")

    webhook_id: str
    tenant_id: str
    event_type: EventType
    subject_id: str
    url: str | None = None
    status: DeliveryStatus
    attempts: int = 0
    last_http_status: int | None = None
    last_error: str | None = None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None = None
    next_attempt_at: datetime | None = None
    sequence: int | None = None
    replays: int = 0


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[DeliverySummary]
    #: the cursor of the next page (``None``: this is the last one)
    next_cursor: str | None


class DeliveryListing:
    """A tenant's deliveries, newest first, through TenantDeliveryIndex."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def list_deliveries(
        self,
        tenant_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> DeliveryPage:
        """The tenant's deliveries newest first, a Query on TenantDeliveryIndex (never a scan)."""
        partition = f"DELIVERIES#{tenant_id}"
        start: dict[str, Any] | None = None
        if cursor is not None:
            position = decode_cursor(tenant_id, cursor)
            msg_id = position.rpartition("#")[2]
            start = {"pk": f"DELIVERY#{msg_id}", "sk": "DELIVERY", "gsi5pk": partition, "gsi5sk": position}
        found: list[DeliverySummary] = []
        while len(found) < limit:
            kwargs: dict[str, Any] = {
                "IndexName": TENANT_DELIVERY_INDEX,
                "KeyConditionExpression": Key("gsi5pk").eq(partition),
                "ScanIndexForward": False,
                "Limit": limit - len(found),
            }
            if status is not None:
                kwargs["FilterExpression"] = Attr("status").eq(status.value)
            if start is not None:
                kwargs["ExclusiveStartKey"] = start
            try:
                answer = self._table.query(**kwargs)
            except ClientError as exc:
                raise _failed(exc) from exc
            found += [DeliverySummary.model_validate(item) for item in answer.get("Items", [])]
            start = answer.get("LastEvaluatedKey")
            if start is None:
                break
        last = found[-1] if found and start is not None else None
        next_cursor = encode_cursor(tenant_id, f"{_iso(last.created_at)}#{last.webhook_id}") if last else None
        return DeliveryPage(found, next_cursor)
