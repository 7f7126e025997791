"""Fallback providers on the local stack: one job, a second provider after a verified failure only."""

from __future__ import annotations

import hashlib
import io
import time
from datetime import datetime
from typing import Any

import httpx
from local.sample_shop import SampleShop
from local.stack import LocalStack
from PIL import Image

from tests.e2e.conftest import (
    FALLBACK_UNREACHABLE_SECONDS,
    FAST_CREATIFY,
    FAST_PRODVISUAL,
    Client,
    sandbox_settings,
)

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


#: ProdVisual takes create calls, then answers every status read with a 500 and sends no webhook:
#: the job's generation runs on, and mediajobs can no longer learn how it ends
STATUS_UNREACHABLE = {"endpoints": {"generation_status": {"server_error": 1.0}}, "webhook_drop": 1.0}


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


def test_given_the_provider_stops_answering_status_reads_when_a_job_has_a_fallback_then_the_second_makes_it(
    client: Client, shop: SampleShop, stack: LocalStack
) -> None:
    # Given ProdVisual accepts the create call, then its status reads all fail (and it sends no webhook)
    assert stack.sandboxes is not None
    sandbox = stack.sandboxes.prodvisual
    body = FALLBACK_BODY | {"product": {"image_url": shop.url("product.png")}}
    with (
        sandbox_settings(sandbox, **FAST_PRODVISUAL, faults=STATUS_UNREACHABLE),
        sandbox_settings(stack.sandboxes.creatify, **FAST_CREATIFY),
    ):
        # When a job with a Creatify fallback runs
        job = client.run(body, timeout=120)
        status_reads = [
            r for r in sandbox.requests if r.endpoint == "generation_status" and r.fault == "injected_5xx"
        ]

    # Then it is one succeeded job on Creatify, after ProdVisual's generation was really created
    assert job["status"] == "succeeded", job.get("error")
    assert job["provider"] == "creatify"
    generations = prodvisual_generations_of(stack, job["job_id"])
    assert len(generations) == 1
    assert status_reads, "ProdVisual's status reads were never faulted"
    creatify_ids = creatify_tasks_of(stack, job["job_id"])
    assert len(creatify_ids) == 1
    assert [p["provider_job_id"] for p in job["provider_jobs"]] == [generations[0], creatify_ids[0]]
    assert [o["kind"] for o in job["outputs"]] == ["preview"]
    # And its two attempts say ProdVisual stayed unreachable past the bound
    attempts = [(a["provider"], a["outcome"]) for a in job["attempts"]]
    assert attempts == [("prodvisual", "provider_unavailable"), ("creatify", "succeeded")]
    assert "prodvisual stayed unreachable for" in job["attempts"][0]["message"]
    tried = job["attempts"][0]
    elapsed = _seconds_between(tried["started_at"], tried["ended_at"])
    assert elapsed >= FALLBACK_UNREACHABLE_SECONDS
    details = [e["detail"] for e in job["timeline"]]
    assert "prodvisual provider_unavailable; fallback to creatify" in details


def test_given_the_provider_stops_answering_status_reads_when_a_job_has_no_fallback_then_it_keeps_polling(
    client: Client, shop: SampleShop, stack: LocalStack
) -> None:
    # Given ProdVisual accepts the create call, then its status reads all fail (and it sends no webhook)
    assert stack.sandboxes is not None
    sandbox = stack.sandboxes.prodvisual
    body = {
        "provider": "prodvisual",
        "options": {"style": "lifestyle"},
        "product": {"image_url": shop.url("product.png")},
    }
    with sandbox_settings(sandbox, **FAST_PRODVISUAL, faults=STATUS_UNREACHABLE):
        job_id = client.create(body)["job_id"]
        # When it stays unreachable for well past the fallback bound
        time.sleep(FALLBACK_UNREACHABLE_SECONDS * 2)
        during = client.job(job_id)
        faulted = sum(1 for r in sandbox.requests if r.fault == "injected_5xx")

    # Then the job was still waiting on ProdVisual (it did not fail early) ...
    assert during["status"] == "running", during.get("error")
    assert faulted >= 2, "ProdVisual's status reads were never faulted"
    # ... and once ProdVisual answers again, its next status read finishes the job there
    job = client.wait_final(job_id, timeout=60)
    assert job["status"] == "succeeded", job.get("error")
    assert [(a["provider"], a["outcome"]) for a in job["attempts"]] == [("prodvisual", "succeeded")]
    assert len(prodvisual_generations_of(stack, job_id)) == 1


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
