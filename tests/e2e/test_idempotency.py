"""Idempotency-Key on the local stack: a repeated create answers the original, and creates nothing.

The acceptance case: 20 identical ``POST /v1/jobs`` with one key, sent at once, make one job, one
Step Functions execution and one ProdVisual generation, and every answer names the same job. A
client that gets 409 ``request_in_progress`` retries after ``Retry-After`` (with the same key and
body), as the API tells it to.

The local stack runs concurrent invocations of the API function in threads of one process, and
Powertools keeps the current event and route arguments on the resolver (``BaseRouter`` class
attributes, ``app.context``), which is safe in Lambda (one invocation per container) but not
here: a provider fetching a product link (``GET /p/<id>``, served by the API function) while
creates are in flight can hand them its event. The tests keep those fetches apart from their
requests (ProdVisual starts later; each test's jobs finish before the next test).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from local.sample_shop import SampleShop
from local.stack import LocalStack

from tests.e2e.conftest import Client, sandbox_settings

CONCURRENT = 20


@pytest.fixture
def tenant_client(stack: LocalStack) -> Iterator[Client]:
    """A client of a tenant of its own: its job listing holds only what this test made.

    Its jobs are run to the end before the next test, so that no provider fetches a product link
    from the API while another test's requests are in flight (see the module docstring).
    """
    suffix = uuid.uuid4().hex[:8]
    key = f"idem-key-{suffix}"
    stack.add_api_key(key, f"idem-{suffix}")
    client = Client(stack.api_url, key)
    yield client
    for job_id in listed_job_ids(client):
        client.wait_final(job_id)
    client.http.close()


def job_body(shop: SampleShop, style: str = "lifestyle") -> dict[str, Any]:
    return {
        "provider": "prodvisual",
        "product": {"image_url": shop.url("product.png")},
        "options": {"style": style},
    }


def post(
    http: httpx.Client, path: str, body: dict[str, Any], key: str | None, params: dict[str, str] | None = None
) -> httpx.Response:
    """One create as a well-behaved client sends it: on 409 request_in_progress, retry after Retry-After."""
    headers = {"Idempotency-Key": key} if key is not None else {}
    for _ in range(10):
        answer = http.post(path, json=body, headers=headers, params=params)
        if answer.status_code != 409 or answer.json()["error"]["code"] != "request_in_progress":
            return answer
        time.sleep(float(answer.headers["retry-after"]))
    raise AssertionError(f"still in progress after 10 tries: {answer.text}")


def job_id_of(answers: list[httpx.Response]) -> str:
    """The job the first accepted answer names (the test checks that they all name it)."""
    accepted = [a for a in answers if a.status_code == 202]
    assert accepted, [a.text for a in answers]
    return str(accepted[0].json()["job_id"])


def listed_job_ids(client: Client) -> list[str]:
    answer = client.http.get("/v1/jobs", params={"limit": "100"})
    assert answer.status_code == 200, answer.text
    return [job["job_id"] for job in answer.json()["jobs"]]


def executions_since(stack: LocalStack, since: datetime) -> list[str]:
    sfn = stack.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.state_machine_arn)
    return [e["name"] for page in pages for e in page["executions"] if e["startDate"] >= since]


def test_given_20_identical_creates_with_one_key_at_once_then_one_job_one_execution_one_provider_job(
    stack: LocalStack, tenant_client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    sandbox = stack.sandboxes.prodvisual
    key, body = str(uuid.uuid4()), job_body(shop)
    started = datetime.now(UTC)
    generate_calls_before = sum(1 for r in sandbox.requests if r.endpoint == "generate")

    # ProdVisual fetches the product link only after every answer is in (see the module docstring)
    with (
        sandbox_settings(sandbox, pending_seconds=4.0),
        ThreadPoolExecutor(CONCURRENT) as pool,
    ):
        answers = list(pool.map(lambda _: post(tenant_client.http, "/v1/jobs", body, key), range(CONCURRENT)))
        assert tenant_client.wait_final(job_id_of(answers))["status"] == "succeeded"

    assert [a.status_code for a in answers] == [202] * CONCURRENT, [
        a.text for a in answers if a.status_code != 202
    ]
    job_ids = {a.json()["job_id"] for a in answers}
    assert len(job_ids) == 1
    (job_id,) = job_ids
    assert {a.headers["location"] for a in answers} == {f"/v1/jobs/{job_id}"}
    assert sorted(a.headers["idempotent-replayed"] for a in answers) == ["false"] + ["true"] * (
        CONCURRENT - 1
    )
    assert listed_job_ids(tenant_client) == [job_id]
    assert executions_since(stack, started) == [job_id]
    generations = [g for g in list(sandbox.generations.values()) if f"/p/{job_id}." in g.spec.image_url]
    assert len(generations) == 1
    assert sum(1 for r in sandbox.requests if r.endpoint == "generate") - generate_calls_before == 1


def test_given_a_used_key_when_sent_with_another_body_then_422_and_no_second_job(
    tenant_client: Client, shop: SampleShop
) -> None:
    key = str(uuid.uuid4())
    first = post(tenant_client.http, "/v1/jobs", job_body(shop), key)

    other = post(tenant_client.http, "/v1/jobs", job_body(shop, style="white_bg"), key)

    assert first.status_code == 202, first.text
    assert (other.status_code, other.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert listed_job_ids(tenant_client) == [first.json()["job_id"]]


def test_given_no_key_when_the_same_create_is_sent_twice_then_two_jobs(
    tenant_client: Client, shop: SampleShop
) -> None:
    first = post(tenant_client.http, "/v1/jobs", job_body(shop), None)
    second = post(tenant_client.http, "/v1/jobs", job_body(shop), None)

    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["job_id"] != second.json()["job_id"]
    assert sorted(listed_job_ids(tenant_client)) == sorted([first.json()["job_id"], second.json()["job_id"]])


def test_given_a_batch_created_with_a_key_when_repeated_then_the_same_batch_and_no_new_jobs(
    tenant_client: Client, shop: SampleShop
) -> None:
    key, body = str(uuid.uuid4()), {"items": [job_body(shop)]}
    first = post(tenant_client.http, "/v1/batches", body, key)

    again = post(tenant_client.http, "/v1/batches", body, key)

    assert (first.status_code, again.status_code) == (202, 202), again.text
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"] == f"/v1/batches/{first.json()['batch_id']}"
    assert again.headers["idempotent-replayed"] == "true"
    assert listed_job_ids(tenant_client) == first.json()["job_ids"]


def test_given_an_upload_created_with_a_key_when_repeated_then_the_same_upload(tenant_client: Client) -> None:
    key, spec = str(uuid.uuid4()), {"provider": "prodvisual", "options": {"style": "lifestyle"}}
    params = {"filename": "bottle.png"}
    first = post(tenant_client.http, "/v1/uploads", spec, key, params)

    again = post(tenant_client.http, "/v1/uploads", spec, key, params)
    renamed = post(tenant_client.http, "/v1/uploads", spec, key, {"filename": "other.png"})

    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json()["upload_id"] == first.json()["upload_id"]
    assert again.headers["location"] == first.headers["location"]
    assert (renamed.status_code, renamed.json()["error"]["code"]) == (422, "idempotency_key_reused")


def test_given_a_malformed_key_when_creating_then_400_and_nothing_created(
    tenant_client: Client, shop: SampleShop
) -> None:
    answer = post(tenant_client.http, "/v1/jobs", job_body(shop), "x" * 256)

    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "invalid_idempotency_key")
    assert listed_job_ids(tenant_client) == []
