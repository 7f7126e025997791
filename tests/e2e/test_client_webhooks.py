"""Client webhooks and EventBridge events: a client app's receiver verifies every delivery with the
``standardwebhooks`` library, as the README tells clients to.

The first scenario runs real jobs through the HTTP API (one succeeds, one fails) for a tenant of
its own; the other tests write a final job record and run NotifyClient as the job's state machine
would, which is all a notification needs and takes a fraction of the time.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from local.sample_shop import SampleShop
from local.stack import DEFAULT_TENANT, SAMPLE_JOB_ID, LocalStack
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from mediajobs.aws import dynamodb_table
from mediajobs.jobs.models import Job, JobSpec, JobStatus, TimelineEntry
from mediajobs.jobs.store import JobStore
from mediajobs.notifications.models import Delivery, DeliveryStatus
from mediajobs.notifications.signing import generate_secret, webhook_id
from mediajobs.notifications.store import NotificationStore
from mediajobs.providers.base import ProductInput, ProviderName
from mediajobs.tasks.notifications import notifier
from tests.e2e.conftest import Client
from tests.support.servers import WebhookReceiver

EVENTS = Path(__file__).resolve().parents[2] / "events"


# --- helpers ---------------------------------------------------------------------------------------


def new_tenant(stack: LocalStack, *, secrets: list[str], url: str | None = None) -> tuple[str, Client]:
    tenant = f"webhooks-{uuid.uuid4().hex[:8]}"
    key = f"key-{tenant}"
    stack.add_api_key(key, tenant)
    stack.set_tenant_webhooks(tenant, url=url, secrets=secrets)
    # these scenarios are about final events (job.progress has its own tests)
    store(stack).set_events_filter(
        tenant, ["job.succeeded", "job.failed", "job.cancelled"], now=datetime.now(UTC)
    )
    return tenant, Client(stack.api_url, key)


def store(stack: LocalStack) -> NotificationStore:
    return NotificationStore(dynamodb_table(stack.table_name))


def execution_status(stack: LocalStack, msg_id: str, timeout: float = 30.0) -> str:
    """Wait for the notification's execution to end; its status."""
    machine = str(stack.provisioned.ref("NotificationStateMachine")) if stack.provisioned else ""
    arn = f"{machine.replace(':stateMachine:', ':execution:')}:{msg_id}"
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = str(sfn.describe_execution(executionArn=arn)["status"])
        except sfn.exceptions.ExecutionDoesNotExist:
            status = "NOT_STARTED"  # NotifyClient runs just after the job shows its final status
        if status not in {"RUNNING", "NOT_STARTED"}:
            return status
        time.sleep(0.1)
    raise AssertionError(f"notification {msg_id} still running after {timeout}s")


def settled(stack: LocalStack, msg_id: str) -> Delivery:
    """The delivery record once its execution has ended."""
    execution_status(stack, msg_id)
    return store(stack).get_delivery(msg_id)


def final_job(stack: LocalStack, tenant: str, *, webhook_url: str | None, status: str = "succeeded") -> str:
    """A job record in a final state, as the pipeline leaves it (no provider needed)."""
    now = datetime.now(UTC)
    job = Job(
        job_id=uuid.uuid4().hex,
        tenant_id=tenant,
        status=JobStatus(status),
        created_at=now,
        updated_at=now,
        deadline_at=now + timedelta(minutes=5),
        spec=JobSpec(
            provider=ProviderName.PRODVISUAL,
            product=ProductInput(image_url="https://shop.example.com/images/aurora-bottle.png"),
            options={"style": "mockup"},
            webhook_url=webhook_url,
        ),
        public_base_url=stack.api_url,
        timeline=[
            TimelineEntry(status=JobStatus.QUEUED, at=now),
            TimelineEntry(status=JobStatus(status), at=now),
        ],
    )
    JobStore(dynamodb_table(stack.table_name)).create(job)
    return job.job_id


def notify(stack: LocalStack, job_id: str) -> None:
    """What the job's state machine does last."""
    answer = stack.invoke("NotifyClientFunction", {"job_id": job_id})
    assert answer["status"] in {"succeeded", "failed", "cancelled"}


def verified(secret: str, receiver: WebhookReceiver) -> list[dict[str, Any]]:
    """Every delivery, each verified with ``secret`` alone (raises if one does not verify)."""
    return [dict(Webhook(secret).verify(d.body, d.headers)) for d in receiver.deliveries]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    yield running
    running.stop()


# --- jobs through the HTTP API ------------------------------------------------------------------------


@dataclass
class Scenario:
    tenant: str
    secret: str
    receiver: WebhookReceiver
    succeeded: dict[str, Any]
    failed: dict[str, Any]
    bus_messages: list[dict[str, Any]]

    def ids(self, job: dict[str, Any]) -> set[str]:
        return {
            d.headers["webhook-id"]
            for d in self.receiver.deliveries
            if json.loads(d.body)["data"]["job_id"] == job["job_id"]
        }


def bus_queue(stack: LocalStack, tenant: str) -> str:
    """An SQS queue that a rule on the stack's bus fills with this tenant's events (as a consumer would)."""
    sqs, events = stack.client("sqs"), stack.client("events")
    url = str(sqs.create_queue(QueueName=f"events-{tenant}")["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = str(stack.provisioned.ref("EventBus")) if stack.provisioned else ""
    pattern = {"source": ["mediajobs"], "detail": {"tenant_id": [tenant]}}
    events.put_rule(Name=f"events-{tenant}", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=f"events-{tenant}", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def drain(stack: LocalStack, queue_url: str, want: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(messages) < want and time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages += [json.loads(m["Body"]) for m in answer.get("Messages", [])]
    return messages


@pytest.fixture(scope="module")
def scenario(stack: LocalStack, shop: SampleShop) -> Iterator[Scenario]:
    """Two jobs of one tenant: one with its own webhook URL (answered 500 twice, then 200) that
    succeeds, one without (the tenant's default URL) that fails."""
    assert stack.sandboxes is not None
    receiver = WebhookReceiver(script=[500, 500])
    secret = generate_secret()
    tenant, client = new_tenant(stack, secrets=[secret], url=receiver.url("default"))
    queue = bus_queue(stack, tenant)
    image = {"image_url": shop.url("product.png")}
    succeeded = client.run(
        {
            "provider": "prodvisual",
            "product": image,
            "options": {"style": "mockup"},
            "webhook_url": receiver.url("jobs"),
        }
    )
    settled(stack, webhook_id("job.succeeded", succeeded["job_id"]))
    sandbox = stack.sandboxes.prodvisual
    with sandbox.balance(0):
        # without credits the job waits for a top-up; a short deadline makes it fail soon
        failed = client.run(
            {"provider": "prodvisual", "product": image, "options": {"style": "mockup"}}
            | {"deadline_seconds": 3}
        )
    settled(stack, webhook_id("job.failed", failed["job_id"]))
    yield Scenario(tenant, secret, receiver, succeeded, failed, drain(stack, queue, want=2))
    receiver.stop()


def test_every_delivery_verifies_with_the_tenants_secret(scenario: Scenario) -> None:
    events = verified(scenario.secret, scenario.receiver)

    assert len(events) == len(scenario.receiver.deliveries) == 4  # 500, 500, 200, then the failed job


def test_each_final_event_arrives_exactly_once_after_deduplicating_by_webhook_id(scenario: Scenario) -> None:
    unique = {d.headers["webhook-id"]: json.loads(d.body) for d in scenario.receiver.deliveries}

    assert sorted((e["type"], e["data"]["job_id"]) for e in unique.values()) == sorted(
        [("job.succeeded", scenario.succeeded["job_id"]), ("job.failed", scenario.failed["job_id"])]
    )


def test_a_delivery_answered_500_twice_is_retried_with_the_same_webhook_id_and_body(
    scenario: Scenario,
) -> None:
    attempts = [d for d in scenario.receiver.deliveries if d.path == "/jobs"]

    assert len(attempts) == 3
    assert len({d.headers["webhook-id"] for d in attempts}) == 1
    assert len({d.body for d in attempts}) == 1
    assert attempts[2].at - attempts[0].at >= 1.5  # the local schedule waits 1 s, then 1 s


def test_a_retried_delivery_ends_delivered_after_three_attempts(
    stack: LocalStack, scenario: Scenario
) -> None:
    delivery = store(stack).get_delivery(webhook_id("job.succeeded", scenario.succeeded["job_id"]))

    assert (delivery.status, delivery.attempts, delivery.last_http_status) == (
        DeliveryStatus.DELIVERED,
        3,
        200,
    )


def test_a_job_without_a_webhook_url_is_delivered_to_the_tenants_default_url(scenario: Scenario) -> None:
    to_default = [json.loads(d.body) for d in scenario.receiver.deliveries if d.path == "/default"]

    assert [(e["type"], e["data"]["job_id"]) for e in to_default] == [
        ("job.failed", scenario.failed["job_id"])
    ]
    assert to_default[0]["data"]["error"]["code"] == "provider_insufficient_credits"


def test_the_event_data_is_the_job_as_the_api_shows_it_without_presigned_urls(scenario: Scenario) -> None:
    event = json.loads(next(d.body for d in scenario.receiver.deliveries if d.path == "/jobs"))
    shown = json.loads(json.dumps(scenario.succeeded))
    for output in shown["outputs"]:
        del output["download_url"], output["download_url_expires_at"]

    assert event["data"] == shown
    assert shown["outputs"]  # the comparison covered outputs
    assert datetime.fromisoformat(event["timestamp"]) == datetime.fromisoformat(
        scenario.succeeded["updated_at"]
    )


def test_the_event_bus_gets_each_event_with_its_detail_type(scenario: Scenario) -> None:
    got = sorted(
        (m["source"], m["detail-type"], m["detail"]["type"], m["detail"]["data"]["job_id"], m["detail"]["id"])
        for m in scenario.bus_messages
    )

    assert got == sorted(
        [
            (
                "mediajobs",
                "Job Succeeded",
                "job.succeeded",
                scenario.succeeded["job_id"],
                webhook_id("job.succeeded", scenario.succeeded["job_id"]),
            ),
            (
                "mediajobs",
                "Job Failed",
                "job.failed",
                scenario.failed["job_id"],
                webhook_id("job.failed", scenario.failed["job_id"]),
            ),
        ]
    )
    assert all(m["detail"]["tenant_id"] == scenario.tenant for m in scenario.bus_messages)


# --- one notification at a time ------------------------------------------------------------------------


def test_a_410_answer_disables_the_url_and_a_later_event_is_not_sent_there(
    stack: LocalStack, receiver: WebhookReceiver
) -> None:
    tenant, _ = new_tenant(stack, secrets=[generate_secret()])
    receiver.script = [410]
    first = final_job(stack, tenant, webhook_url=receiver.url("gone"))
    notify(stack, first)
    assert settled(stack, webhook_id("job.succeeded", first)).status is DeliveryStatus.DISABLED

    later = final_job(stack, tenant, webhook_url=receiver.url("gone"), status="failed")
    notify(stack, later)
    delivery = settled(stack, webhook_id("job.failed", later))

    assert delivery.status is DeliveryStatus.DISABLED
    assert len(receiver.deliveries) == 1
    assert receiver.url("gone") in store(stack).tenant_webhooks(tenant).disabled_urls


def test_during_a_rotation_a_delivery_verifies_with_either_secret_alone(
    stack: LocalStack, receiver: WebhookReceiver
) -> None:
    new, old = generate_secret(), generate_secret()
    tenant, _ = new_tenant(stack, secrets=[new, old])
    job_id = final_job(stack, tenant, webhook_url=receiver.url("rotating"), status="cancelled")
    notify(stack, job_id)
    settled(stack, webhook_id("job.cancelled", job_id))

    [delivery] = receiver.deliveries
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(delivery.body, delivery.headers)["type"] == "job.cancelled"
    assert Webhook(old).verify(delivery.body, delivery.headers)["type"] == "job.cancelled"
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(delivery.body, delivery.headers)


def test_notifying_the_same_final_job_again_delivers_it_once(
    stack: LocalStack, receiver: WebhookReceiver
) -> None:
    tenant, _ = new_tenant(stack, secrets=[generate_secret()])
    job_id = final_job(stack, tenant, webhook_url=receiver.url("once"))
    msg_id = webhook_id("job.succeeded", job_id)

    notify(stack, job_id)
    notify(stack, job_id)  # while the first notification's execution runs
    assert execution_status(stack, msg_id) == "SUCCEEDED"
    notify(stack, job_id)  # after it ended
    time.sleep(0.5)

    assert len(receiver.deliveries) == 1
    assert store(stack).get_delivery(msg_id).attempts == 1


def test_an_unsafe_webhook_url_is_refused_when_the_job_is_created(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    answer = client.http.post(
        "/v1/jobs",
        json={
            "provider": "prodvisual",
            "product": {"image_url": shop.url("product.png")},
            "options": {"style": "mockup"},
            "webhook_url": "http://169.254.169.254/latest/meta-data/",
        },
    )

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "unsafe_url"
    assert "webhook_url" in answer.json()["error"]["message"]


def test_the_sample_notification_events_run_through_their_handlers(stack: LocalStack) -> None:
    # the samples name the sample job's job.succeeded notification (tenant "local": no webhook URL)
    sample = json.loads((EVENTS / "deliver_webhook.json").read_text())
    assert sample == json.loads((EVENTS / "publish_event.json").read_text())
    assert sample["webhook_id"] == webhook_id("job.succeeded", SAMPLE_JOB_ID)
    notifier().publish("job.succeeded", DEFAULT_TENANT, {"job_id": SAMPLE_JOB_ID})
    execution_status(stack, sample["webhook_id"])

    assert stack.invoke("PublishEventFunction", sample) == {"published": True}
    assert stack.invoke("DeliverWebhookFunction", sample) == {
        "next": "done",
        "status": "no_webhook",
        "wait_seconds": 0,
    }
