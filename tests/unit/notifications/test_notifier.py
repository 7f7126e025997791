"""Notifying a final state: recorded once, one execution named after the webhook id, never a failed job."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import httpx
import pytest

from mediajobs.api.views import present
from mediajobs.config import Settings
from mediajobs.jobs.models import Job, JobStatus, StoredOutput
from mediajobs.jobs.service import JobService
from mediajobs.jobs.store import JobStore
from mediajobs.notifications.models import DeliveryStatus, NotificationError
from mediajobs.notifications.service import Notifier
from mediajobs.notifications.signing import generate_secret, webhook_id
from mediajobs.notifications.store import NotificationStore
from mediajobs.providers.base import OutputKind
from tests.support.aws import REGION
from tests.unit.jobs.fakes import START, FakeClock, new_job
from tests.unit.notifications.conftest import HOOK, TENANT, FakeSfn

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:unit-notification"
JOB_HOOK = "https://client.example.com/jobs-hook"


@pytest.fixture
def notifier(table: Any, store: NotificationStore, sfn: FakeSfn, clock: FakeClock) -> Notifier:
    settings = Settings(jobs_table=table.name, media_bucket="media", state_machine_arn="unused")
    jobs = JobService(
        store=JobStore(table),
        s3=boto3.client("s3", region_name=REGION),
        sfn=sfn,  # type: ignore[arg-type]
        http=httpx.Client(),
        settings=settings,
        clock=clock,
    )
    return Notifier(
        store=store,
        sfn=sfn,  # type: ignore[arg-type]
        state_machine_arn=MACHINE,
        job_view=lambda job: present(jobs, job).model_dump(mode="json"),
        clock=clock,
    )


def final(status: JobStatus = JobStatus.SUCCEEDED, *, webhook_url: str | None = JOB_HOOK) -> Job:
    job = new_job(uuid.uuid4().hex)
    output = StoredOutput(
        kind=OutputKind.IMAGE,
        stage="generate",
        s3_key=f"outputs/{job.job_id}/image.png",
        content_type="image/png",
        bytes=10,
        sha256="0" * 64,
    )
    return job.model_copy(
        update={
            "status": status,
            "spec": job.spec.model_copy(update={"webhook_url": webhook_url}),
            "outputs": [output] if status is JobStatus.SUCCEEDED else [],
        }
    )


def test_given_a_succeeded_job_when_notified_then_one_delivery_is_recorded_and_its_execution_started(
    notifier: Notifier, store: NotificationStore, sfn: FakeSfn
) -> None:
    job = final()

    msg_id = notifier.job_finished(job)

    assert msg_id == webhook_id("job.succeeded", job.job_id)
    delivery = store.get_delivery(msg_id)
    assert (delivery.status, delivery.url, delivery.event_type) == (
        DeliveryStatus.PENDING,
        JOB_HOOK,
        "job.succeeded",
    )
    assert sfn.started == [{"arn": MACHINE, "name": msg_id, "input": {"webhook_id": msg_id}}]


def test_the_recorded_body_is_the_job_view_without_download_urls(
    notifier: Notifier, store: NotificationStore
) -> None:
    job = final()

    body = json.loads(store.get_delivery(str(notifier.job_finished(job))).body)

    assert body["type"] == "job.succeeded"
    assert body["data"]["job_id"] == job.job_id
    assert body["data"]["outputs"][0]["sha256"] == "0" * 64
    assert "download_url" not in body["data"]["outputs"][0]
    assert "X-Amz" not in json.dumps(body)


@pytest.mark.parametrize(
    ("status", "event_type"),
    [(JobStatus.FAILED, "job.failed"), (JobStatus.CANCELLED, "job.cancelled")],
)
def test_each_final_status_has_its_event_type(
    notifier: Notifier, store: NotificationStore, status: JobStatus, event_type: str
) -> None:
    job = final(status)

    msg_id = str(notifier.job_finished(job))

    assert store.get_delivery(msg_id).event_type == event_type
    assert msg_id == webhook_id(event_type, job.job_id)


def test_given_a_job_that_is_not_final_when_notified_then_nothing_is_recorded(
    notifier: Notifier, sfn: FakeSfn
) -> None:
    assert notifier.job_finished(final(JobStatus.RUNNING)) is None
    assert sfn.started == []


def test_given_a_job_notified_twice_when_the_first_execution_ended_then_nothing_more_happens(
    notifier: Notifier, store: NotificationStore, sfn: FakeSfn, clock: FakeClock
) -> None:
    job = final()
    msg_id = notifier.job_finished(job)
    sfn.running = False
    clock.advance(60)

    assert notifier.job_finished(job) == msg_id
    assert len(sfn.started) == 1
    assert store.get_delivery(str(msg_id)).created_at == START


def test_given_no_job_url_when_notified_then_the_tenants_default_url_is_used(
    notifier: Notifier, store: NotificationStore
) -> None:
    store.configure_tenant(TENANT, secrets=[generate_secret()], default_url=HOOK, now=START)

    msg_id = str(notifier.job_finished(final(webhook_url=None)))

    assert store.get_delivery(msg_id).url == HOOK


def test_given_no_url_anywhere_when_notified_then_the_event_is_recorded_for_eventbridge_only(
    notifier: Notifier, store: NotificationStore, sfn: FakeSfn
) -> None:
    msg_id = str(notifier.job_finished(final(webhook_url=None)))

    assert store.get_delivery(msg_id).status is DeliveryStatus.NO_WEBHOOK
    assert len(sfn.started) == 1


def test_given_a_url_a_410_disabled_when_notified_then_the_delivery_is_recorded_disabled(
    notifier: Notifier, store: NotificationStore
) -> None:
    store.disable_url(TENANT, JOB_HOOK, now=START)

    msg_id = str(notifier.job_finished(final()))

    assert store.get_delivery(msg_id).status is DeliveryStatus.DISABLED


def test_given_step_functions_refuses_when_a_job_is_notified_then_the_task_does_not_fail(
    notifier: Notifier, sfn: FakeSfn
) -> None:
    sfn.fail_with = "ThrottlingException"

    assert notifier.job_finished(final()) is None


def test_given_step_functions_refuses_when_publish_is_called_then_it_raises(
    notifier: Notifier, sfn: FakeSfn
) -> None:
    sfn.fail_with = "AccessDeniedException"

    with pytest.raises(NotificationError, match="AccessDeniedException"):
        notifier.publish("batch.completed", TENANT, {"batch_id": "b" * 32})


def test_a_batch_event_is_identified_by_its_batch_id(notifier: Notifier, store: NotificationStore) -> None:
    msg_id = notifier.publish(
        "batch.completed", TENANT, {"batch_id": "b" * 32, "counts": {"succeeded": 2}}, HOOK
    )

    delivery = store.get_delivery(msg_id)
    assert msg_id == webhook_id("batch.completed", "b" * 32)
    assert json.loads(delivery.body)["data"] == {"batch_id": "b" * 32, "counts": {"succeeded": 2}}
    assert delivery.url == HOOK


def test_a_payload_without_its_subject_id_is_refused(notifier: Notifier) -> None:
    with pytest.raises(NotificationError, match="batch_id"):
        notifier.publish("batch.completed", TENANT, {"counts": {}})
