"""Tenant isolation through the HTTP API: another tenant's key reaches none of a tenant's resources.

Tenant A is the main client (the stack's key); tenant B holds ``other-tenant-key``. For every job
action, B's attempt on A's job answers exactly what an id that never existed answers (404
``not_found``, the id B sent echoed and nothing else), writes nothing to A's job record, starts no
job, and takes nothing from A: A can still do the same thing afterwards and its job ends as it would
have. Listing, batches, uploads and Idempotency-Keys are held to the same rule.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from local.sample_shop import SampleShop
from local.stack import LocalStack

from mediajobs.aws import dynamodb_table
from mediajobs.jobs.store import JobStore
from tests.e2e.conftest import FINAL, Client, sandbox_settings

STRANGER_KEY = "other-tenant-key"

# fast providers for this module: a job takes one to two seconds
FAST_CREATIFY = {
    "initializing_seconds": 0.1,
    "image_generating_seconds": 0.3,
    "video_generating_seconds": 0.4,
}
FAST_PRODVISUAL = {"pending_seconds": 0.05, "processing_seconds": 0.3}
#: long enough for the stranger's attempt to land while the job runs
SLOW_IMAGE_SECONDS = 1.0

#: (method, path after /v1/jobs/{id}, body): each one a request A may send about its own job
JOB_ACTIONS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "read": ("GET", "", None),
    "cancel": ("POST", "/cancel", None),
    "regenerate": ("POST", "/regenerate", {"image_prompt": "on marble"}),
    "continue": ("POST", "/video", {"video_prompt": "turntable"}),
}
#: what the owner gets for the same request on its succeeded preview-only Creatify job
OWNER_ANSWERS = {"read": 200, "cancel": 409, "regenerate": 202, "continue": 202}


@pytest.fixture(scope="module", autouse=True)
def fast_providers(stack: LocalStack) -> Iterator[None]:
    assert stack.sandboxes is not None
    with contextlib.ExitStack() as changes:
        changes.enter_context(sandbox_settings(stack.sandboxes.creatify, **FAST_CREATIFY))
        changes.enter_context(sandbox_settings(stack.sandboxes.prodvisual, **FAST_PRODVISUAL))
        yield


@pytest.fixture(scope="module")
def owner(stack: LocalStack) -> Iterator[Client]:
    client = Client(stack.api_url, stack.api_key)
    yield client
    client.http.close()


@pytest.fixture(scope="module")
def stranger(stack: LocalStack) -> Iterator[Client]:
    client = Client(stack.api_url, STRANGER_KEY)
    yield client
    client.http.close()


@pytest.fixture
def preview_job(owner: Client, shop: SampleShop) -> dict[str, Any]:
    """A's succeeded Creatify job that stopped at its preview: A may read, regenerate and continue it."""
    job = owner.run(preview_body(shop))
    assert job["status"] == "succeeded", job.get("error")
    return job


def preview_body(shop: SampleShop) -> dict[str, Any]:
    return {
        "provider": "creatify",
        "product": {"image_url": shop.url("product.png")},
        "options": {"stop_after": "image"},
    }


def prodvisual_body(shop: SampleShop) -> dict[str, Any]:
    return {
        "provider": "prodvisual",
        "product": {"image_url": shop.url("product.png")},
        "options": {"style": "white_bg"},
    }


def send(client: Client, job_id: str, action: str) -> httpx.Response:
    method, suffix, body = JOB_ACTIONS[action]
    return client.http.request(method, f"/v1/jobs/{job_id}{suffix}", json=body)


def assert_like_an_unknown_id(answer: httpx.Response, unknown: httpx.Response, asked: str, twin: str) -> None:
    """``answer`` (about ``asked``) is the answer ``unknown`` (about ``twin``, which never existed):
    404 not_found with the API's error body, and nothing in it but the id the caller sent."""
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert error["code"] == "not_found"
    assert isinstance(error["message"], str)
    assert error["message"]
    assert unknown.status_code == 404, unknown.text
    assert without_request_id(answer).replace(asked, "<id>") == without_request_id(unknown).replace(
        twin, "<id>"
    )


def without_request_id(answer: httpx.Response) -> str:
    """The error body but its ``request_id`` (each request has its own): what else it says."""
    body = answer.json()
    assert body["error"].pop("request_id")
    return json.dumps(body, sort_keys=True)


def stored(stack: LocalStack, job_id: str) -> dict[str, Any]:
    """The job's record as stored (with its version), not as the API shows it."""
    return JobStore(dynamodb_table(stack.table_name)).get(job_id).model_dump(mode="json")


def settled(stack: LocalStack, job_id: str, timeout: float = 20.0) -> dict[str, Any]:
    """The job's record once its execution ended: from then on only a client's action writes it."""
    arn = f"{stack.state_machine_arn.replace(':stateMachine:', ':execution:')}:{job_id}"
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"the execution of job {job_id} still runs"
        time.sleep(0.1)
    return stored(stack, job_id)


def without_links(job: dict[str, Any]) -> dict[str, Any]:
    """The job as the API shows it, less its presigned download links (new on every read)."""
    outputs = [
        {k: v for k, v in output.items() if k not in ("download_url", "download_url_expires_at")}
        for output in job["outputs"]
    ]
    return job | {"outputs": outputs}


def listed(client: Client) -> list[dict[str, Any]]:
    """Every job of the client's tenant, across all pages."""
    jobs: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        answer = client.http.get("/v1/jobs", params=params)
        assert answer.status_code == 200, answer.text
        jobs.extend(answer.json()["jobs"])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return jobs


def linked_to(client: Client, job_id: str) -> list[str]:
    """The client's jobs that regenerate or continue ``job_id``."""
    return [
        job["job_id"]
        for job in listed(client)
        if job_id in (job.get("regenerated_from"), job.get("continued_from"))
    ]


def wait_batch(client: Client, batch_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = client.http.get(f"/v1/batches/{batch_id}")
        assert answer.status_code == 200, answer.text
        if answer.json()["status"] == "completed":
            return dict(answer.json())
        time.sleep(0.25)
    raise AssertionError(f"batch {batch_id} not completed after {timeout}s")


# -- job actions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", list(JOB_ACTIONS))
def test_a_stranger_acting_on_a_finished_job_finds_nothing_changes_nothing_and_takes_nothing(
    stack: LocalStack, owner: Client, stranger: Client, preview_job: dict[str, Any], action: str
) -> None:
    job_id = preview_job["job_id"]
    twin = uuid.uuid4().hex
    record_before = settled(stack, job_id)

    answer = send(stranger, job_id, action)

    assert_like_an_unknown_id(answer, send(stranger, twin, action), job_id, twin)
    assert stored(stack, job_id) == record_before
    assert without_links(owner.job(job_id)) == without_links(preview_job)
    assert linked_to(owner, job_id) == []
    assert linked_to(stranger, job_id) == []
    # the owner's same request is still answered as it would have been (nothing was used up)
    mine = send(owner, job_id, action)
    assert mine.status_code == OWNER_ANSWERS[action], mine.text
    if mine.status_code == 202:
        assert owner.wait_final(mine.json()["job_id"])["status"] == "succeeded"


@pytest.mark.parametrize("action", list(JOB_ACTIONS))
def test_a_stranger_acting_on_a_running_job_does_not_change_how_it_ends(
    stack: LocalStack, owner: Client, stranger: Client, shop: SampleShop, action: str
) -> None:
    assert stack.sandboxes is not None
    with sandbox_settings(stack.sandboxes.creatify, image_generating_seconds=SLOW_IMAGE_SECONDS):
        job_id = owner.create(preview_body(shop))["job_id"]
        twin = uuid.uuid4().hex

        answer = send(stranger, job_id, action)

        assert_like_an_unknown_id(answer, send(stranger, twin, action), job_id, twin)
        assert owner.job(job_id)["status"] not in FINAL  # the attempt landed while it ran
        job = owner.wait_final(job_id)

    assert job["status"] == "succeeded", job.get("error")
    assert "cancelled" not in [entry["status"] for entry in job["timeline"]]
    assert [o["kind"] for o in job["outputs"]] == ["preview"]
    assert stored(stack, job_id)["status"] == "succeeded"
    assert linked_to(owner, job_id) == []
    assert linked_to(stranger, job_id) == []


# -- listing --------------------------------------------------------------------------------------


def test_a_strangers_listing_holds_none_of_the_tenants_jobs(
    owner: Client, stranger: Client, preview_job: dict[str, Any]
) -> None:
    mine = {job["job_id"] for job in listed(owner)}
    assert preview_job["job_id"] in mine

    for params in ({}, {"status": "succeeded"}, {"provider": "creatify"}, {"limit": 1}):
        answer = stranger.http.get("/v1/jobs", params=params)
        assert answer.status_code == 200, answer.text
        assert {job["job_id"] for job in answer.json()["jobs"]}.isdisjoint(mine)
    assert {job["job_id"] for job in listed(stranger)}.isdisjoint(mine)


def test_a_strangers_listing_with_the_tenants_cursor_is_refused_like_a_made_up_cursor(
    owner: Client, stranger: Client, shop: SampleShop
) -> None:
    # at least two jobs: a page of one has a next page
    created = [owner.create(prodvisual_body(shop))["job_id"] for _ in range(2)]
    page = owner.http.get("/v1/jobs", params={"limit": 1})
    cursor = page.json()["next_cursor"]
    assert cursor
    mine = {job["job_id"] for job in listed(owner)}

    answer = stranger.http.get("/v1/jobs", params={"limit": 1, "cursor": cursor})
    made_up = stranger.http.get("/v1/jobs", params={"limit": 1, "cursor": "not-a-cursor"})

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_cursor"
    assert without_request_id(answer) == without_request_id(made_up)
    assert not any(job_id in answer.text for job_id in mine)
    # the cursor still pages for its own tenant
    assert owner.http.get("/v1/jobs", params={"limit": 1, "cursor": cursor}).status_code == 200
    # its own jobs end before the next test (the stack's tenant also holds other modules' jobs,
    # some of them planted records that never run)
    for job_id in created:
        owner.wait_final(job_id)


# -- batches and uploads --------------------------------------------------------------------------


def test_a_strangers_read_of_the_tenants_batch_and_its_jobs_finds_nothing(
    owner: Client, stranger: Client, shop: SampleShop
) -> None:
    created = owner.http.post("/v1/batches", json={"items": [prodvisual_body(shop)]})
    assert created.status_code == 202, created.text
    batch_id, [job_id] = created.json()["batch_id"], created.json()["job_ids"]
    twin = uuid.uuid4().hex

    batch_answer = stranger.http.get(f"/v1/batches/{batch_id}")
    job_answer = stranger.http.get(f"/v1/jobs/{job_id}")

    assert_like_an_unknown_id(batch_answer, stranger.http.get(f"/v1/batches/{twin}"), batch_id, twin)
    assert_like_an_unknown_id(job_answer, stranger.http.get(f"/v1/jobs/{twin}"), job_id, twin)
    batch = wait_batch(owner, batch_id)
    assert batch["counts"] == {"succeeded": 1}
    assert [item["job_id"] for item in batch["items"]] == [job_id]


def test_a_strangers_read_of_the_tenants_upload_finds_nothing_and_changes_nothing(
    owner: Client, stranger: Client
) -> None:
    spec = {"provider": "prodvisual", "options": {"style": "lifestyle"}}
    created = owner.http.post("/v1/uploads", params={"filename": "product.png"}, json=spec)
    assert created.status_code == 201, created.text
    upload_id = created.json()["upload_id"]
    before = owner.http.get(f"/v1/uploads/{upload_id}").json()
    twin = uuid.uuid4().hex

    answer = stranger.http.get(f"/v1/uploads/{upload_id}")

    assert_like_an_unknown_id(answer, stranger.http.get(f"/v1/uploads/{twin}"), upload_id, twin)
    assert owner.http.get(f"/v1/uploads/{upload_id}").json() == before
    assert before["status"] == "awaiting_upload"


# -- idempotency keys -----------------------------------------------------------------------------


def test_a_stranger_sending_the_tenants_idempotency_key_gets_a_new_job_of_its_own(
    owner: Client, stranger: Client, shop: SampleShop
) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    body = prodvisual_body(shop)
    first = owner.http.post("/v1/jobs", json=body, headers=headers)
    assert first.status_code == 202, first.text
    mine = first.json()["job_id"]

    theirs = stranger.http.post("/v1/jobs", json=body, headers=headers)

    assert theirs.status_code == 202, theirs.text
    assert theirs.json()["job_id"] != mine
    assert mine not in theirs.text
    assert mine not in theirs.headers["location"]
    assert theirs.headers["idempotent-replayed"] == "false"
    their_job = theirs.json()["job_id"]
    assert stranger.wait_final(their_job)["status"] == "succeeded"
    assert owner.http.get(f"/v1/jobs/{their_job}").status_code == 404
    assert stranger.http.get(f"/v1/jobs/{mine}").status_code == 404
    again = owner.http.post("/v1/jobs", json=body, headers=headers)
    assert (again.status_code, again.json()["job_id"]) == (202, mine)
    assert again.headers["idempotent-replayed"] == "true"
    assert owner.wait_final(mine)["status"] == "succeeded"
