"""The delivery log: a tenant's own deliveries through TenantDeliveryIndex, and replaying one."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from mediajobs.errors import ConflictError, InvalidRequestError, NotFoundError, ServiceUnavailableError
from mediajobs.notifications.listing import LISTED_ATTRIBUTES, TENANT_DELIVERY_INDEX
from mediajobs.notifications.log import DeliveryLog
from mediajobs.notifications.models import Delivery, DeliveryStatus
from mediajobs.notifications.store import NotificationStore
from tests.support.aws import load_template
from tests.unit.jobs.fakes import START, FakeClock
from tests.unit.notifications.conftest import TENANT, FakeSfn
from tests.unit.notifications.test_notifier import MACHINE
from tests.unit.notifications.test_store import delivery


@pytest.fixture
def log(store: NotificationStore, sfn: FakeSfn, clock: FakeClock) -> DeliveryLog:
    return DeliveryLog(store=store, sfn=sfn, state_machine_arn=MACHINE, clock=clock)  # type: ignore[arg-type]


def recorded(store: NotificationStore, n: int, *, tenant: str = TENANT, status: DeliveryStatus) -> Delivery:
    record = delivery().model_copy(
        update={
            "webhook_id": f"msg_{n:024x}",
            "tenant_id": tenant,
            "status": status,
            "created_at": START + timedelta(seconds=n),
        }
    )
    assert store.create_delivery(record)
    return record


def test_the_index_in_the_template_projects_what_the_listing_reads() -> None:
    table = load_template().properties("JobsTable")
    [index] = [i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == TENANT_DELIVERY_INDEX]

    assert set(index["Projection"]["NonKeyAttributes"]) == set(LISTED_ATTRIBUTES)


def test_given_deliveries_of_two_tenants_when_listed_then_only_the_callers_come_newest_first_in_pages(
    store: NotificationStore, log: DeliveryLog
) -> None:
    mine = [recorded(store, n, status=DeliveryStatus.DELIVERED) for n in range(1, 6)]
    recorded(store, 9, tenant="tenant-b", status=DeliveryStatus.DELIVERED)

    first = log.list(TENANT, status=None, limit=3, cursor=None)
    second = log.list(TENANT, status=None, limit=3, cursor=first.next_cursor)

    assert [d.webhook_id for d in first.deliveries] == [d.webhook_id for d in mine[:1:-1]]
    assert [d.webhook_id for d in second.deliveries] == [d.webhook_id for d in mine[1::-1]]
    assert second.next_cursor is None


def test_given_mixed_statuses_when_listed_by_status_then_only_that_status_comes(
    store: NotificationStore, log: DeliveryLog
) -> None:
    failed = [recorded(store, n, status=DeliveryStatus.FAILED) for n in (1, 4)]
    for n in (2, 3, 5):
        recorded(store, n, status=DeliveryStatus.DELIVERED)

    page = log.list(TENANT, status=DeliveryStatus.FAILED, limit=10, cursor=None)

    assert [d.webhook_id for d in page.deliveries] == [failed[1].webhook_id, failed[0].webhook_id]


def test_a_cursor_the_listing_did_not_answer_is_an_invalid_request(log: DeliveryLog) -> None:
    with pytest.raises(InvalidRequestError):
        log.list(TENANT, status=None, limit=10, cursor="bm90LWEtY3Vyc29y")


def test_given_another_tenants_cursor_when_listed_then_invalid_cursor_and_none_of_its_deliveries(
    store: NotificationStore, log: DeliveryLog
) -> None:
    for n in range(1, 4):
        recorded(store, n, tenant="tenant-b", status=DeliveryStatus.DELIVERED)
    theirs = log.list("tenant-b", status=None, limit=1, cursor=None).next_cursor
    assert theirs is not None

    with pytest.raises(InvalidRequestError) as refused:
        log.list(TENANT, status=None, limit=10, cursor=theirs)

    assert refused.value.code == "invalid_cursor"


def test_given_a_cursor_when_its_position_is_edited_then_invalid_cursor(
    store: NotificationStore, log: DeliveryLog
) -> None:
    for n in range(1, 4):
        recorded(store, n, status=DeliveryStatus.DELIVERED)
    cursor = log.list(TENANT, status=None, limit=1, cursor=None).next_cursor
    assert cursor is not None
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    edited = base64.urlsafe_b64encode(json.dumps(payload | {"k": "anything#else"}).encode()).decode()

    with pytest.raises(InvalidRequestError) as refused:
        log.list(TENANT, status=None, limit=10, cursor=edited)

    assert refused.value.code == "invalid_cursor"


@pytest.mark.parametrize("status", [DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.DISABLED])
def test_given_a_finished_delivery_when_replayed_then_it_is_pending_with_a_new_execution(
    store: NotificationStore, log: DeliveryLog, sfn: FakeSfn, status: DeliveryStatus
) -> None:
    record = recorded(store, 1, status=status)
    if status is DeliveryStatus.DISABLED:
        store.disable_url(TENANT, str(record.url), now=START)

    reopened = log.replay(TENANT, record.webhook_id)

    assert (reopened.status, reopened.attempts, reopened.replays) == (DeliveryStatus.PENDING, 0, 1)
    assert sfn.started == [
        {"arn": MACHINE, "name": f"{record.webhook_id}-replay-1", "input": {"webhook_id": record.webhook_id}}
    ]
    assert str(record.url) not in store.tenant_webhooks(TENANT).disabled_urls
    with pytest.raises(ConflictError):  # pending again: a second replay waits for this one's outcome
        log.replay(TENANT, record.webhook_id)


@pytest.mark.parametrize("status", [DeliveryStatus.PENDING, DeliveryStatus.NO_WEBHOOK])
def test_a_pending_or_urlless_delivery_cannot_be_replayed(
    store: NotificationStore, log: DeliveryLog, sfn: FakeSfn, status: DeliveryStatus
) -> None:
    record = recorded(store, 1, status=status)

    with pytest.raises(ConflictError):
        log.replay(TENANT, record.webhook_id)
    assert sfn.started == []


def test_another_tenants_delivery_is_not_found(
    store: NotificationStore, log: DeliveryLog, sfn: FakeSfn
) -> None:
    record = recorded(store, 1, tenant="tenant-b", status=DeliveryStatus.FAILED)

    with pytest.raises(NotFoundError):
        log.replay(TENANT, record.webhook_id)
    assert store.get_delivery(record.webhook_id).status is DeliveryStatus.FAILED
    assert sfn.started == []


def test_listed_records_show_the_next_attempt_while_pending(
    store: NotificationStore, log: DeliveryLog
) -> None:
    record = recorded(store, 1, status=DeliveryStatus.PENDING)
    due = START + timedelta(seconds=30)
    store.record_attempt(
        record,
        status=DeliveryStatus.PENDING,
        attempts=1,
        http_status=500,
        error="500",
        now=START,
        next_attempt_at=due,
    )

    [listed] = log.list(TENANT, status=None, limit=5, cursor=None).deliveries

    assert (listed.attempts, listed.last_http_status, listed.next_attempt_at) == (1, 500, due)


def test_given_the_replays_execution_cannot_start_then_the_delivery_is_as_it_was_and_can_be_replayed(
    store: NotificationStore, log: DeliveryLog, sfn: FakeSfn
) -> None:
    record = recorded(store, 1, status=DeliveryStatus.FAILED)
    sfn.fail_with = "ServiceUnavailable"

    with pytest.raises(ServiceUnavailableError):
        log.replay(TENANT, record.webhook_id)
    sfn.fail_with = None
    again = log.replay(TENANT, record.webhook_id)

    assert again.status is DeliveryStatus.PENDING
    assert [s["name"] for s in sfn.started] == [f"{record.webhook_id}-replay-2"]
