"""Batch retries, external ids, outcomes and the results manifest, through the HTTP API."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from typing import Any

import httpx
from local.sample_shop import SampleShop
from local.stack import LocalStack
from standardwebhooks import Webhook

from mediajobs.notifications.signing import generate_secret
from tests.e2e.conftest import Client, fast_sandboxes, sandbox_settings
from tests.support.servers import WebhookReceiver

CLOSED = {"completed"}


def wait_closed(client: Client, batch_id: str, round_: int, timeout: float = 120.0) -> dict[str, Any]:
    """The batch once the given round completed and its results manifest is linked."""
    deadline = time.monotonic() + timeout
    batch: dict[str, Any] = {}
    while time.monotonic() < deadline:
        batch = client.http.get(f"/v1/batches/{batch_id}").json()
        if batch["status"] in CLOSED and batch["round"] == round_ and batch["results"] is not None:
            return batch
        time.sleep(0.5)
    raise AssertionError(f"batch {batch_id} round {round_} not closed: {batch}")


def creatify_creates(stack: LocalStack) -> int:
    assert stack.sandboxes is not None
    return sum(1 for r in stack.sandboxes.creatify.requests if r.endpoint == "gen_image")


def retry(client: Client, batch_id: str) -> httpx.Response:
    return client.http.post(f"/v1/batches/{batch_id}/retry")


def test_given_failed_items_when_the_batch_is_retried_then_only_failed_items_rerun_once_each(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    image = shop.url("product.png")
    items: list[dict[str, Any]] = [
        {
            "provider": "prodvisual",
            "product": {"image_url": image},
            "options": {"style": "white_bg"},
            "external_id": "sku-ok",
        },
        {
            "provider": "creatify",
            "product": {"image_url": image},
            "options": {"stop_after": "image"},
            "external_id": "sku-flaky",
        },
        {
            "provider": "prodvisual",
            "product": {"image_url": shop.url("not-an-image.txt")},
            "options": {"style": "white_bg"},
            "external_id": "sku-broken",
        },
    ]
    with fast_sandboxes(stack):
        # Given a batch whose Creatify item fails at the provider and whose third item has no image
        before = creatify_creates(stack)
        with sandbox_settings(stack.sandboxes.creatify, faults={"job_failure_rate": 1.0}):
            accepted = client.http.post("/v1/batches", json={"items": items}).json()
            first = wait_closed(client, accepted["batch_id"], 0)
        batch_id = accepted["batch_id"]
        assert first["outcome"] == "partially_succeeded"
        assert first["counts"] == {"succeeded": 1, "failed": 2}
        assert [i["external_id"] for i in first["items"]] == ["sku-ok", "sku-flaky", "sku-broken"]
        ok_job, flaky_job, broken_job = (i["job_id"] for i in first["items"])

        # When it is retried once the provider works again
        answer = retry(client, batch_id)
        concurrent = retry(client, batch_id)
        second = wait_closed(client, batch_id, 1)

        # Then exactly the two failed items got a new job each, linked to the failed one
        assert answer.status_code == 202, answer.text
        retried = answer.json()
        assert (retried["round"], retried["retried"]) == (1, 2)
        assert concurrent.status_code == 409
        assert concurrent.json()["error"]["code"] == "batch_running"
        by_external = {i["external_id"]: i for i in second["items"]}
        assert by_external["sku-ok"]["job_id"] == ok_job
        assert by_external["sku-ok"]["retried_from"] is None
        assert by_external["sku-flaky"]["retried_from"] == flaky_job
        assert by_external["sku-broken"]["retried_from"] == broken_job
        assert sorted(retried["job_ids"]) == sorted(
            [by_external["sku-flaky"]["job_id"], by_external["sku-broken"]["job_id"]]
        )
        assert by_external["sku-flaky"]["status"] == "succeeded"
        assert second["counts"] == {"succeeded": 2, "failed": 1}
        assert second["outcome"] == "partially_succeeded"
        new_flaky = client.job(by_external["sku-flaky"]["job_id"])
        assert (new_flaky["external_id"], new_flaky["retried_from"]) == ("sku-flaky", flaky_job)
        assert new_flaky["batch_id"] == batch_id

        # When it is retried again: only the item whose retry failed reruns
        third_answer = retry(client, batch_id)
        third = wait_closed(client, batch_id, 2)

    assert third_answer.status_code == 202, third_answer.text
    assert third_answer.json()["retried"] == 1
    broken_items = [i for i in third["items"] if i["external_id"] == "sku-broken"]
    assert broken_items[0]["retried_from"] == by_external["sku-broken"]["job_id"]
    assert third["counts"] == {"succeeded": 2, "failed": 1}
    # the Creatify item was created at the provider twice: its failure and its one retry
    assert creatify_creates(stack) - before == 2
    # and the earlier rounds' jobs are kept, still failed
    assert client.job(flaky_job)["status"] == "failed"


def test_given_a_closed_batch_when_reading_it_then_it_links_a_results_manifest_of_every_item(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    image = shop.url("product.png")
    items = [
        {
            "provider": "prodvisual",
            "product": {"image_url": image},
            "options": {"style": "lifestyle"},
            "external_id": "A-1",
        },
        {
            "provider": "prodvisual",
            "product": {"image_url": shop.url("not-an-image.txt")},
            "options": {"style": "lifestyle"},
            "external_id": "A-2",
        },
    ]
    with fast_sandboxes(stack):
        accepted = client.http.post("/v1/batches", json={"items": items}).json()
        batch = wait_closed(client, accepted["batch_id"], 0)

    document = httpx.get(batch["results"]["json_url"], timeout=30.0).raise_for_status().json()
    rows = {row["external_id"]: row for row in document["items"]}
    ok, bad = client.job(rows["A-1"]["job_id"]), client.job(rows["A-2"]["job_id"])
    assert (rows["A-1"]["status"], rows["A-2"]["status"]) == ("succeeded", "failed")
    assert rows["A-2"]["error_code"] == bad["error"]["code"] == "invalid_product_image"
    assert len(rows["A-1"]["output_keys"]) == len(ok["outputs"]) == 1
    assert rows["A-1"]["output_keys"][0].startswith(f"outputs/{ok['job_id']}/")
    assert rows["A-2"]["output_keys"] == []
    table = httpx.get(batch["results"]["csv_url"], timeout=30.0).raise_for_status().text
    parsed = list(csv.DictReader(io.StringIO(table)))
    assert [(r["external_id"], r["job_id"], r["status"]) for r in parsed] == [
        ("A-1", ok["job_id"], "succeeded"),
        ("A-2", bad["job_id"], "failed"),
    ]
    assert parsed[1]["error_code"] == "invalid_product_image"


def test_given_two_items_with_one_external_id_when_creating_the_batch_then_it_is_refused(
    client: Client,
) -> None:
    item = {"provider": "creatify", "product": {"image_url": "https://a.example/p.png"}, "external_id": "x"}

    answer = client.http.post("/v1/batches", json={"items": [item, item]})

    assert answer.status_code == 422
    assert "already the id of items.0" in answer.text


def test_given_a_running_batch_when_retried_then_it_is_a_conflict(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    item = {"provider": "creatify", "product": {"image_url": shop.url("product.png")}}
    with sandbox_settings(stack.sandboxes.creatify, initializing_seconds=3.0):
        accepted = client.http.post("/v1/batches", json={"items": [item]}).json()
        answer = retry(client, accepted["batch_id"])

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "batch_running"
    wait_closed(client, accepted["batch_id"], 0)


# --- batches from a manifest file ---------------------------------------------------------------


def upload_manifest(client: Client, fmt: str, body: bytes, **request: Any) -> dict[str, Any]:
    """POST /v1/batch-manifests, then send the file with the presigned form as a client app would."""
    answer = client.http.post("/v1/batch-manifests", json={"format": fmt, **request})
    assert answer.status_code == 201, answer.text
    created = dict(answer.json())
    assert answer.headers["location"] == f"/v1/batch-manifests/{created['manifest_id']}"
    sent = httpx.post(
        created["url"],
        data=created["fields"],
        files={"file": (f"manifest.{fmt}", body, created["fields"]["Content-Type"])},
        timeout=30.0,
    )
    assert sent.status_code in {200, 201, 204}, sent.text
    return created


def wait_manifest(client: Client, manifest_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    manifest: dict[str, Any] = {}
    while time.monotonic() < deadline:
        manifest = client.http.get(f"/v1/batch-manifests/{manifest_id}").json()
        if manifest["status"] != "awaiting_file":
            return manifest
        time.sleep(0.25)
    raise AssertionError(f"manifest {manifest_id} still awaiting its file: {manifest}")


def test_given_a_csv_manifest_of_five_rows_when_uploaded_then_its_batch_runs_to_a_results_manifest(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    image = shop.url("product.png")
    rows = [
        ("sku-1", "prodvisual", "lifestyle", ""),
        ("sku-2", "prodvisual", "white_bg", ""),
        ("sku-3", "prodvisual", "mockup", ""),
        ("sku-4", "creatify", "", "image"),
        ("sku-5", "creatify", "", "image"),
    ]
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["external_id", "provider", "image_url", "style", "stop_after", "metadata.row"])
    for number, (external_id, provider, style, stop_after) in enumerate(rows, start=1):
        writer.writerow([external_id, provider, image, style, stop_after, str(number)])

    with fast_sandboxes(stack):
        # Given a CSV manifest of five rows sent with the presigned POST
        created = upload_manifest(client, "csv", table.getvalue().encode(), metadata={"source": "csv"})
        # When S3 tells mediajobs the file landed
        manifest = wait_manifest(client, created["manifest_id"])
        assert manifest["status"] == "started", manifest
        batch = wait_closed(client, manifest["batch_id"], 0)

    # Then the manifest names the batch it started, and the batch ran every row to a result
    assert manifest["links"]["batch"] == f"/v1/batches/{manifest['batch_id']}"
    assert batch["metadata"] == {"source": "csv"}
    assert batch["outcome"] == "succeeded"
    assert [i["external_id"] for i in batch["items"]] == [r[0] for r in rows]
    document = httpx.get(batch["results"]["json_url"], timeout=30.0).raise_for_status().json()
    assert [(r["external_id"], r["status"]) for r in document["items"]] == [(r[0], "succeeded") for r in rows]
    assert all(r["output_keys"] for r in document["items"])
    job = client.job(document["items"][3]["job_id"])
    assert (job["provider"], job["external_id"], job["metadata"]) == ("creatify", "sku-4", {"row": "4"})


def test_given_a_json_manifest_with_an_invalid_item_when_uploaded_then_it_is_refused_with_the_path(
    client: Client, shop: SampleShop
) -> None:
    items = [
        {"provider": "creatify", "product": {"image_url": shop.url("product.png")}, "external_id": "ok"},
        {
            "provider": "prodvisual",
            "product": {"image_url": shop.url("product.png")},
            "external_id": "no-style",
        },
    ]

    created = upload_manifest(client, "json", json.dumps({"items": items}).encode())
    manifest = wait_manifest(client, created["manifest_id"])

    assert manifest["status"] == "refused"
    assert manifest["batch_id"] is None
    assert manifest["error"]["code"] == "validation_error"
    assert "items.1.prodvisual.options" in [d["path"] for d in manifest["error"]["details"]]


def test_given_items_with_external_ids_when_the_batch_completes_then_the_signed_webhooks_carry_them(
    stack: LocalStack, shop: SampleShop
) -> None:
    receiver = WebhookReceiver()
    try:
        secret = generate_secret()
        tenant = f"batch-hooks-{uuid.uuid4().hex[:8]}"
        stack.add_api_key(f"key-{tenant}", tenant)
        stack.set_tenant_webhooks(tenant, url=receiver.url("jobs"), secrets=[secret])
        client = Client(stack.api_url, f"key-{tenant}")
        item = {
            "provider": "prodvisual",
            "product": {"image_url": shop.url("product.png")},
            "options": {"style": "mockup"},
            "external_id": "hook-1",
        }
        with fast_sandboxes(stack):
            body = {"items": [item], "webhook_url": receiver.url("batch")}
            accepted = client.http.post("/v1/batches", json=body).json()
            wait_closed(client, accepted["batch_id"], 0)
            deadline = time.monotonic() + 30
            while len({d.path for d in receiver.deliveries}) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)

        events = {
            event["type"]: event
            for event in (Webhook(secret).verify(d.body, d.headers) for d in receiver.deliveries)
        }
    finally:
        receiver.stop()
    assert events["job.succeeded"]["data"]["external_id"] == "hook-1"
    assert events["job.succeeded"]["data"]["batch_id"] == accepted["batch_id"]
    assert [i["external_id"] for i in events["batch.completed"]["data"]["items"]] == ["hook-1"]
    assert events["batch.completed"]["data"]["outcome"] == "succeeded"
