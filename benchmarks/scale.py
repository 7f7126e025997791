"""Benchmark: N jobs at once on the local stack; wall time, jobs per minute, CPU seconds per job.

For each N (``--sizes``, default 10, 30, 100) it creates N jobs at once (the three providers in
turn, from a pool of client threads), then waits until every job's execution has ended, reading
Step Functions rather than the API. The provider limits are raised (template parameters and the
sandboxes' rate limits and credits) and the sandboxes are fast, so what is measured is our own
work and the local stack's. CPU seconds come from ``resource.getrusage`` of this process, which
runs the whole stack (moto, the in-process functions, the sandboxes): if cost per job is flat,
CPU seconds per job stay level as N grows.

    python -m benchmarks scale [--sizes 10,30,100]

To see where the time goes: ``py-spy record -o scale.svg -- python -m benchmarks.scale``
(or ``py-spy top --pid <pid>`` while it runs). Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from local.sample_shop import SampleShop
from local.stack import LocalStack, Timing

from benchmarks.cost import FAST_SANDBOXES
from benchmarks.pipeline import job_body

PROVIDERS = ("prodvisual", "creatify", "jogg")
#: client threads creating the jobs (the local stack serves its HTTP functions one request at a time)
CLIENTS = 8
#: provider limits far above any N here: the benchmark measures our work, not a provider's quota
LIMITS = {
    "ProdVisualRequestsPerMinute": "100000",
    "ProdVisualRequestsPerDay": "10000000",
    "JoggPostsPerMinute": "100000",
    "CreatifyRequestsPerMinute": "100000",
}
SANDBOX_LIMITS: dict[str, dict[str, Any]] = {
    "prodvisual": {"rate_limit_per_minute": None, "rate_limit_per_day": None, "credits": 1_000_000},
    "jogg": {"rate_limit_per_minute": None},
    "creatify": {"rate_limit_per_minute": None},
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_burst(stack: LocalStack, shop: SampleShop, jobs: int) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, jobs that succeeded) for ``jobs`` jobs created at once.

    A create that is not answered 202 counts as a job that did not succeed.
    """
    sfn = stack.client("stepfunctions")
    prefix = stack.state_machine_arn.replace(":stateMachine:", ":execution:")
    bodies = [job_body(PROVIDERS[index % len(PROVIDERS)], shop) for index in range(jobs)]
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    cpu_before, started = cpu_seconds(), time.monotonic()
    with httpx.Client(base_url=stack.api_url, headers=headers, timeout=120) as client:

        def create(body: dict[str, Any]) -> str | None:
            answer = client.post("/v1/jobs", json=body)
            return str(answer.json()["job_id"]) if answer.status_code == 202 else None

        with ThreadPoolExecutor(max_workers=min(jobs, CLIENTS)) as pool:
            job_ids = list(pool.map(create, bodies))
    pending = {f"{prefix}:{job_id}" for job_id in job_ids if job_id is not None}
    succeeded = 0
    deadline = time.monotonic() + 600
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} of {jobs} executions still running after 600 s")
        for arn in list(pending):
            try:
                status = sfn.describe_execution(executionArn=arn)["status"]
            except sfn.exceptions.ExecutionDoesNotExist:
                continue
            if status != "RUNNING":
                pending.discard(arn)
                succeeded += status == "SUCCEEDED"
        time.sleep(0.2)
    return time.monotonic() - started, cpu_seconds() - cpu_before, succeeded


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", default="10,30,100", help="comma-separated numbers of jobs at once")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    shop = SampleShop()
    timing = Timing(poll_initial_seconds=5, poll_max_seconds=20, job_deadline_seconds=900)
    rows = []
    with LocalStack(api_port=0, timing=timing, quiet=True, parameters=LIMITS) as stack:
        assert stack.sandboxes is not None
        for provider, sandbox in stack.sandboxes.all().items():
            sandbox.settings = type(sandbox.settings).model_validate(
                sandbox.settings.model_dump() | FAST_SANDBOXES[provider] | SANDBOX_LIMITS[provider]
            )
        run_burst(stack, shop, 3)  # warm: every function's cold start out of the figures
        for size in sizes:
            wall, cpu, succeeded = run_burst(stack, shop, size)
            rows.append((size, wall, cpu, succeeded))
            print(f"  {size} jobs: {wall:.1f} s wall, {cpu:.1f} CPU s", flush=True)
    shop.stop()
    print(f"\nJobs created at once (providers in turn), until every execution ended; {', '.join(PROVIDERS)}")
    header = f"{'jobs':>5} {'succeeded':>9} {'wall s':>7} {'jobs/min':>9} {'CPU s':>7} {'CPU s/job':>10}"
    print(header)
    print("-" * len(header))
    for size, wall, cpu, succeeded in rows:
        print(
            f"{size:>5} {succeeded:>9} {wall:>7.1f} {size / wall * 60:>9.1f} {cpu:>7.1f} {cpu / size:>10.3f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
