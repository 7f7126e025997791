"""Fallback providers on the local stack: one job, a second provider after a verified failure only."""

from __future__ import annotations

import hashlib
import io
import time
from typing import Any

import httpx
from local.sample_shop import SampleShop
from local.stack import LocalStack
from PIL import Image

from tests.e2e.conftest import FAST_CREATIFY, FAST_PRODVISUAL, Client, sandbox_settings

FALLBACK_BODY: dict[str, Any] = {
    "provider": "prodvisual",
    "options": {"style": "lifestyle"},
    "fallback": [{"provider": "creatify", "options": {"stop_after": "image"}}],
}


def creatify_tasks_of(stack: LocalStack, job_id: str) -> list[str]:
    assert stack.sandboxes is not None
    tasks = stack.sandboxes.creatify.tasks.values()
    return [
        t.id for t in tasks if job_id in (t.webhook_url or "") or job_id in (t.product_showcase_url or "")
    ]


def creatify_creates(stack: LocalStack) -> int:
    """Create calls the Creatify sandbox has received (any job)."""
    assert stack.sandboxes is not None
    return sum(1 for r in stack.sandboxes.creatify.requests if r.endpoint == "gen_image")


def prodvisual_generations_of(stack: LocalStack, job_id: str) -> list[str]:
    assert stack.sandboxes is not None
    generations = stack.sandboxes.prodvisual.generations.values()
    # product links are signed: /p/<job id>.<stage>.<expiry>.<signature>
    return [g.id for g in generations if f"/p/{job_id}." in g.spec.image_url]


def test_given_the_first_provider_fails_every_generation_when_a_job_has_a_fallback_then_the_second_makes_it(
    client: Client, shop: SampleShop, stack: LocalStack
) -> None:
    # Given ProdVisual fails every generation (its own terminal answer), Creatify works
    assert stack.sandboxes is not None
    body = FALLBACK_BODY | {"product": {"image_url": shop.url("product.png")}}
    with (
        sandbox_settings(
            stack.sandboxes.prodvisual,
            **FAST_PRODVISUAL,
            faults={"job_failure_rate": 1.0, "failed_reason": "content policy (injected)"},
        ),
        sandbox_settings(stack.sandboxes.creatify, **FAST_CREATIFY),
    ):
        # When a client runs a ProdVisual job with a Creatify fallback
        job = client.run(body, timeout=120)

    # Then it is one succeeded job whose provider is Creatify, with Creatify's image
    assert job["status"] == "succeeded", job.get("error")
    assert job["provider"] == "creatify"
    assert job["error"] is None
    assert len(prodvisual_generations_of(stack, job["job_id"])) == 1
    creatify_ids = creatify_tasks_of(stack, job["job_id"])
    assert len(creatify_ids) == 1
    assert [o["kind"] for o in job["outputs"]] == ["preview"]  # Creatify stopped after its image
    output = job["outputs"][0]
    data = httpx.get(output["download_url"], timeout=30.0).raise_for_status().content
    assert hashlib.sha256(data).hexdigest() == output["sha256"]
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert (image.width, image.height) == (output["width"], output["height"])
    assert [(p["provider_job_id"], p["state"]) for p in job["provider_jobs"]][-1] == (
        creatify_ids[0],
        "completed",
    )
    # And its attempts and timeline say which provider failed and why it moved on
    attempts = [(a["provider"], a["outcome"]) for a in job["attempts"]]
    assert attempts == [("prodvisual", "provider_failed"), ("creatify", "succeeded")]
    assert "content policy (injected)" in job["attempts"][0]["message"]
    details = [e["detail"] for e in job["timeline"]]
    assert "prodvisual provider_failed; fallback to creatify" in details


def test_given_a_create_call_that_timed_out_when_the_job_has_a_fallback_then_it_adopts_and_never_calls_it(
    client: Client, shop: SampleShop, stack: LocalStack
) -> None:
    # Given ProdVisual's generate endpoint hangs past mediajobs' provider timeout (no answer)
    assert stack.sandboxes is not None
    sandbox = stack.sandboxes.prodvisual
    body = FALLBACK_BODY | {"product": {"image_url": shop.url("product.png")}}
    hang = {"endpoints": {"generate": {"timeout": 1.0}}, "timeout_seconds": 21.0}
    creates_before = creatify_creates(stack)
    with sandbox_settings(sandbox, **FAST_PRODVISUAL, faults=hang):
        # When a job with a Creatify fallback is submitted and its first create call goes unanswered
        job_id = client.create(body)["job_id"]
        deadline = time.monotonic() + 60
        while sandbox.injected["timeout"] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sandbox.injected["timeout"] >= 1, "the injected timeout did not happen"
        # the provider answers again before the job's wait for a callback ends
        time.sleep(1.0)
    job = client.wait_final(job_id, timeout=120)

    # Then the job waited and finished on ProdVisual; Creatify never received a create call
    assert job["status"] == "succeeded", job.get("error")
    assert job["provider"] == "prodvisual"
    assert [a["provider"] for a in job["attempts"]] == ["prodvisual"]
    assert creatify_tasks_of(stack, job_id) == []
    assert creatify_creates(stack) == creates_before
    assert len(prodvisual_generations_of(stack, job_id)) == 1
    assert [o["kind"] for o in job["outputs"]] == ["image"]
