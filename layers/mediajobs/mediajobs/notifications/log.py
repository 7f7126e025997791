"""A tenant's delivery log: its own webhook deliveries, and replaying one.

Replaying sends the recorded event again: the same ``webhook-id`` and the same body (clients that
de-duplicate on the id see it as the event they may have missed), signed afresh at each attempt,
through a new execution of the notification state machine (named ``<webhook id>-replay-<n>``)
with a fresh retry schedule. A delivered, failed or disabled delivery can be replayed; replaying
a disabled one (its URL answered 410 Gone) enables that URL for the tenant again. A pending
delivery is still being tried, and one with no webhook URL has nothing to send: both refuse.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError

from mediajobs.errors import ConflictError, InvalidRequestError, NotFoundError, ServiceUnavailableError
from mediajobs.jobs.models import utcnow
from mediajobs.notifications.listing import DeliveryListing, DeliveryPage, InvalidCursorError
from mediajobs.notifications.models import Delivery, DeliveryStatus
from mediajobs.notifications.store import NotificationStore
from mediajobs.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient

REPLAYABLE: Final = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.DISABLED})


class UnknownDeliveryError(NotFoundError):
    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"webhook delivery {webhook_id}")


class DeliveryLog:
    def __init__(
        self,
        *,
        store: NotificationStore,
        sfn: SFNClient,
        state_machine_arn: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.listing = DeliveryListing(store.table)
        self.sfn = sfn
        self.state_machine_arn = state_machine_arn
        self.now = clock

    def list(
        self, tenant_id: str, *, status: DeliveryStatus | None, limit: int, cursor: str | None
    ) -> DeliveryPage:
        try:
            return self.listing.list_deliveries(tenant_id, status=status, limit=limit, cursor=cursor)
        except InvalidCursorError as exc:
            raise InvalidRequestError("invalid_cursor", str(exc)) from exc

    def get(self, tenant_id: str, webhook_id: str) -> Delivery:
        delivery = self.store.find_delivery(webhook_id) if webhook_id.startswith("msg_") else None
        if delivery is None or delivery.tenant_id != tenant_id:
            raise UnknownDeliveryError(webhook_id)
        return delivery

    def replay(self, tenant_id: str, webhook_id: str) -> Delivery:
        """Make the delivery pending again and start its new execution; the reopened record."""
        delivery = self.get(tenant_id, webhook_id)
        if delivery.url is None or delivery.status not in REPLAYABLE:
            raise ConflictError(
                "delivery_not_replayable",
                f"a {delivery.status.value} delivery cannot be replayed: only delivered, failed or "
                "disabled deliveries with a webhook URL can",
            )
        now = self.now()
        if delivery.status is DeliveryStatus.DISABLED:
            self.store.enable_url(tenant_id, delivery.url, now=now)
        if not self.store.reopen(delivery, now=now):
            raise ConflictError("delivery_changed", "the delivery changed during the replay; read it again")
        name = f"{webhook_id}-replay-{delivery.replays + 1}"
        task_input = json.dumps({"webhook_id": webhook_id})
        try:
            self.sfn.start_execution(stateMachineArn=self.state_machine_arn, name=name, input=task_input)
        except (ClientError, BotoCoreError) as exc:
            logger.exception("the replay's execution could not start", extra={"webhook_id": webhook_id})
            self._restore(delivery, now=now)
            raise ServiceUnavailableError(
                "replay_not_started", "the replay could not start; replay the delivery again"
            ) from exc
        logger.info("webhook delivery replayed", extra={"webhook_id": webhook_id, "replay": name})
        return self.store.get_delivery(webhook_id)

    def _restore(self, delivery: Delivery, *, now: datetime) -> None:
        """Put a reopened delivery back as it was (no execution will try it, a replay may)."""
        reopened = self.store.get_delivery(delivery.webhook_id)
        self.store.record_attempt(
            reopened,
            status=delivery.status,
            attempts=delivery.attempts,
            http_status=delivery.last_http_status,
            error=delivery.last_error,
            now=now,
        )
