"""Benchmark: what one completed job costs, per provider, with webhooks and with polling only.

For each provider it runs jobs one at a time on the embedded local stack and reads, per job:
state transitions and Lambda invocations (the execution history), provider API calls and status
polls (the sandbox's request log), DynamoDB writes (counted on the SDK), and the time from the
provider finishing (the sandbox's completion, before any webhook delay) to the job showing
``succeeded``. Then again with every webhook dropped, so the job only finishes by polling.

    python -m benchmarks.pipeline [--jobs 3]        (make bench)

Figures are printed, not asserted: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import httpx
from local.sample_shop import SampleShop
from local.sandboxes.common import Sandbox
from local.stack import LocalStack, Timing

STATUS_ENDPOINTS = {"product_to_video_status", "product_to_video_list", "product_video", "generation_status"}
COMPLETION_EVENTS = {"video_generated", "generated_product_video_success", "generation.completed"}
WRITE_CALLS = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


class WriteCounter:
    """Counts DynamoDB write calls made through boto3's default session (the functions' clients)."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()
        # the session the functions' clients come from
        session = boto3._get_default_session()
        for call in WRITE_CALLS:
            session.events.register(f"before-call.dynamodb.{call}", self._count)

    def _count(self, **_: Any) -> None:
        with self.lock:
            self.count += 1


@dataclass
class Figures:
    transitions: int
    lambdas: int
    provider_calls: int
    status_polls: int
    ddb_writes: int
    finish_to_succeeded: float


def job_body(provider: str, shop: SampleShop) -> dict[str, Any]:
    if provider == "prodvisual":
        return {
            "provider": "prodvisual",
            "product": {"image_url": shop.url("product.png")},
            "options": {"style": "lifestyle"},
        }
    if provider == "creatify":
        return {
            "provider": "creatify",
            "product": {"image_url": shop.url("product.png")},
            "options": {"aspect_ratio": "1x1"},
        }
    return {"provider": "jogg", "product": {"page_url": shop.url("page.html")}, "options": {"length": "15"}}


def run_one(
    stack: LocalStack, client: httpx.Client, sandbox: Sandbox, body: dict[str, Any], writes: WriteCounter
) -> Figures:
    requests_before, webhooks_before, writes_before = (
        len(sandbox.requests),
        len(sandbox.webhooks),
        writes.count,
    )
    job_id = client.post("/v1/jobs", json=body).json()["job_id"]
    while (job := client.get(f"/v1/jobs/{job_id}").json())["status"] not in {
        "succeeded",
        "failed",
        "cancelled",
    }:
        time.sleep(0.05)
    if job["status"] != "succeeded":
        raise RuntimeError(f"benchmark job {job_id} ended {job['status']}: {job.get('error')}")
    time.sleep(0.3)  # let the execution reach its final state
    execution = f"{stack.state_machine_arn.replace(':stateMachine:', ':execution:')}:{job_id}"
    sfn = stack.client("stepfunctions")
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    kinds = Counter(e["type"] for e in events)
    requests = sandbox.requests[requests_before:]
    finished = max(w.queued_at for w in sandbox.webhooks[webhooks_before:] if w.event in COMPLETION_EVENTS)
    succeeded = next(e["at"] for e in job["timeline"] if e["status"] == "succeeded")
    return Figures(
        transitions=sum(n for kind, n in kinds.items() if kind.endswith("StateEntered")),
        lambdas=kinds["TaskScheduled"] + kinds["LambdaFunctionScheduled"],
        provider_calls=len(requests),
        status_polls=sum(1 for r in requests if r.endpoint in STATUS_ENDPOINTS),
        ddb_writes=writes.count - writes_before,
        finish_to_succeeded=datetime.fromisoformat(succeeded).timestamp() - finished,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=3, help="jobs per provider and mode")
    args = parser.parse_args()
    shop = SampleShop()
    # the first wait is longer than a sandbox stage (about 3 s), as 30 s is on AWS for real providers
    timing = Timing(poll_initial_seconds=5, poll_max_seconds=20, job_deadline_seconds=600)
    writes = WriteCounter()  # before the stack creates its clients
    with LocalStack(api_port=0, timing=timing) as stack:
        assert stack.sandboxes is not None
        client = httpx.Client(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.api_key}"}, timeout=30
        )
        rows = []
        for mode, drop in (("webhooks", 0.0), ("polling only", 1.0)):
            for provider, sandbox in stack.sandboxes.all().items():
                faults = sandbox.settings.faults.model_copy(update={"webhook_drop": drop})
                sandbox.settings = sandbox.settings.model_copy(update={"faults": faults})
                figures = [
                    run_one(stack, client, sandbox, job_body(provider, shop), writes)
                    for _ in range(args.jobs)
                ]
                rows.append((provider, mode, figures))
        shop.stop()
    print_table(rows, args.jobs, timing)


COLUMNS = (
    ("transitions", "transitions", 11),
    ("lambdas", "lambdas", 8),
    ("provider calls", "provider_calls", 14),
    ("status reads", "status_polls", 12),
    ("ddb writes", "ddb_writes", 10),
)


def print_table(rows: list[tuple[str, str, list[Figures]]], jobs: int, timing: Timing) -> None:
    print(
        f"\nPer completed job, median of {jobs}; first wait {timing.poll_initial_seconds}s, doubling to "
        f"{timing.poll_max_seconds}s. Status reads are provider GETs of a task's state; Creatify's are the"
    )
    print("re-fetch every Creatify callback needs (it signs nothing), not polls.")
    header = f"{'provider':<11} {'mode':<13} " + " ".join(f"{title:>{width}}" for title, _, width in COLUMNS)
    header += f" {'finish->succeeded':>18}"
    print(header)
    print("-" * len(header))
    for provider, mode, figures in rows:
        cells = [
            f"{statistics.median(getattr(f, field) for f in figures):>{width}.0f}"
            for _, field, width in COLUMNS
        ]
        latency = statistics.median(f.finish_to_succeeded for f in figures)
        print(f"{provider:<11} {mode:<13} " + " ".join(cells) + f" {latency:>17.2f}s")


if __name__ == "__main__":
    main()
