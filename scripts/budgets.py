"""Operator tool: a tenant's credit budget in the stack's jobs table.

    python -m scripts.budgets [--table TABLE] set --tenant TENANT [--daily N] [--monthly M]
    python -m scripts.budgets [--table TABLE] show --tenant TENANT

``set`` replaces the tenant's limits: a limit left out is no limit (``set --tenant T`` with neither
removes the budget). Limits are provider credits per UTC day and UTC month; a create that would
take today's or this month's reserved-plus-spent credits over a limit answers 402
``budget_exceeded`` before any provider is called. ``show`` prints the limits, what is reserved or
spent today and this month, and what is left.

``TABLE`` is the stack's ``JobsTableName`` output (default: the ``JOBS_TABLE`` environment
variable). Credentials, region and endpoint come from boto3's usual sources, so
``AWS_ENDPOINT_URL`` points it at the local stack; ``--region`` and ``--endpoint-url`` override
them. stdout is the JSON answer only; logs and errors go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "mediajobs")
if LAYER not in sys.path:
    sys.path.insert(0, LAYER)

from mediajobs.billing.service import Billing  # noqa: E402 - after the path
from mediajobs.billing.store import BudgetStore, BudgetStoreError  # noqa: E402
from scripts.operator_output import run_on_jobs_table  # noqa: E402

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def _credits(value: str) -> float:
    number = float(value)
    if number < 0 or number != number:  # noqa: PLR0124 - NaN is not a budget
        raise argparse.ArgumentTypeError(f"a budget is a number of credits >= 0, not {value!r}")
    return number


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m scripts.budgets", description="Set and show a tenant's credit budget."
    )
    root.add_argument("--table", help="the jobs table (stack output JobsTableName; default: $JOBS_TABLE)")
    root.add_argument("--region", help="AWS region (default: boto3's)")
    root.add_argument(
        "--endpoint-url", help="another DynamoDB endpoint (default: $AWS_ENDPOINT_URL, else AWS)"
    )
    commands = root.add_subparsers(dest="command", required=True)
    setting = commands.add_parser("set", help="replace the tenant's daily and monthly credit limits")
    setting.add_argument("--tenant", required=True)
    setting.add_argument("--daily", type=_credits, help="credits per UTC day (default: no limit)")
    setting.add_argument("--monthly", type=_credits, help="credits per UTC month (default: no limit)")
    show = commands.add_parser("show", help="the limits, what is spent or reserved, what is left")
    show.add_argument("--tenant", required=True)
    return root


def run(args: argparse.Namespace, table: Table) -> dict[str, Any]:
    """Carry out one command; what to print."""
    billing = Billing(BudgetStore(table))
    if args.command == "set":
        status = billing.set_budget(args.tenant, daily=args.daily, monthly=args.monthly)
    else:
        status = billing.budget(args.tenant)
    return status.model_dump(mode="json")


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    return run_on_jobs_table(argv, environ, parser=parser(), run=run, failures=(BudgetStoreError,))


if __name__ == "__main__":
    sys.exit(main())
