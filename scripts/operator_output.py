"""What every operator command shares: stdout carries only the JSON answer, logs go to stderr.

``python -m scripts.apikeys create ... | jq -r .key`` must read one JSON document: the service
code logs through Powertools, whose handler writes to stdout as Lambda wants, so the commands
move it (and any other stream handler of the service logger) to stderr.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any, TextIO

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
