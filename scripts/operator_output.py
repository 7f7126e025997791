"""What every operator command shares: stdout carries only the JSON answer, logs go to stderr.

``python -m scripts.apikeys create ... | jq -r .key`` must read one JSON document: the service
code logs through Powertools, whose handler writes to stdout as Lambda wants, so the commands
move it (and any other stream handler of the service logger) to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError

from mediajobs.observability import SERVICE


@contextlib.contextmanager
def logs_to_stderr(stream: TextIO | None = None) -> Iterator[None]:
    """While the command runs, the service logger writes to stderr (or ``stream``), then as before."""
    target = stream or sys.stderr
    moved = [h for h in logging.getLogger(SERVICE).handlers if isinstance(h, logging.StreamHandler)]
    before = [handler.setStream(target) for handler in moved]
    try:
        yield
    finally:
        for handler, previous in zip(moved, before, strict=True):
            if previous is not None:
                handler.setStream(previous)


def print_answer(answer: Any) -> None:
    """The command's answer: one JSON document on stdout, nothing else."""
    print(json.dumps(answer, indent=2), flush=True)


EXIT_FAILED = 1
EXIT_USAGE = 2


def run_on_jobs_table(
    argv: Sequence[str] | None,
    environ: Mapping[str, str] | None,
    *,
    parser: argparse.ArgumentParser,
    run: Callable[[argparse.Namespace, Any], Any],
    failures: tuple[type[Exception], ...],
) -> int:
    """An operator command on the jobs table (``--table`` or ``JOBS_TABLE``, ``--region``,
    ``--endpoint-url``): its answer on stdout, its logs and errors on stderr, an exit code."""
    with logs_to_stderr():
        args = parser.parse_args(argv)
        table_name = args.table or (os.environ if environ is None else environ).get("JOBS_TABLE")
        if not table_name:
            print("error: name the jobs table with --table or JOBS_TABLE", file=sys.stderr)
            return EXIT_USAGE
        dynamodb = boto3.resource("dynamodb", region_name=args.region, endpoint_url=args.endpoint_url)
        try:
            answer = run(args, dynamodb.Table(table_name))
        except (*failures, BotoCoreError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        print_answer(answer)
        return 0
