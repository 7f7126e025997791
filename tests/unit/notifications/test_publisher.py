"""The EventBridge side: one event per notification, source mediajobs, a detail-type per event type."""

from __future__ import annotations

import json

import pytest

from mediajobs.notifications.log import DeliveryLog
from mediajobs.notifications.models import DeliveryStatus, EventPublishError
from mediajobs.notifications.service import EventPublisher, PublishOutcome
from mediajobs.notifications.store import NotificationStore
from tests.unit.jobs.fakes import START, FakeClock
from tests.unit.notifications.conftest import TENANT, FakeEvents, FakeSfn
from tests.unit.notifications.test_notifier import MACHINE
from tests.unit.notifications.test_store import delivery

BUS = "unit-events"


@pytest.fixture
def publisher(store: NotificationStore, events: FakeEvents, clock: FakeClock) -> EventPublisher:
    return EventPublisher(store=store, events=events, bus_name=BUS, clock=clock)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("event_type", "detail_type"),
    [
        ("job.succeeded", "Job Succeeded"),
        ("job.failed", "Job Failed"),
        ("job.cancelled", "Job Cancelled"),
        ("batch.completed", "Batch Completed"),
    ],
)
def test_an_event_goes_to_the_bus_with_its_detail_type(
    publisher: EventPublisher, store: NotificationStore, events: FakeEvents, event_type: str, detail_type: str
) -> None:
    body = json.dumps({"type": event_type, "timestamp": "2026-11-22T10:00:00.000000Z", "data": {"x": 1}})
    record = delivery(event_type=event_type, body=body)
    store.create_delivery(record)

    assert publisher.publish(record.webhook_id) is PublishOutcome.PUBLISHED

    [entry] = events.entries
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"], entry["Time"]) == (
        "mediajobs",
        detail_type,
        BUS,
        START,
    )
    assert json.loads(entry["Detail"]) == {"id": record.webhook_id, "tenant_id": TENANT} | json.loads(body)


def test_an_event_without_a_webhook_url_still_goes_to_the_bus(
    publisher: EventPublisher, store: NotificationStore, events: FakeEvents
) -> None:
    record = delivery(url=None, status=DeliveryStatus.NO_WEBHOOK)
    store.create_delivery(record)

    publisher.publish(record.webhook_id)

    assert len(events.entries) == 1


def test_given_a_published_event_when_published_again_then_the_bus_gets_it_once(
    publisher: EventPublisher, store: NotificationStore, events: FakeEvents
) -> None:
    store.create_delivery(delivery())
    publisher.publish(delivery().webhook_id)

    assert publisher.publish(delivery().webhook_id) is PublishOutcome.ALREADY_PUBLISHED
    assert len(events.entries) == 1
    assert store.get_delivery(delivery().webhook_id).published_at == START


def test_given_eventbridge_refuses_the_entry_when_published_then_it_raises_for_a_retry(
    publisher: EventPublisher, store: NotificationStore, events: FakeEvents
) -> None:
    store.create_delivery(delivery())
    events.refuse = True

    with pytest.raises(EventPublishError, match="InternalFailure"):
        publisher.publish(delivery().webhook_id)
    assert store.get_delivery(delivery().webhook_id).published_at is None


def test_given_no_bus_configured_when_published_then_nothing_is_sent(
    store: NotificationStore, events: FakeEvents, clock: FakeClock
) -> None:
    store.create_delivery(delivery())
    publisher = EventPublisher(store=store, events=events, bus_name="", clock=clock)  # type: ignore[arg-type]

    assert publisher.publish(delivery().webhook_id) is PublishOutcome.NO_BUS
    assert events.entries == []


def test_given_a_published_event_when_its_delivery_is_replayed_then_the_bus_does_not_get_it_again(
    publisher: EventPublisher, store: NotificationStore, events: FakeEvents, sfn: FakeSfn, clock: FakeClock
) -> None:
    # a replay is for the webhook URL: the bus took the event once and its rules' targets had it
    store.create_delivery(delivery(status=DeliveryStatus.DELIVERED))
    publisher.publish(delivery().webhook_id)
    log = DeliveryLog(store=store, sfn=sfn, state_machine_arn=MACHINE, clock=clock)  # type: ignore[arg-type]

    log.replay(TENANT, delivery().webhook_id)

    # the replay's execution starts at PublishEvent, as every notification execution does
    assert publisher.publish(delivery().webhook_id) is PublishOutcome.ALREADY_PUBLISHED
    assert len(events.entries) == 1
    assert store.get_delivery(delivery().webhook_id).published_at == START


def test_given_an_event_that_never_reached_the_bus_when_its_delivery_is_replayed_then_it_is_published(
    store: NotificationStore, events: FakeEvents, sfn: FakeSfn, clock: FakeClock
) -> None:
    # no bus when it was first sent (the step answered no_bus): the replay's execution publishes it
    store.create_delivery(delivery(status=DeliveryStatus.DELIVERED))
    unconfigured = EventPublisher(store=store, events=events, bus_name="", clock=clock)  # type: ignore[arg-type]
    assert unconfigured.publish(delivery().webhook_id) is PublishOutcome.NO_BUS
    log = DeliveryLog(store=store, sfn=sfn, state_machine_arn=MACHINE, clock=clock)  # type: ignore[arg-type]

    log.replay(TENANT, delivery().webhook_id)
    configured = EventPublisher(store=store, events=events, bus_name=BUS, clock=clock)  # type: ignore[arg-type]

    assert configured.publish(delivery().webhook_id) is PublishOutcome.PUBLISHED
    assert json.loads(events.entries[0]["Detail"])["id"] == delivery().webhook_id
