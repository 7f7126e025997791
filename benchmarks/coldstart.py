"""Benchmark: each function's cold import against bare Powertools, in fresh processes.

For every function of template.yaml it alternates two fresh interpreters, ``--pairs`` times:
one imports ``aws_lambda_powertools, boto3, httpx, pydantic`` (the bare baseline), the other the
function's handler module from its code folder with the layer on the path, as Lambda does. Both
get the function's environment as the local stack sets it (template variables, the local-only
ones, the moto endpoint and credentials), and both time only the import, inside the process, in
CPU seconds (``time.process_time``: wall time on a shared machine measures the other processes).
Each pair gives a ratio (function / bare); min, median and max of the ratios are printed.

The layer is imported as ``sam build`` ships it: with the bytecode of every module, compiled here
into a copy the way ``layers/mediajobs/Makefile`` compiles it (the children never write .pyc
files, as Lambda's read-only ``/opt`` cannot). ``--source`` imports the layer's source instead,
which is what a layer without bytecode costs. Two more rows give Powertools' own floor: a handler
module made of nothing but the decorators every function wears, over Powertools' HTTP resolver
with validation and one pydantic route (``floor: HTTP``), or over ``event_parser`` with a
one-field model (``floor: task``).

    python -m benchmarks coldstart [--pairs 7] [--only ApiFunction,SubmitJobFunction] [--source]

Figures are printed, not asserted: this machine is shared and noisy, hence pairs and medians.
"""

from __future__ import annotations

import argparse
import compileall
import os
import py_compile
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
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


FLOOR_HTTP = """
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel

logger, metrics, tracer = Logger(), Metrics(namespace="floor"), Tracer()
app = APIGatewayHttpResolver(enable_validation=True)


class Body(BaseModel):
    name: str


@app.post("/things")
def create(body: Body) -> dict[str, str]:
    return {"name": body.name}


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event, context):
    return app.resolve(event, context)
"""
FLOOR_TASK = """
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from pydantic import BaseModel

logger, metrics, tracer = Logger(), Metrics(namespace="floor"), Tracer()


class Input(BaseModel):
    job_id: str


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=Input)
def lambda_handler(event: Input, context):
    return {"job_id": event.job_id}
"""


def layer_copies(found: list[Target], into: Path, *, bytecode: bool) -> list[Target]:
    """The targets with each layer folder replaced by a copy without any cached bytecode, and
    with every module's bytecode compiled in when ``bytecode`` (as the layer's Makefile does)."""
    copies: dict[Path, Path] = {}
    for layer in sorted({layer for target in found for layer in target.layer_dirs}):
        copy = into / f"layer-{len(copies)}"
        shutil.copytree(layer, copy, ignore=shutil.ignore_patterns("__pycache__", "Makefile", "*.txt"))
        compiled = not bytecode or compileall.compile_dir(
            copy, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
        )
        if not compiled:
            raise RuntimeError(f"could not compile {layer}")
        copies[layer] = copy
    return [replace(t, layer_dirs=tuple(copies[layer] for layer in t.layer_dirs)) for t in found]


def floors(api: Target, into: Path) -> list[Target]:
    """Powertools' floor: handler modules of only the decorators, with the API's environment."""
    made = []
    for name, code in (("floor: HTTP", FLOOR_HTTP), ("floor: task", FLOOR_TASK)):
        folder = into / name.replace(": ", "-")
        folder.mkdir()
        (folder / "app.py").write_text(code)
        made.append(replace(api, logical_id=name, module="app", code_dir=folder, layer_dirs=()))
    return made


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
    parser.add_argument("--source", action="store_true", help="import the layer's source (no bytecode)")
    args = parser.parse_args(argv)
    only = {name for name in args.only.split(",") if name}
    with tempfile.TemporaryDirectory(prefix="coldstart-") as scratch:
        found = targets()
        (api,) = [target for target in found if target.logical_id == "ApiFunction"]
        found = layer_copies(found, Path(scratch), bytecode=not args.source)
        found += floors(api, Path(scratch))
        chosen = [target for target in found if not only or target.logical_id in only]
        report(chosen, args.pairs, layer="source" if args.source else "bytecode, as sam build ships it")


def report(chosen: list[Target], pairs: int, *, layer: str) -> None:
    print(f"Cold import of each function's handler module / import {BARE}; {pairs} pairs each")
    print(f"layer: {layer}\n")
    header = f"{'function':<30} {'min':>6} {'median':>7} {'max':>6} {'import CPU s (median)':>22}"
    print(header)
    print("-" * len(header))
    medians = []
    for target in chosen:
        ratios, seconds = measure(target, pairs)
        if not target.logical_id.startswith("floor"):
            medians.append(statistics.median(ratios))
        print(
            f"{target.logical_id:<30} {min(ratios):>5.2f}x {statistics.median(ratios):>6.2f}x "
            f"{max(ratios):>5.2f}x {statistics.median(seconds):>21.3f}",
            flush=True,
        )
    print(f"\nworst median {max(medians):.2f}x over {len(medians)} functions")


if __name__ == "__main__":
    main(sys.argv[1:])
