"""A task that dies after the provider accepted the job, before mediajobs recorded it.

The Submit function is killed (injected) right after ProdVisual answered: Step Functions retries
the task, and the retry must not send the job again (the provider would make, and bill, a second
generation). It waits for the provider's callback, which names the generation, adopts it and
finishes the job.
"""

from __future__ import annotations

from typing import Any

import pytest
from local.sample_shop import SampleShop
from local.stack import LocalStack

from mediajobs.providers.base import ProviderTask, StartRequest
from mediajobs.providers.prodvisual import ProdVisualAdapter
from tests.e2e.conftest import Client

PROBE_DIMENSIONS = "777x555"  # marks the one job whose Submit dies


class TaskDiedError(Exception):
    """What the Lambda runtime reports for a function that ran out of time."""

    lambda_error_type = "Sandbox.Timedout"


def test_a_submit_that_dies_after_the_provider_accepted_leaves_one_provider_job_and_succeeds(
    client: Client, shop: SampleShop, stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stack.sandboxes is not None
    sandbox = stack.sandboxes.prodvisual
    original = ProdVisualAdapter.start
    accepted: list[ProviderTask] = []

    def start_then_die(self: ProdVisualAdapter, request: StartRequest) -> ProviderTask:
        task = original(self, request)
        if getattr(request.options, "dimensions", None) == PROBE_DIMENSIONS and not accepted:
            accepted.append(task)
            raise TaskDiedError("Task timed out after 30.00 seconds")
        return task

    monkeypatch.setattr(ProdVisualAdapter, "start", start_then_die)
    body: dict[str, Any] = {
        "provider": "prodvisual",
        "product": {"image_url": shop.url("product.png")},
        "options": {"style": "white_bg", "dimensions": PROBE_DIMENSIONS},
    }

    job = client.run(body, timeout=120)

    assert len(accepted) == 1, "the injected crash did not happen"
    assert job["status"] == "succeeded", job.get("error")
    generations = [g for g in sandbox.generations.values() if f"/p/{job['job_id']}." in g.spec.image_url]
    assert [g.id for g in generations] == [accepted[0].task_id]
    assert [p["provider_job_id"] for p in job["provider_jobs"]] == [accepted[0].task_id]
    assert [o["kind"] for o in job["outputs"]] == ["image"]
    # ProdVisual's signed callback, whose URL names the job and its call, is what named the task
    delivered = [w for w in sandbox.webhooks if job["job_id"] in w.url and w.outcome == "delivered"]
    assert delivered, "no callback reached mediajobs for the job"
