"""``make invoke FUNCTION=<logical id> EVENT=events/<file>.json``: ``sam local invoke`` without Docker.

Starts the local stack, seeds the sample job the task events name, runs the function once with
the event through the Lambda API (moto's server, in-process handler) and prints its answer as
JSON. Exit status 1 if the function failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from local.moto_runtime import FunctionError
from local.stack import LocalStack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("function", help="logical id in template.yaml, e.g. ApiFunction")
    parser.add_argument("event", type=Path, help="event file, e.g. events/api_openapi.json")
    args = parser.parse_args()
    with LocalStack(api_port=0) as stack:
        stack.seed_sample_job()
        stack.seed_sample_batch()
        functions = stack.template.functions
        if args.function not in functions:
            sys.exit(f"unknown function {args.function!r}; template.yaml has: {', '.join(sorted(functions))}")
        try:
            event = json.loads(args.event.read_text())
        except (OSError, ValueError) as exc:
            sys.exit(f"cannot read event {args.event}: {exc}")
        try:
            answer = stack.invoke(args.function, event)
        except FunctionError as exc:
            print(json.dumps(exc.payload, indent=2))
            sys.exit(1)
        print(json.dumps(answer, indent=2))


if __name__ == "__main__":
    main()
