"""job.progress events and event filters: one delivery per timeline entry, in sequence, once."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from mediajobs.jobs.models import Job, JobStatus
from mediajobs.jobs.requests import WEBHOOK_EVENT_NAMES
from mediajobs.jobs.store import JobStore
from mediajobs.notifications.models import EVENT_TYPES
from mediajobs.notifications.progress import ProgressNotifier
from mediajobs.notifications.service import EventPublisher, Notifier
from mediajobs.notifications.signing import webhook_id
from mediajobs.notifications.store import NotificationStore
from tests.unit.jobs.fakes import START, FakeClock, new_job
from tests.unit.notifications.conftest import HOOK, TENANT, FakeEvents, FakeSfn
from tests.unit.notifications.test_notifier import MACHINE

# the notifier fixture of the final-event tests builds the same service
from tests.unit.notifications.test_notifier import notifier as notifier  # noqa: PLC0414


def running(job: Job, clock: FakeClock, *details: str) -> Job:
    """``job`` moved to running, then one timeline entry per provider status in ``details``."""
    job = job.moved_to(JobStatus.RUNNING, now=clock())
    for detail in details:
        clock.advance(1)
        job = job.add_timeline(JobStatus.RUNNING, "generate", clock(), detail=detail)
    return job


@pytest.fixture
def job(store: NotificationStore, secret: str) -> Job:
    store.configure_tenant(TENANT, secrets=[secret], default_url=HOOK, now=START)
    return new_job(uuid.uuid4().hex, tenant_id=TENANT)


def test_the_request_and_notification_event_type_lists_name_the_same_types() -> None:
    assert set(WEBHOOK_EVENT_NAMES) == set(EVENT_TYPES)


def test_given_three_timeline_entries_when_progressed_then_each_is_one_delivery_numbered_in_order(
    notifier: Notifier, store: NotificationStore, sfn: FakeSfn, job: Job, clock: FakeClock
) -> None:
    job = running(job, clock, "processing")

    ids = ProgressNotifier(notifier).job_progressed(job)

    assert ids == [webhook_id("job.progress", f"{job.job_id}#{n}") for n in (1, 2, 3)]
    records = [store.get_delivery(i) for i in ids]
    assert [r.sequence for r in records] == [1, 2, 3]
    assert [json.loads(r.body)["data"]["status"] for r in records] == ["queued", "running", "running"]
    assert json.loads(records[2].body)["data"]["detail"] == "processing"
    assert {r.event_type for r in records} == {"job.progress"}
    assert [s["name"] for s in sfn.started] == ids


def test_given_entries_notified_before_when_progressed_again_then_only_the_new_entry_is_notified(
    notifier: Notifier, store: NotificationStore, sfn: FakeSfn, job: Job, clock: FakeClock
) -> None:
    job = running(job, clock)
    ProgressNotifier(notifier).job_progressed(job)
    # another container (its own memory) sees the job after one more entry
    other = Notifier(store=store, sfn=sfn, state_machine_arn=MACHINE, job_view=notifier.job_view, clock=clock)  # type: ignore[arg-type]
    clock.advance(1)
    job = job.add_timeline(JobStatus.RUNNING, "generate", clock(), detail="completed")

    ids = ProgressNotifier(other).job_progressed(job)

    assert ids == [webhook_id("job.progress", f"{job.job_id}#3")]
    assert len(sfn.started) == 3
    assert store.progress_notified(job.job_id) == 3


def test_given_a_store_with_the_hook_when_the_job_is_written_then_its_entries_are_notified(
    notifier: Notifier, table: Any, store: NotificationStore, job: Job, clock: FakeClock
) -> None:
    jobs = JobStore(table, on_saved=ProgressNotifier(notifier).job_progressed)
    created = jobs.create(job)

    jobs.save(running(created, clock), expected_version=created.version)

    assert store.progress_notified(job.job_id) == 2
    assert store.get_delivery(webhook_id("job.progress", f"{job.job_id}#2")).sequence == 2


def test_given_a_tenant_filter_without_progress_when_progressed_then_nothing_is_recorded(
    notifier: Notifier, store: NotificationStore, sfn: FakeSfn, job: Job, clock: FakeClock
) -> None:
    store.set_events_filter(TENANT, ["job.succeeded", "job.failed"], now=START)

    ids = ProgressNotifier(notifier).job_progressed(running(job, clock))

    assert ids == []
    assert sfn.started == []
    assert store.find_delivery(webhook_id("job.progress", f"{job.job_id}#1")) is None


def test_given_a_job_filter_when_the_tenant_filters_progress_out_then_the_jobs_choice_wins(
    notifier: Notifier, store: NotificationStore, job: Job, clock: FakeClock
) -> None:
    store.set_events_filter(TENANT, ["job.succeeded"], now=START)
    spec = job.spec.model_copy(update={"webhook_events_filter": ["job.progress"]})
    job = running(job.model_copy(update={"spec": spec}), clock)

    ids = ProgressNotifier(notifier).job_progressed(job)
    final = job.moved_to(JobStatus.SUCCEEDED, now=clock())

    assert len(ids) == 2
    assert notifier.job_finished(final) is None  # job.succeeded is not among the job's choices
    assert store.find_delivery(webhook_id("job.succeeded", job.job_id)) is None


def test_given_a_filter_when_cleared_then_every_event_type_is_wanted_again(store: NotificationStore) -> None:
    store.set_events_filter(TENANT, ["job.failed"], now=START)
    assert not store.tenant_webhooks(TENANT).wants("job.progress")

    store.set_events_filter(TENANT, None, now=START)

    assert store.tenant_webhooks(TENANT).wants("job.progress")


@pytest.fixture
def bus(store: NotificationStore, events: FakeEvents, secret: str, clock: FakeClock) -> EventPublisher:
    """The event publisher, for a tenant that names no webhook URL."""
    store.configure_tenant(TENANT, secrets=[secret], default_url=None, now=START)
    return EventPublisher(store=store, events=events, bus_name="bus", clock=clock)  # type: ignore[arg-type]


def test_given_no_webhook_url_when_progressed_then_the_events_go_on_the_bus_at_once_without_executions(
    notifier: Notifier, store: NotificationStore, sfn: FakeSfn, events: FakeEvents, bus: EventPublisher
) -> None:
    job = running(new_job(uuid.uuid4().hex, tenant_id=TENANT), FakeClock(START))

    ids = ProgressNotifier(notifier, bus).job_progressed(job)

    assert sfn.started == []
    assert [(e["DetailType"], json.loads(e["Detail"])["id"]) for e in events.entries] == [
        ("Job Progress", i) for i in ids
    ]
    assert all(store.get_delivery(i).published_at is not None for i in ids)


def test_given_the_bus_refuses_a_progress_event_then_its_execution_is_started_to_retry(
    notifier: Notifier, sfn: FakeSfn, events: FakeEvents, bus: EventPublisher
) -> None:
    events.refuse = True

    ids = ProgressNotifier(notifier, bus).job_progressed(new_job(uuid.uuid4().hex, tenant_id=TENANT))

    assert [s["name"] for s in sfn.started] == ids
    assert len(ids) == 1
