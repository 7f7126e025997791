"""Progress events, the job event feed (SSE and long polling) and the delivery log with replay,
driven through the local stack's HTTP API as a client app would; every webhook is verified with
the ``standardwebhooks`` library."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from local.sample_shop import SampleShop
from local.stack import LocalStack
from standardwebhooks import Webhook

from mediajobs.notifications.signing import generate_secret, webhook_id
from tests.e2e.conftest import Client, fast_sandboxes
from tests.e2e.test_client_webhooks import (
    bus_queue,
    drain,
    execution_status,
    final_job,
    notify,
    settled,
    store,
)
from tests.support.servers import WebhookReceiver

FINAL_EVENTS = ["job.succeeded", "job.failed", "job.cancelled"]


def tenant_client(stack: LocalStack, *, secret: str, url: str | None = None) -> tuple[str, Client]:
    tenant = f"events-{uuid.uuid4().hex[:8]}"
    stack.add_api_key(f"key-{tenant}", tenant)
    stack.set_tenant_webhooks(tenant, url=url, secrets=[secret])
    return tenant, Client(stack.api_url, f"key-{tenant}")


def parse_sse(text: str) -> list[dict[str, str]]:
    """The events of a text/event-stream answer, each as its fields (``id``, ``event``, ``data``)."""
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append(fields)
    return events


@dataclass
class Feed:
    """Every event read through reconnections, and how many requests it took."""

    events: list[dict[str, Any]]
    requests: int
    ids_sent: list[str]


def follow(http: httpx.Client, job_id: str, *, wait: int = 5, timeout: float = 60.0) -> Feed:
    """Reconnect as an EventSource does, sending the last id seen as Last-Event-ID, until ``end``."""
    events: list[dict[str, Any]] = []
    last: str | None = None
    sent: list[str] = []
    requests = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        headers = {"Last-Event-ID": last} if last is not None else {}
        sent.append(last or "")
        answer = http.get(f"/v1/jobs/{job_id}/events", params={"wait": wait}, headers=headers)
        requests += 1
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/event-stream")
        for event in parse_sse(answer.text):
            last = event["id"]
            if event["event"] == "end":
                return Feed(events, requests, sent)
            events.append(json.loads(event["data"]) | {"id": event["id"]})
    raise AssertionError(f"no end event in {timeout}s; got {len(events)} events")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    yield running
    running.stop()


# --- progress webhooks and the event feed ------------------------------------------------------------


@dataclass
class ProgressRun:
    job: dict[str, Any]
    feed: Feed
    progress: list[dict[str, Any]]
    headers: list[dict[str, str]]
    client: Client


@pytest.fixture(scope="module")
def progress_run(stack: LocalStack, shop: SampleShop) -> Iterator[ProgressRun]:
    """A Creatify job (two stages) followed through the event feed while its webhooks arrive."""
    receiver = WebhookReceiver()
    secret = generate_secret()
    _, client = tenant_client(stack, secret=secret)
    with fast_sandboxes(stack):
        accepted = client.create(
            {
                "provider": "creatify",
                "product": {"image_url": shop.url("product.png")},
                "webhook_url": receiver.url("progress"),
            }
        )
        feed = follow(client.http, accepted["job_id"])
    job = client.job(accepted["job_id"])
    final_id = webhook_id(f"job.{job['status']}", job["job_id"])
    settled(stack, final_id)
    want = len(feed.events)
    delivered = receiver.wait_for(
        lambda got: len({d.headers["webhook-id"] for d in got if b'"job.progress"' in d.body}) >= want
    )
    time.sleep(0.5)  # nothing more may arrive: counted below
    progress = [
        dict(Webhook(secret).verify(d.body, d.headers))
        for d in receiver.deliveries
        if b'"job.progress"' in d.body
    ]
    yield ProgressRun(job, feed, progress, [d.headers for d in delivered], client)
    receiver.stop()


def test_the_feed_carries_every_timeline_entry_in_order_once_ending_with_the_final_status(
    progress_run: ProgressRun,
) -> None:
    sequences = [e["sequence"] for e in progress_run.feed.events]

    assert sequences == list(range(1, len(progress_run.job["timeline"]) + 1))
    assert [e["id"] for e in progress_run.feed.events] == [str(n) for n in sequences]
    assert [e["status"] for e in progress_run.feed.events] == [
        t["status"] for t in progress_run.job["timeline"]
    ]
    assert progress_run.feed.events[-1]["status"] == "succeeded"
    assert progress_run.feed.events[-1]["final"] is True
    assert {e["stage"] for e in progress_run.feed.events} >= {"image", "video"}


def test_the_feed_took_several_reconnections_each_resuming_after_the_last_id(
    progress_run: ProgressRun,
) -> None:
    assert progress_run.feed.requests > 1
    assert progress_run.feed.ids_sent[0] == ""
    assert all(i.isdigit() for i in progress_run.feed.ids_sent[1:])


def test_each_timeline_entry_is_one_signed_progress_webhook_with_its_sequence(
    progress_run: ProgressRun,
) -> None:
    by_id = {h["webhook-id"]: h for h in progress_run.headers}
    unique = {e["data"]["sequence"]: e for e in progress_run.progress}

    assert sorted(unique) == [e["sequence"] for e in progress_run.feed.events]
    assert [unique[n]["data"]["status"] for n in sorted(unique)] == [
        e["status"] for e in progress_run.feed.events
    ]
    expected_ids = {webhook_id("job.progress", f"{progress_run.job['job_id']}#{n}") for n in unique}
    assert {i for i in by_id if i in expected_ids} == expected_ids
    assert {e["type"] for e in progress_run.progress} == {"job.progress"}


def test_a_reconnection_after_the_last_event_of_a_final_job_answers_only_the_end(
    progress_run: ProgressRun,
) -> None:
    last = progress_run.feed.events[-1]["id"]

    answer = progress_run.client.http.get(
        f"/v1/jobs/{progress_run.job['job_id']}/events", params={"wait": 20}, headers={"Last-Event-ID": last}
    )

    assert [(e["event"], e["id"]) for e in parse_sse(answer.text)] == [("end", last)]


def test_the_feed_needs_the_tenants_key(stack: LocalStack, progress_run: ProgressRun) -> None:
    answer = httpx.get(f"{stack.api_url}/v1/jobs/{progress_run.job['job_id']}/events", timeout=30.0)

    assert answer.status_code == 401


def test_the_json_form_answers_the_events_after_the_given_sequence(
    stack: LocalStack, shop: SampleShop
) -> None:
    secret = generate_secret()
    _, client = tenant_client(stack, secret=secret)
    with fast_sandboxes(stack):
        job = client.run(
            {
                "provider": "prodvisual",
                "product": {"image_url": shop.url("product.png")},
                "options": {"style": "mockup"},
            }
        )

    answer = client.http.get(
        f"/v1/jobs/{job['job_id']}/events", params={"after": 2}, headers={"Accept": "application/json"}
    )

    page = answer.json()
    assert answer.status_code == 200
    assert [e["sequence"] for e in page["events"]] == list(range(3, len(job["timeline"]) + 1))
    assert page["final"] is True
    assert page["last_event_id"] == len(job["timeline"])


def test_a_long_poll_on_a_live_job_answers_with_the_entry_written_next(
    stack: LocalStack, shop: SampleShop
) -> None:
    secret = generate_secret()
    _, client = tenant_client(stack, secret=secret)
    assert stack.sandboxes is not None
    job = client.create(
        {
            "provider": "prodvisual",
            "product": {"image_url": shop.url("product.png")},
            "options": {"style": "mockup"},
        }
    )
    first = client.http.get(f"/v1/jobs/{job['job_id']}/events", headers={"Accept": "application/json"}).json()
    started = time.monotonic()

    later = client.http.get(
        f"/v1/jobs/{job['job_id']}/events",
        params={"wait": 20},
        headers={"Accept": "application/json", "Last-Event-ID": str(first["last_event_id"])},
    ).json()

    waited = time.monotonic() - started
    assert later["events"], "a new entry ended the wait"
    assert later["events"][0]["sequence"] == first["last_event_id"] + 1
    assert waited < 20
    client.wait_final(job["job_id"])


def test_another_tenants_job_feed_is_404(stack: LocalStack, progress_run: ProgressRun) -> None:
    other = Client(stack.api_url, "other-tenant-key")

    answer = other.http.get(f"/v1/jobs/{progress_run.job['job_id']}/events")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


# --- event filters ----------------------------------------------------------------------------------


def test_a_job_that_asks_for_its_final_event_only_gets_no_progress_webhook(
    stack: LocalStack, shop: SampleShop, receiver: WebhookReceiver
) -> None:
    secret = generate_secret()
    _, client = tenant_client(stack, secret=secret)
    with fast_sandboxes(stack):
        job = client.run(
            {
                "provider": "prodvisual",
                "product": {"image_url": shop.url("product.png")},
                "options": {"style": "mockup"},
                "webhook_url": receiver.url("final-only"),
                "webhook_events_filter": ["job.succeeded"],
            }
        )
    settled(stack, webhook_id("job.succeeded", job["job_id"]))
    time.sleep(0.5)

    types = [Webhook(secret).verify(d.body, d.headers)["type"] for d in receiver.deliveries]

    assert types == ["job.succeeded"]
    assert store(stack).find_delivery(webhook_id("job.progress", f"{job['job_id']}#1")) is None


def test_a_tenant_that_wants_progress_only_gets_no_final_webhook(
    stack: LocalStack, receiver: WebhookReceiver
) -> None:
    secret = generate_secret()
    tenant, _ = tenant_client(stack, secret=secret, url=receiver.url("progress-only"))
    store(stack).set_events_filter(tenant, ["job.progress"], now=datetime.now(UTC))
    job_id = final_job(stack, tenant, webhook_url=None)

    notify(stack, job_id)
    for n in (1, 2):
        settled(stack, webhook_id("job.progress", f"{job_id}#{n}"))

    types = sorted(Webhook(secret).verify(d.body, d.headers)["type"] for d in receiver.deliveries)
    assert types == ["job.progress", "job.progress"]
    assert store(stack).find_delivery(webhook_id("job.succeeded", job_id)) is None


# --- the delivery log and replay --------------------------------------------------------------------


def test_a_delivery_that_kept_failing_is_listed_failed_and_its_replay_delivers_it_signed(
    stack: LocalStack, receiver: WebhookReceiver
) -> None:
    secret = generate_secret()
    tenant, client = tenant_client(stack, secret=secret)
    store(stack).set_events_filter(tenant, FINAL_EVENTS, now=datetime.now(UTC))
    receiver.status = 500
    job_id = final_job(stack, tenant, webhook_url=receiver.url("flaky"))
    msg_id = webhook_id("job.succeeded", job_id)
    notify(stack, job_id)
    settled(stack, msg_id)

    listed = client.http.get("/v1/webhook-deliveries", params={"status": "failed"}).json()
    [failed] = [d for d in listed["deliveries"] if d["id"] == msg_id]
    assert (failed["status"], failed["attempts"], failed["last_http_status"]) == ("failed", 4, 500)
    assert failed["next_attempt_at"] is None
    refused = len(receiver.deliveries)

    receiver.status = 200
    replay = client.http.post(f"/v1/webhook-deliveries/{msg_id}/replay")
    assert replay.status_code == 202, replay.text
    assert (replay.json()["status"], replay.json()["replays"]) == ("pending", 1)
    assert execution_status(stack, f"{msg_id}-replay-1") == "SUCCEEDED"

    delivered = client.http.get("/v1/webhook-deliveries", params={"status": "delivered"}).json()
    [after] = [d for d in delivered["deliveries"] if d["id"] == msg_id]
    assert (after["status"], after["attempts"], after["last_http_status"]) == ("delivered", 1, 200)
    replayed = receiver.deliveries[refused:]
    assert len(replayed) == 1
    assert replayed[0].headers["webhook-id"] == msg_id
    assert replayed[0].body == receiver.deliveries[0].body
    assert replayed[0].headers["webhook-signature"] != receiver.deliveries[0].headers["webhook-signature"]
    assert Webhook(secret).verify(replayed[0].body, replayed[0].headers)["type"] == "job.succeeded"


def test_a_delivered_delivery_can_be_replayed_and_arrives_again_with_the_same_id(
    stack: LocalStack, receiver: WebhookReceiver
) -> None:
    secret = generate_secret()
    tenant, client = tenant_client(stack, secret=secret)
    store(stack).set_events_filter(tenant, FINAL_EVENTS, now=datetime.now(UTC))
    job_id = final_job(stack, tenant, webhook_url=receiver.url("again"), status="cancelled")
    msg_id = webhook_id("job.cancelled", job_id)
    notify(stack, job_id)
    settled(stack, msg_id)

    answer = client.http.post(f"/v1/webhook-deliveries/{msg_id}/replay")
    execution_status(stack, f"{msg_id}-replay-1")

    assert answer.status_code == 202
    assert [d.headers["webhook-id"] for d in receiver.deliveries] == [msg_id, msg_id]
    assert all(Webhook(secret).verify(d.body, d.headers) for d in receiver.deliveries)


def test_another_tenants_delivery_cannot_be_replayed_or_listed(
    stack: LocalStack, receiver: WebhookReceiver
) -> None:
    tenant, owner = tenant_client(stack, secret=generate_secret())
    store(stack).set_events_filter(tenant, FINAL_EVENTS, now=datetime.now(UTC))
    job_id = final_job(stack, tenant, webhook_url=receiver.url("mine"))
    msg_id = webhook_id("job.succeeded", job_id)
    notify(stack, job_id)
    settled(stack, msg_id)
    other = Client(stack.api_url, "other-tenant-key")

    replay = other.http.post(f"/v1/webhook-deliveries/{msg_id}/replay")
    listed = other.http.get("/v1/webhook-deliveries", params={"limit": 100}).json()

    assert replay.status_code == 404
    assert replay.json()["error"]["code"] == "not_found"
    assert msg_id not in {d["id"] for d in listed["deliveries"]}
    assert msg_id in {d["id"] for d in owner.http.get("/v1/webhook-deliveries").json()["deliveries"]}


def test_the_listing_pages_with_a_cursor_newest_first(stack: LocalStack, receiver: WebhookReceiver) -> None:
    tenant, client = tenant_client(stack, secret=generate_secret())
    store(stack).set_events_filter(tenant, FINAL_EVENTS, now=datetime.now(UTC))
    made = []
    for _ in range(3):
        job_id = final_job(stack, tenant, webhook_url=receiver.url("pages"))
        notify(stack, job_id)
        made.append(webhook_id("job.succeeded", job_id))
    for msg_id in made:
        settled(stack, msg_id)

    first = client.http.get("/v1/webhook-deliveries", params={"limit": 2}).json()
    second = client.http.get(
        "/v1/webhook-deliveries", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()

    assert [d["id"] for d in first["deliveries"] + second["deliveries"]] == made[::-1]
    assert second["next_cursor"] is None


def test_another_tenants_cursor_is_refused_with_invalid_cursor(
    stack: LocalStack, receiver: WebhookReceiver
) -> None:
    tenant, owner = tenant_client(stack, secret=generate_secret())
    store(stack).set_events_filter(tenant, FINAL_EVENTS, now=datetime.now(UTC))
    made = []
    for _ in range(2):  # two deliveries: a page of one has a next page
        job_id = final_job(stack, tenant, webhook_url=receiver.url("bound"))
        notify(stack, job_id)
        made.append(webhook_id("job.succeeded", job_id))
    for msg_id in made:
        settled(stack, msg_id)
    cursor = owner.http.get("/v1/webhook-deliveries", params={"limit": 1}).json()["next_cursor"]
    assert cursor
    other = Client(stack.api_url, "other-tenant-key")

    answer = other.http.get("/v1/webhook-deliveries", params={"limit": 1, "cursor": cursor})

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_cursor"
    assert not any(msg_id in answer.text for msg_id in made)
    # the cursor still pages for its own tenant
    again = owner.http.get("/v1/webhook-deliveries", params={"limit": 1, "cursor": cursor})
    assert [d["id"] for d in again.json()["deliveries"]] == made[:1]


def test_a_replayed_delivery_reaches_the_webhook_again_but_the_event_bus_once(
    stack: LocalStack, receiver: WebhookReceiver
) -> None:
    tenant, client = tenant_client(stack, secret=generate_secret())
    store(stack).set_events_filter(tenant, FINAL_EVENTS, now=datetime.now(UTC))
    queue = bus_queue(stack, tenant)
    job_id = final_job(stack, tenant, webhook_url=receiver.url("replayed"))
    msg_id = webhook_id("job.succeeded", job_id)
    notify(stack, job_id)
    settled(stack, msg_id)
    [published] = drain(stack, queue, want=1)

    replay = client.http.post(f"/v1/webhook-deliveries/{msg_id}/replay")
    assert replay.status_code == 202, replay.text
    assert execution_status(stack, f"{msg_id}-replay-1") == "SUCCEEDED"

    assert [d.headers["webhook-id"] for d in receiver.deliveries] == [msg_id, msg_id]
    assert published["detail"]["id"] == msg_id
    assert drain(stack, queue, want=1, timeout=3.0) == []
