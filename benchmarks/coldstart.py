"""Benchmark: each function's cold import against bare Powertools, in fresh processes.

For every function of template.yaml it alternates two fresh interpreters, ``--pairs`` times:
one imports ``aws_lambda_powertools, boto3, httpx, pydantic`` (the bare baseline), the other the
function's handler module from its code folder with the layer on the path, as Lambda does. Both
get the function's environment as the local stack sets it (template variables, the local-only
ones, the moto endpoint and credentials), and both time only the import, inside the process, in
CPU seconds (``time.process_time``: wall time on a shared machine measures the other processes).
Each pair gives a ratio (function / bare); min, median and max of the ratios are printed.

    python -m benchmarks coldstart [--pairs 7] [--only ApiFunction,SubmitJobFunction]

Figures are printed, not asserted: this machine is shared and noisy, hence pairs and medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from local.stack import LOCAL_ONLY_ENVIRONMENT, LocalStack

BARE = "aws_lambda_powertools, boto3, httpx, pydantic"
#: the child prints the CPU seconds and wall seconds of its import (the import statement only)
CHILD = (
    "import time\ncpu, wall = time.process_time(), time.perf_counter()\nimport {modules}\n"
    "print(time.process_time() - cpu, time.perf_counter() - wall)\n"
)
#: what the child inherits from this process; everything else comes from the function
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


@dataclass(frozen=True)
class Target:
    logical_id: str
    module: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    environment: dict[str, str]


def targets() -> list[Target]:
    """Every function with the environment the local stack gives it (the stack is stopped after)."""
    with LocalStack(api_port=0, quiet=True) as stack:
        assert stack.runtime is not None
        assert stack.provisioned is not None
        shared = stack.runtime.env()
        found = [
            Target(
                logical_id=function.logical_id,
                module=function.handler.rsplit(".", 1)[0],
                code_dir=function.code_dir,
                layer_dirs=function.layer_dirs,
                environment=shared | function.environment | LOCAL_ONLY_ENVIRONMENT,
            )
            for function in stack.provisioned.functions.values()
        ]
    return sorted(found, key=lambda target: target.logical_id)


def timed_import(target: Target, modules: str) -> float:
    """CPU seconds of the import: on a shared, loaded machine wall time mostly measures the others."""
    environment = {key: os.environ[key] for key in INHERITED if key in os.environ}
    environment |= target.environment
    environment["PYTHONPATH"] = os.pathsep.join(str(path) for path in (target.code_dir, *target.layer_dirs))
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(  # noqa: S603 - this interpreter, code from this file
        [sys.executable, "-c", CHILD.format(modules=modules)],
        cwd=target.code_dir,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{target.logical_id}: import {modules} failed:\n{done.stderr}")
    cpu, _wall = done.stdout.strip().splitlines()[-1].split()
    return float(cpu)


def measure(target: Target, pairs: int) -> tuple[list[float], list[float]]:
    """(ratios, function import seconds); a warm-up pair first fills the OS file cache."""
    timed_import(target, BARE)
    timed_import(target, target.module)
    ratios, seconds = [], []
    for index in range(pairs):
        # alternate which one runs first, so a slow moment of the machine hits both sides
        if index % 2:
            function = timed_import(target, target.module)
            bare = timed_import(target, BARE)
        else:
            bare = timed_import(target, BARE)
            function = timed_import(target, target.module)
        ratios.append(function / bare)
        seconds.append(function)
    return ratios, seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks coldstart",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--pairs", type=int, default=7, help="alternating pairs per function")
    parser.add_argument("--only", default="", help="comma-separated logical ids (default: all)")
    args = parser.parse_args(argv)
    only = {name for name in args.only.split(",") if name}
    chosen = [target for target in targets() if not only or target.logical_id in only]
    print(f"Cold import of each function's handler module / import {BARE}; {args.pairs} pairs each\n")
    header = f"{'function':<30} {'min':>6} {'median':>7} {'max':>6} {'import CPU s (median)':>22}"
    print(header)
    print("-" * len(header))
    medians = []
    for target in chosen:
        ratios, seconds = measure(target, args.pairs)
        medians.append(statistics.median(ratios))
        print(
            f"{target.logical_id:<30} {min(ratios):>5.2f}x {statistics.median(ratios):>6.2f}x "
            f"{max(ratios):>5.2f}x {statistics.median(seconds):>21.3f}",
            flush=True,
        )
    print(f"\nworst median {max(medians):.2f}x over {len(medians)} functions")


if __name__ == "__main__":
    main(sys.argv[1:])
