"""Failure paths end cleanly: a mapped error, no output, and nothing changed by forged callbacks."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import httpx
from local.sample_shop import SampleShop
from local.stack import LocalStack

from tests.e2e.billing_support import generations_made, generations_since
from tests.e2e.conftest import Client, sandbox_settings


def prodvisual_job(shop: SampleShop) -> dict[str, object]:
    return {
        "provider": "prodvisual",
        "product": {"image_url": shop.url("product.png")},
        "options": {"style": "mockup"},
    }


def creatify_job(shop: SampleShop) -> dict[str, object]:
    return {"provider": "creatify", "product": {"image_url": shop.url("product.jpg")}, "options": {}}


def test_a_failed_provider_job_fails_the_job_with_the_providers_reason(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    sandbox = stack.sandboxes.creatify
    faults = sandbox.settings.faults.model_copy(
        update={"job_failure_rate": 1.0, "failed_reason": "blurry product"}
    )
    with sandbox_settings(sandbox, faults=faults.model_dump()):
        job = client.run(creatify_job(shop))

    assert job["status"] == "failed"
    assert job["error"]["code"] == "provider_failed"
    assert "blurry product" in job["error"]["message"]
    assert job["outputs"] == []


def test_insufficient_credits_park_the_job_then_fail_it_at_its_deadline_with_a_mapped_code(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    sandbox = stack.sandboxes.prodvisual
    with sandbox.balance(0):
        job_id = client.create(prodvisual_job(shop) | {"deadline_seconds": 5})["job_id"]
        parked = client.job(job_id)
        while parked["status"] == "queued":
            parked = client.job(job_id)
        job = client.wait_final(job_id, timeout=60)

    assert parked["status"] == "waiting_credits"
    assert job["status"] == "failed"
    assert job["error"]["code"] == "provider_insufficient_credits"
    assert job["error"]["provider_code"] == "insufficient_credits"
    assert job["outputs"] == []
    failed_at = datetime.fromisoformat(job["timeline"][-1]["at"])
    assert failed_at >= datetime.fromisoformat(job["deadline_at"])
    assert [e["status"] for e in job["timeline"]] == ["queued", "waiting_credits", "failed"]


def test_a_product_url_that_is_not_an_image_is_refused_before_any_job_exists(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    mark = generations_made(stack)
    answer = client.http.post(
        "/v1/jobs",
        json={
            "provider": "prodvisual",
            "product": {"image_url": shop.url("not-an-image.txt")},
            "options": {"style": "mockup"},
        },
    )

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_product_image"
    assert "text" in answer.json()["error"]["message"]
    # no generation was made for a job that does not exist (other tests' jobs on the stack may
    # be making theirs; reading the style catalog to check the options is not a generation)
    assert generations_since(stack, mark, tenant=None) == []


def test_every_webhook_dropped_still_succeeds_by_polling(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    sandbox = stack.sandboxes.creatify
    faults = sandbox.settings.faults.model_copy(update={"webhook_drop": 1.0})
    with sandbox_settings(sandbox, faults=faults.model_dump()):
        job = client.run(creatify_job(shop))
        dropped = [w for w in sandbox.webhooks if w.outcome == "dropped"]

    assert job["status"] == "succeeded"
    assert {o["kind"] for o in job["outputs"]} == {"preview", "video"}
    assert len(dropped) >= 2


def test_a_forged_webhook_is_refused_and_changes_nothing(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    with sandbox_settings(stack.sandboxes.prodvisual, pending_seconds=3.0):
        created = client.create(
            {
                "provider": "prodvisual",
                "product": {"image_url": shop.url("product.png")},
                "options": {"style": "mockup"},
            }
        )
        before = client.job(created["job_id"])
        while not before["provider_jobs"]:
            before = client.job(created["job_id"])
        task_id = before["provider_jobs"][0]["provider_job_id"]
        body = json.dumps(
            {
                "event": "generation.completed",
                "data": {
                    "id": task_id,
                    "status": "completed",
                    "output_url": "http://127.0.0.1:9/evil.png",
                    "credits_used": 1,
                },
                "timestamp": "2026-11-22T10:00:00Z",
            }
        ).encode()
        forged = hmac.new(b"not-the-key", body, hashlib.sha256).hexdigest()
        answer = httpx.post(
            f"{stack.api_url}/v1/webhooks/prodvisual",
            content=body,
            headers={"Content-Type": "application/json", "X-ProdVisual-Signature": forged},
        )
        after = client.job(created["job_id"])

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_signature"
    assert after["status"] == before["status"]
    assert after["provider_jobs"][0]["state"] != "completed"
    final = client.wait_final(created["job_id"])
    assert final["status"] == "succeeded"
    assert "evil" not in json.dumps(final)


def test_a_creatify_callback_with_a_wrong_token_is_not_found(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    created = client.create(creatify_job(shop))
    answer = httpx.post(
        f"{stack.api_url}/v1/webhooks/creatify/{created['job_id']}.guessed-token",
        json={"id": "7e5e8a6f-d0d5-4736-b390-03e696ffc969", "status": "video_generated"},
    )

    assert answer.status_code == 404
    assert client.wait_final(created["job_id"])["status"] == "succeeded"


def test_a_job_past_its_deadline_fails_with_code_timeout(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    table = stack.client("dynamodb")
    with sandbox_settings(stack.sandboxes.creatify, image_generating_seconds=60.0):
        created = client.create(creatify_job(shop))
        # the deadline passing, without waiting for it: move it to a few seconds from now
        soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat().replace("+00:00", "Z")
        table.update_item(
            TableName=stack.table_name,
            Key={"pk": {"S": f"JOB#{created['job_id']}"}, "sk": {"S": "JOB"}},
            UpdateExpression="SET deadline_at = :soon",
            ExpressionAttributeValues={":soon": {"S": soon}},
        )
        job = client.wait_final(created["job_id"], timeout=30)

    assert job["status"] == "failed"
    assert job["error"]["code"] == "timeout"
    assert job["outputs"] == []


def test_duplicate_and_late_signed_webhooks_answer_200_and_change_nothing(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    job = client.run(prodvisual_job(shop))
    assert job["status"] == "succeeded"
    task_id = job["provider_jobs"][0]["provider_job_id"]
    late = json.dumps(
        {
            "event": "generation.failed",
            "data": {"id": task_id, "status": "failed", "credits_used": 0},
            "timestamp": "2026-11-22T10:00:00Z",
        }
    ).encode()
    signature = hmac.new(b"pv_test_sandbox", late, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-ProdVisual-Signature": signature}

    answers = [
        httpx.post(f"{stack.api_url}/v1/webhooks/prodvisual", content=late, headers=headers) for _ in range(2)
    ]

    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].json()["outcome"] == "duplicate"
    after = client.job(job["job_id"])
    assert after["status"] == "succeeded"
    assert after["outputs"] == job["outputs"] or [o["sha256"] for o in after["outputs"]] == [
        o["sha256"] for o in job["outputs"]
    ]
