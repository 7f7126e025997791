"""The SDK and CLI on the job event feed and the delivery log, against the local stack."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from local.sample_shop import SampleShop
from local.stack import LocalStack
from standardwebhooks import Webhook

from mediajobs.notifications.signing import generate_secret, webhook_id
from mediajobs_client import AsyncClient, Client, JobEvent, NotFoundError, RetryPolicy
from tests.e2e.conftest import fast_sandboxes
from tests.e2e.test_cli import mediajobs
from tests.e2e.test_client_webhooks import execution_status, final_job, notify, settled, store
from tests.support.servers import WebhookReceiver


def fresh_key(stack: LocalStack, secret: str, url: str | None = None) -> tuple[str, str]:
    tenant = f"sdk-events-{uuid.uuid4().hex[:8]}"
    stack.add_api_key(f"key-{tenant}", tenant)
    stack.set_tenant_webhooks(tenant, url=url, secrets=[secret])
    return tenant, f"key-{tenant}"


def test_jobs_events_yields_each_entry_once_in_order_up_to_the_final_status(
    stack: LocalStack, shop: SampleShop
) -> None:
    _, key = fresh_key(stack, generate_secret())
    with Client(stack.api_url, key) as client, fast_sandboxes(stack):
        accepted = client.jobs.create(provider="creatify", product={"image_url": shop.url("product.png")})

        events = list(client.jobs.events(accepted.job_id, wait=5, timeout=90))
        job = client.jobs.get(accepted.job_id)

    assert [e.sequence for e in events] == list(range(1, len(job.timeline) + 1))
    assert [(e.status, e.stage) for e in events] == [(t.status, t.stage) for t in job.timeline]
    assert events[-1].status == "succeeded"
    assert events[-1].final
    assert not any(e.final for e in events[:-1])


def test_jobs_events_resumes_after_a_given_event_id(stack: LocalStack, shop: SampleShop) -> None:
    _, key = fresh_key(stack, generate_secret())
    with Client(stack.api_url, key) as client, fast_sandboxes(stack):
        job = client.jobs.run(
            provider="prodvisual", product={"image_url": shop.url("product.png")}, options={"style": "mockup"}
        ).job

        resumed = list(client.jobs.events(job.job_id, last_event_id=2))

    assert [e.sequence for e in resumed] == list(range(3, len(job.timeline) + 1))


def test_the_async_client_follows_the_same_events(stack: LocalStack, shop: SampleShop) -> None:
    _, key = fresh_key(stack, generate_secret())

    async def follow() -> tuple[list[JobEvent], int]:
        async with AsyncClient(stack.api_url, key) as client:
            accepted = await client.jobs.create(
                provider="prodvisual",
                product={"image_url": shop.url("product.png")},
                options={"style": "mockup"},
            )
            events = [e async for e in client.jobs.events(accepted.job_id, wait=5, timeout=60)]
            return events, len((await client.jobs.get(accepted.job_id)).timeline)

    with fast_sandboxes(stack):
        events, count = asyncio.run(follow())

    assert [e.sequence for e in events] == list(range(1, count + 1))
    assert events[-1].status == "succeeded"


class CountingTransport(httpx.BaseTransport):
    """The SDK's real transport, counting the API paths it requests (and failing some on demand)."""

    def __init__(self, refuse: str | None = None) -> None:
        self.inner = httpx.HTTPTransport()
        self.refuse = refuse
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if self.refuse is not None and request.url.path.endswith(self.refuse):
            raise httpx.ConnectError("refused by the test", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_jobs_wait_follows_the_event_feed_and_reads_the_job_once(stack: LocalStack, shop: SampleShop) -> None:
    _, key = fresh_key(stack, generate_secret())
    transport = CountingTransport()
    with Client(stack.api_url, key, transport=transport) as client, fast_sandboxes(stack):
        accepted = client.jobs.create(
            provider="prodvisual", product={"image_url": shop.url("product.png")}, options={"style": "mockup"}
        )
        transport.paths.clear()

        job = client.jobs.wait(accepted.job_id, timeout=90)

    assert job.status == "succeeded"
    assert len(job.outputs) == 1
    assert transport.paths.count(f"/v1/jobs/{accepted.job_id}") == 1
    assert transport.paths.count(f"/v1/jobs/{accepted.job_id}/events") >= 1
    assert transport.paths[-1] == f"/v1/jobs/{accepted.job_id}"


def test_jobs_wait_polls_the_job_when_the_event_feed_cannot_be_reached(
    stack: LocalStack, shop: SampleShop
) -> None:
    _, key = fresh_key(stack, generate_secret())
    transport = CountingTransport(refuse="/events")
    with (
        Client(stack.api_url, key, transport=transport, retry=RetryPolicy(max_retries=0)) as client,
        fast_sandboxes(stack),
    ):
        accepted = client.jobs.create(
            provider="prodvisual", product={"image_url": shop.url("product.png")}, options={"style": "mockup"}
        )
        transport.paths.clear()

        job = client.jobs.wait(accepted.job_id, timeout=90, poll_interval=0.2, max_poll_interval=1.0)

    assert job.status == "succeeded"
    assert transport.paths.count(f"/v1/jobs/{accepted.job_id}/events") == 1
    assert transport.paths.count(f"/v1/jobs/{accepted.job_id}") >= 2


class AsyncCountingTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_the_async_jobs_wait_follows_the_event_feed_and_reads_the_job_once(
    stack: LocalStack, shop: SampleShop
) -> None:
    _, key = fresh_key(stack, generate_secret())
    transport = AsyncCountingTransport()

    async def run() -> tuple[str, str]:
        async with AsyncClient(stack.api_url, key, transport=transport) as client:
            accepted = await client.jobs.create(
                provider="prodvisual",
                product={"image_url": shop.url("product.png")},
                options={"style": "mockup"},
            )
            transport.paths.clear()
            return accepted.job_id, (await client.jobs.wait(accepted.job_id, timeout=90)).status

    with fast_sandboxes(stack):
        job_id, status = asyncio.run(run())

    assert status == "succeeded"
    assert transport.paths.count(f"/v1/jobs/{job_id}") == 1
    assert transport.paths.count(f"/v1/jobs/{job_id}/events") >= 1


def test_the_sdk_lists_a_failed_delivery_and_replays_it_to_a_receiver_that_recovered(
    stack: LocalStack,
) -> None:
    receiver = WebhookReceiver(status=500)
    secret = generate_secret()
    tenant, key = fresh_key(stack, secret)
    store(stack).set_events_filter(tenant, ["job.failed"], now=datetime.now(UTC))
    try:
        job_id = final_job(stack, tenant, webhook_url=receiver.url("sdk"), status="failed")
        msg_id = webhook_id("job.failed", job_id)
        notify(stack, job_id)
        settled(stack, msg_id)
        with Client(stack.api_url, key) as client:
            [failed] = list(client.deliveries.list(status="failed"))
            receiver.status = 200

            replayed = client.deliveries.replay(msg_id)
            execution_status(stack, f"{msg_id}-replay-1")
            [delivered] = list(client.deliveries.list(status="delivered"))
            with pytest.raises(NotFoundError):
                client.deliveries.replay("msg_" + "0" * 24)

        assert (failed.id, failed.attempts, failed.last_http_status) == (msg_id, 4, 500)
        assert (replayed.status, replayed.replays) == ("pending", 1)
        assert (delivered.id, delivered.attempts, delivered.replays) == (msg_id, 1, 1)
        last = receiver.deliveries[-1]
        assert last.headers["webhook-id"] == msg_id
        assert Webhook(secret).verify(last.body, last.headers)["type"] == "job.failed"
    finally:
        receiver.stop()


def test_the_cli_prints_a_jobs_events_and_the_delivery_log(stack: LocalStack) -> None:
    receiver = WebhookReceiver()
    tenant, key = fresh_key(stack, generate_secret(), url=receiver.url("cli"))
    try:
        job_id = final_job(stack, tenant, webhook_url=None, status="cancelled")
        notify(stack, job_id)
        msg_id = webhook_id("job.cancelled", job_id)
        settled(stack, msg_id)

        events = mediajobs(stack, "jobs", "events", job_id, "--json", api_key=key)
        listed = mediajobs(stack, "deliveries", "list", "--json", api_key=key)
        replay = mediajobs(stack, "deliveries", "replay", msg_id, api_key=key)
        execution_status(stack, f"{msg_id}-replay-1")
    finally:
        receiver.stop()

    assert events.exit_code == 0, events.stderr
    assert [json.loads(line)["status"] for line in events.stdout.splitlines()] == ["queued", "cancelled"]
    assert listed.exit_code == 0, listed.stderr
    shown = {d["id"]: d for d in json.loads(listed.stdout)}
    assert shown[msg_id]["status"] == "delivered"
    assert {shown[webhook_id("job.progress", f"{job_id}#{n}")]["sequence"] for n in (1, 2)} == {1, 2}
    assert replay.exit_code == 0, replay.stderr
    assert f"{msg_id} job.cancelled is pending again (replay 1)" in replay.stdout


def test_the_readme_sdk_example_of_the_event_feed_runs_against_the_stack(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Progress events, the event feed") :]
    example = section[section.index("```python\n") + len("```python\n") :]
    example = example[: example.index("```")]
    code = example.replace("http://127.0.0.1:3000", stack.api_url).replace("local-dev-key", stack.api_key)
    assert code != example

    with fast_sandboxes(stack):
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's own example

    printed = [line.split() for line in capsys.readouterr().out.splitlines() if line[:1].isdigit()]
    assert [int(p[0]) for p in printed] == list(range(1, len(printed) + 1))
    assert printed[-1][1] == "succeeded"
