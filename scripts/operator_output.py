"""What every operator command shares: stdout carries only the JSON answer, logs go to stderr.

``python -m scripts.apikeys create ... | jq -r .key`` must read one JSON document: the service
code logs through Powertools, whose handler writes to stdout as Lambda wants, so the commands
move it (and any other stream handler of the service logger) to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO

from mediajobs.observability import SERVICE


def logs_to_stderr(stream: TextIO | None = None) -> None:
    """Send the service logger's output to stderr (or ``stream``)."""
    target = stream or sys.stderr
    for handler in logging.getLogger(SERVICE).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(target)


def print_answer(answer: Any) -> None:
    """The command's answer: one JSON document on stdout, nothing else."""
    print(json.dumps(answer, indent=2), flush=True)
