"""Benchmark: what AWS would bill per 1,000 jobs, per provider, counted from real jobs on the local stack.

For each provider it runs ``--jobs`` jobs one after the other (POST /v1/jobs, then it waits on
the execution through Step Functions, not through the API, so its own waiting costs nothing)
and counts, per job:

- state transitions: ``*StateEntered`` events in the history of every execution the job started
  (its job execution and any notification execution);
- Lambda invocations and their durations: every in-process handler run (the API request included),
  times the function's MemorySize from template.yaml, gives GB-seconds;
- DynamoDB and S3 requests the functions made (botocore ``before-call`` hooks on the default
  session the functions' clients come from; the benchmark's own clients are not counted);
- API Gateway HTTP API requests (one: the create call).

DynamoDB units are counted as 1 read (0.5 when eventually consistent) or 1 write per request, and
2 write units per item of a transaction: items here are well under 1 KB. Durations are measured on
this shared machine against moto, so GB-seconds are an estimate of the order, not a bill.

Beside it: a naive poller for a 10-minute video, a Lambda woken every 30 s that reads the job and
asks the provider (20 invocations, 20 reads, at the measured median duration of our status check).

    python -m benchmarks cost [--jobs 3]

Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
from local import moto_runtime
from local.sample_shop import SampleShop
from local.stack import LocalStack, Timing

from benchmarks.pipeline import job_body

#: AWS list prices, us-east-1, as published in 2025 (DynamoDB after its November 2024 on-demand cut)
PRICES_AS_OF = "AWS list prices, us-east-1, as published in 2025"
SFN_PER_1000_TRANSITIONS = 0.025  # Step Functions Standard
LAMBDA_PER_MILLION_REQUESTS = 0.20
LAMBDA_PER_GB_SECOND_ARM64 = 0.0000133334  # first 7.5 billion GB-s a month
DYNAMODB_PER_MILLION_RRU = 0.125  # on-demand
DYNAMODB_PER_MILLION_WRU = 0.625
S3_PER_1000_PUT = 0.005  # PUT, COPY, POST, LIST (S3 Standard)
S3_PER_1000_GET = 0.0004  # GET, HEAD and the rest
HTTP_API_PER_MILLION = 1.00  # API Gateway HTTP API, first 300 million a month

#: a naive poller: every 30 s for a 10-minute video
POLL_EVERY_SECONDS = 30
VIDEO_MINUTES = 10

DYNAMODB_READS = {"GetItem": 1, "Query": 1, "Scan": 1, "BatchGetItem": 1}
DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
S3_PUT_CLASS = {
    "PutObject",
    "CopyObject",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
    "ListObjects",
    "ListObjectsV2",
    "PostObject",
}
FAST_SANDBOXES = {
    "creatify": {
        "initializing_seconds": 0.1,
        "image_generating_seconds": 0.3,
        "video_generating_seconds": 0.4,
    },
    "jogg": {"pending_seconds": 0.1, "processing_seconds": 0.4, "length_scale": 0.1},
    "prodvisual": {"pending_seconds": 0.05, "processing_seconds": 0.3},
}


@dataclass
class Meter:
    """What the functions did, counted as it happens (thread-safe)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    invocations: list[tuple[str, int, float]] = field(default_factory=list)  # name, MB, seconds
    rru: float = 0.0
    wru: float = 0.0
    ddb_requests: int = 0
    s3_put: int = 0
    s3_get: int = 0

    def snapshot(self) -> tuple[int, float, float, int, int, int]:
        with self.lock:
            return (len(self.invocations), self.rru, self.wru, self.ddb_requests, self.s3_put, self.s3_get)

    def on_dynamodb(self, event_name: str, params: dict[str, Any], **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        with self.lock:
            self.ddb_requests += 1
            if operation in DYNAMODB_READS:
                self.rru += 1.0 if params.get("ConsistentRead") else 0.5
            elif operation in DYNAMODB_WRITES:
                self.wru += 1
            elif operation == "TransactWriteItems":
                self.wru += 2 * len(params.get("TransactItems", []))
            elif operation == "TransactGetItems":
                self.rru += 2 * len(params.get("TransactItems", []))
            elif operation == "BatchWriteItem":
                self.wru += sum(len(items) for items in params.get("RequestItems", {}).values())

    def on_s3(self, event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        with self.lock:
            if operation in S3_PUT_CLASS:
                self.s3_put += 1
            else:
                self.s3_get += 1


@contextmanager
def metered() -> Iterator[Meter]:
    """Count every handler run (and its duration) and the functions' DynamoDB and S3 requests."""
    meter = Meter()
    session = boto3._get_default_session()
    session.events.register("before-call.dynamodb", meter.on_dynamodb)
    session.events.register("before-call.s3", meter.on_s3)
    original = moto_runtime.MotoRuntime._run

    def timed_run(handler: Any, event: Any, context: Any) -> tuple[dict[str, Any] | None, str]:
        started = time.perf_counter()
        try:
            return original(handler, event, context)
        finally:
            elapsed = time.perf_counter() - started
            with meter.lock:
                meter.invocations.append((context.function_name, int(context.memory_limit_in_mb), elapsed))

    moto_runtime.MotoRuntime._run = staticmethod(timed_run)  # type: ignore[method-assign]
    try:
        yield meter
    finally:
        moto_runtime.MotoRuntime._run = staticmethod(original)  # type: ignore[method-assign]
        session.events.unregister("before-call.dynamodb", meter.on_dynamodb)
        session.events.unregister("before-call.s3", meter.on_s3)


@dataclass(frozen=True)
class JobCost:
    transitions: int
    invocations: int
    gb_seconds: float
    rru: float
    wru: float
    ddb_requests: int
    s3_put: int
    s3_get: int
    api_requests: int = 1

    def dollars(self) -> float:
        return (
            self.transitions * SFN_PER_1000_TRANSITIONS / 1000
            + self.invocations * LAMBDA_PER_MILLION_REQUESTS / 1e6
            + self.gb_seconds * LAMBDA_PER_GB_SECOND_ARM64
            + self.rru * DYNAMODB_PER_MILLION_RRU / 1e6
            + self.wru * DYNAMODB_PER_MILLION_WRU / 1e6
            + self.s3_put * S3_PER_1000_PUT / 1000
            + self.s3_get * S3_PER_1000_GET / 1000
            + self.api_requests * HTTP_API_PER_MILLION / 1e6
        )


def executions(stack: LocalStack) -> set[str]:
    assert stack.provisioned is not None
    sfn = stack.client("stepfunctions")
    found: set[str] = set()
    for arn in stack.provisioned.state_machines.values():
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            found |= {execution["executionArn"] for execution in page["executions"]}
    return found


def settle(stack: LocalStack, arns: set[str], timeout: float = 120.0) -> None:
    """Wait until every execution has ended (Step Functions, not the API: its reads cost nothing here)."""
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    for arn in arns:
        while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            if time.monotonic() > deadline:
                raise RuntimeError(f"execution {arn} still running after {timeout}s")
            time.sleep(0.1)


def transitions(stack: LocalStack, arn: str) -> int:
    sfn = stack.client("stepfunctions")
    events: Counter[str] = Counter()
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.update(event["type"] for event in page["events"])
    return sum(count for kind, count in events.items() if kind.endswith("StateEntered"))


def run_job(stack: LocalStack, client: httpx.Client, meter: Meter, body: dict[str, Any]) -> JobCost:
    known = executions(stack)
    invocations_before = len(meter.invocations)
    _, rru, wru, ddb, s3_put, s3_get = meter.snapshot()
    answer = client.post("/v1/jobs", json=body)
    if answer.status_code != 202:
        raise RuntimeError(f"create failed: {answer.status_code} {answer.text}")
    job_execution = (
        f"{stack.state_machine_arn.replace(':stateMachine:', ':execution:')}:{answer.json()['job_id']}"
    )
    deadline = time.monotonic() + 120
    while job_execution not in executions(stack):
        if time.monotonic() > deadline:
            raise RuntimeError("the job's execution never started")
        time.sleep(0.1)
    settle(stack, {job_execution})
    time.sleep(0.5)  # notification executions the job's end started
    started = executions(stack) - known
    settle(stack, started)
    after = meter.snapshot()
    with meter.lock:
        runs = meter.invocations[invocations_before:]
    return JobCost(
        transitions=sum(transitions(stack, arn) for arn in started),
        invocations=len(runs),
        gb_seconds=sum(memory / 1024 * seconds for _, memory, seconds in runs),
        rru=after[1] - rru,
        wru=after[2] - wru,
        ddb_requests=after[3] - ddb,
        s3_put=after[4] - s3_put,
        s3_get=after[5] - s3_get,
    )


def median_cost(costs: list[JobCost]) -> JobCost:
    def mid(name: str) -> Any:
        return statistics.median(getattr(cost, name) for cost in costs)

    return JobCost(
        transitions=mid("transitions"),
        invocations=mid("invocations"),
        gb_seconds=mid("gb_seconds"),
        rru=mid("rru"),
        wru=mid("wru"),
        ddb_requests=mid("ddb_requests"),
        s3_put=mid("s3_put"),
        s3_get=mid("s3_get"),
    )


def naive_poller(check_seconds: float, memory_mb: int) -> JobCost:
    polls = VIDEO_MINUTES * 60 // POLL_EVERY_SECONDS
    return JobCost(
        transitions=0,
        invocations=polls,
        gb_seconds=polls * memory_mb / 1024 * check_seconds,
        rru=polls * 0.5,
        wru=0,
        ddb_requests=polls,
        s3_put=0,
        s3_get=0,
        api_requests=0,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks cost",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--jobs", type=int, default=3, help="jobs per provider (medians are printed)")
    args = parser.parse_args(argv)
    shop = SampleShop()
    rows: list[tuple[str, JobCost]] = []
    check_durations: list[float] = []
    check_memory = 512
    timing = Timing(poll_initial_seconds=5, poll_max_seconds=20, job_deadline_seconds=600)
    with metered() as meter, LocalStack(api_port=0, timing=timing, quiet=True) as stack:
        assert stack.sandboxes is not None
        assert stack.provisioned is not None
        check_name = stack.provisioned.function_name("CheckStatusFunction")
        check_memory = stack.provisioned.functions["CheckStatusFunction"].memory_size
        client = httpx.Client(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.api_key}"}, timeout=30
        )
        for provider, sandbox in stack.sandboxes.all().items():
            sandbox.settings = type(sandbox.settings).model_validate(
                sandbox.settings.model_dump() | FAST_SANDBOXES[provider]
            )
            costs = [run_job(stack, client, meter, job_body(provider, shop)) for _ in range(args.jobs)]
            rows.append((provider, median_cost(costs)))
        check_durations = [seconds for name, _, seconds in meter.invocations if name == check_name]
    shop.stop()
    check_seconds = statistics.median(check_durations) if check_durations else 0.1
    print_table(rows, args.jobs, naive_poller(check_seconds, check_memory), check_seconds)


def print_table(rows: list[tuple[str, JobCost]], jobs: int, poller: JobCost, check_seconds: float) -> None:
    print(f"\nPer job, median of {jobs} jobs per provider; dollars per 1,000 jobs at {PRICES_AS_OF}:")
    print(
        f"  Step Functions Standard ${SFN_PER_1000_TRANSITIONS}/1,000 transitions; Lambda "
        f"${LAMBDA_PER_MILLION_REQUESTS}/million requests and "
        f"${LAMBDA_PER_GB_SECOND_ARM64:.10f}/GB-s (arm64);"
    )
    print(
        f"  DynamoDB on-demand ${DYNAMODB_PER_MILLION_RRU}/million RRU, "
        f"${DYNAMODB_PER_MILLION_WRU}/million WRU; S3 ${S3_PER_1000_PUT}/1,000 PUT, "
        f"${S3_PER_1000_GET}/1,000 GET; HTTP API ${HTTP_API_PER_MILLION}/million"
    )
    header = (
        f"{'':<24} {'transitions':>11} {'lambdas':>8} {'GB-s':>7} {'RRU':>6} {'WRU':>6} "
        f"{'ddb req':>7} {'S3 PUT':>6} {'S3 GET':>6} {'$ / 1,000 jobs':>15}"
    )
    print(header)
    print("-" * len(header))
    for name, cost in [*rows, (f"naive poller, {VIDEO_MINUTES} min", poller)]:
        print(
            f"{name:<24} {cost.transitions:>11.0f} {cost.invocations:>8.0f} {cost.gb_seconds:>7.3f} "
            f"{cost.rru:>6.1f} {cost.wru:>6.1f} {cost.ddb_requests:>7.0f} {cost.s3_put:>6.0f} "
            f"{cost.s3_get:>6.0f} {cost.dollars() * 1000:>15.4f}"
        )
    print(
        f"\nThe naive poller is only its waiting: {poller.invocations} wake-ups every "
        f"{POLL_EVERY_SECONDS} s, each {check_seconds * 1000:.0f} ms (our status check's median) "
        "and one eventually consistent read;"
    )
    print(
        "its job's other work (create, archive, notify) would come on top. Durations are local, against moto."
    )


if __name__ == "__main__":
    main(sys.argv[1:])
