"""Fault suite: jobs of all three providers against sandboxes that fail on purpose.

Every provider endpoint answers 10% 5xx and 10% timeouts (it hangs past mediajobs' provider
timeout); 10% of provider webhooks are dropped, 10% sent twice, 10% sent late (out of order);
5% of provider jobs fail. Every job must end in the state the provider's final answer implies,
with each output archived once, byte for byte what the provider served, and exactly one
provider job per job.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from local.sample_shop import SampleShop
from local.sandboxes.common import EndpointFaults, Faults, Sandbox
from local.sandboxes.creatify import CreatifySettings
from local.sandboxes.jogg import JoggSettings
from local.sandboxes.prodvisual import ProdVisualSettings
from local.stack import LocalStack, Timing

from tests.reliability.conftest import SCALE, CountingClient, report, sha256

PROVIDER_TIMEOUT_SECONDS = 2
SEED = 20261122


def faults(seed: int) -> Faults:
    return Faults(
        endpoints={"*": EndpointFaults(server_error=0.10, timeout=0.10)},
        timeout_seconds=PROVIDER_TIMEOUT_SECONDS + 1.5,
        job_failure_rate=0.05,
        webhook_drop=0.10,
        webhook_duplicate=0.10,
        # high enough that a quick run (a few dozen webhooks) reorders some: the suite checks it did
        webhook_reorder=0.20,
        webhook_reorder_seconds=2.0,
        seed=seed,
    )


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        api_port=0,
        quiet=True,
        timing=Timing(
            poll_initial_seconds=3,
            poll_max_seconds=6,
            job_deadline_seconds=1800,
            unanswered_call_wait_seconds=8,
        ),
        # the burst suite proves the rate limits; here they would only slow the run down
        creatify=CreatifySettings(faults=faults(SEED)),
        jogg=JoggSettings(faults=faults(SEED + 1), length_scale=0.2),
        prodvisual=ProdVisualSettings(
            faults=faults(SEED + 2), rate_limit_per_minute=None, rate_limit_per_day=None, credits=100_000
        ),
        parameters={
            "ProviderTimeoutSeconds": str(PROVIDER_TIMEOUT_SECONDS),
            "ProdVisualRequestsPerMinute": "0",
            "ProdVisualRequestsPerDay": "0",
            "JoggPostsPerMinute": "0",
        },
    ) as running:
        running.add_api_key("faults-key", "faults-tenant")
        running.client("s3").put_bucket_versioning(
            Bucket=running.bucket_name, VersioningConfiguration={"Status": "Enabled"}
        )
        yield running


def bodies(shop: SampleShop, n: int) -> list[dict[str, Any]]:
    image = shop.url("product.png")
    made: list[dict[str, Any]] = []
    for i in range(n):
        made.append(
            {"provider": "prodvisual", "product": {"image_url": image}, "options": {"style": "white_bg"}}
        )
        made.append(
            {"provider": "creatify", "product": {"image_url": image}, "options": {"aspect_ratio": "9x16"}}
        )
        made.append(
            {
                "provider": "jogg",
                "product": {"title": f"Aurora bottle {i}", "image_url": image},
                "options": {"aspect_ratio": "portrait", "length": "15"},
            }
        )
    return made


def provider_jobs(stack: LocalStack) -> dict[str, dict[str, Any]]:
    """Every job the sandboxes made, by provider and id, with its final status and output files."""
    assert stack.sandboxes is not None
    pv, cr, jg = stack.sandboxes.prodvisual, stack.sandboxes.creatify, stack.sandboxes.jogg
    return {
        "prodvisual": {
            g.id: {"status": g.status, "hook": g.spec.webhook_url or "", "files": {"image": g.output_url}}
            for g in pv.generations.values()
            if g.batch_id is None
        },
        "creatify": {
            t.id: {
                "status": t.status,
                "hook": t.webhook_url or "",
                "files": {"preview": t.generated_photo_url, "video": t.generated_video_url},
            }
            for t in cr.tasks.values()
        },
        "jogg": {
            v.video_id: {
                "status": v.status,
                "hook": v.webhook_url or "",
                "files": {"video": v.video_url, "preview": v.cover_url},
            }
            for v in jg.videos.values()
        },
    }


IMPLIED = {"completed": "succeeded", "video_generated": "succeeded", "failed": "failed"}


def served(sandbox: Sandbox, url: str | None) -> bytes:
    assert url, "the provider names no file"
    return sandbox.files[url.rsplit("/", 1)[-1]].data


def test_every_job_reaches_the_state_the_providers_answer_implies_under_faults(
    stack: LocalStack, shop: SampleShop, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.sandboxes is not None
    sandboxes: dict[str, Sandbox] = {
        "prodvisual": stack.sandboxes.prodvisual,
        "creatify": stack.sandboxes.creatify,
        "jogg": stack.sandboxes.jogg,
    }
    client = CountingClient(stack.api_url, "faults-key")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        job_ids = list(pool.map(client.create, bodies(shop, SCALE.jobs_per_provider)))
    statuses = client.wait_all_final(job_ids, timeout=1500)
    took = time.monotonic() - started
    time.sleep(4)  # late and duplicated callbacks still arrive: they must change nothing
    jobs = {job_id: client.job(job_id) for job_id in job_ids}
    assert {j: v["status"] for j, v in jobs.items()} == statuses, "a final job changed after the fact"

    made = provider_jobs(stack)
    s3 = stack.client("s3")
    versions: Counter[str] = Counter()
    for page in s3.get_paginator("list_object_versions").paginate(
        Bucket=stack.bucket_name, Prefix="outputs/"
    ):
        versions.update(v["Key"] for v in page.get("Versions", []))
    problems: list[str] = []
    for job_id, job in jobs.items():
        provider = job["provider"]
        mine = {pid: p for pid, p in made[provider].items() if job_id in p["hook"]}
        if len(mine) != 1:
            problems.append(f"{job_id} ({provider}): {len(mine)} provider jobs")
            continue
        ((answer),) = mine.values()
        expected = IMPLIED.get(answer["status"], f"non-final provider status {answer['status']}")
        if job["status"] != expected:
            problems.append(f"{job_id} ({provider}): {job['status']}, the provider said {answer['status']}")
        keys = [k for k in versions if k.startswith(f"outputs/{job_id}/")]
        if job["status"] != "succeeded":
            if keys:
                problems.append(f"{job_id}: {job['status']} but archived {keys}")
            continue
        if any(versions[k] != 1 for k in keys) or len(keys) != len(job["outputs"]):
            problems.append(f"{job_id}: archived {[(k, versions[k]) for k in keys]}")
        for output in job["outputs"]:
            source = served(sandboxes[provider], answer["files"][output["kind"]])
            copy = httpx.get(output["download_url"], timeout=30).content
            if not output["sha256"] == sha256(source) == sha256(copy):
                problems.append(f"{job_id}: {output['kind']} differs from what {provider} served")

    injected = Counter[str]()
    for sandbox in sandboxes.values():
        injected.update(sandbox.injected)
    reached = Counter(statuses.values())
    created = {name: len(m) for name, m in made.items()}
    with capsys.disabled():
        print(
            report(
                "fault suite",
                {
                    "jobs run": f"{len(job_ids)} ({SCALE.jobs_per_provider} per provider) in {took:.0f}s",
                    "states reached": dict(sorted(reached.items())),
                    "provider jobs created": f"{sum(created.values())} {created}",
                    "faults injected": dict(sorted(injected.items())),
                    "provider requests": sum(len(s.requests) for s in sandboxes.values()),
                    "archived objects": f"{len(versions)}, versions per object: {set(versions.values())}",
                    "API answers to the client": dict(sorted(client.statuses.items())),
                    "5xx seen by the client": client.server_errors,
                },
            )
        )
    assert problems == []
    assert sum(created.values()) == len(job_ids)
    assert client.server_errors == 0
    assert set(statuses.values()) <= {"succeeded", "failed"}
    for kind in ("5xx", "timeout", "webhook_drop", "webhook_duplicate", "webhook_reorder"):
        assert injected[kind] > 0, f"no {kind} fault was injected: the suite proves nothing about it"
