"""Operator tool: a tenant's credit budget, or one of its API keys', in the stack's jobs table.

    python -m scripts.budgets [--table TABLE] set --tenant TENANT [--key KEY_ID] [--daily N] [--monthly M]
    python -m scripts.budgets [--table TABLE] show --tenant TENANT [--key KEY_ID]
    python -m scripts.budgets [--table TABLE] clear --tenant TENANT [--key KEY_ID]

``set`` replaces the tenant's limits, or with ``--key`` the limits of one of the tenant's API keys
(the key id ``python -m scripts.apikeys list`` shows): a limit left out is no limit. ``clear``
removes them. Limits are provider credits per UTC day and UTC month; a create that would take
today's or this month's reserved-plus-spent credits over the tenant's limit, or over the limit of
the key it is made with, answers 402 ``budget_exceeded`` before any provider is called. ``show``
prints the limits, what is reserved or spent today and this month, and what is left: the
tenant's, and with ``--key`` the key's beside it (``api_key``). A key's counters count every job
created with it, so a limit set mid-day already sees the day's spend.

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

from mediajobs.api.keys import KEY_ID_PATTERN, ApiKeyError, ApiKeyStore  # noqa: E402 - after the path
from mediajobs.billing.service import Billing  # noqa: E402
from mediajobs.billing.store import BudgetStore, BudgetStoreError  # noqa: E402
from scripts.operator_output import run_on_jobs_table  # noqa: E402

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def _credits(value: str) -> float:
    number = float(value)
    if number < 0 or number != number:  # noqa: PLR0124 - NaN is not a budget
        raise argparse.ArgumentTypeError(f"a budget is a number of credits >= 0, not {value!r}")
    return number


def _key_id(value: str) -> str:
    if not KEY_ID_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a key id (12 hex digits, as apikeys list shows)")
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m scripts.budgets",
        description="Set, show and clear a tenant's credit budget, or one of its API keys'.",
    )
    root.add_argument("--table", help="the jobs table (stack output JobsTableName; default: $JOBS_TABLE)")
    root.add_argument("--region", help="AWS region (default: boto3's)")
    root.add_argument(
        "--endpoint-url", help="another DynamoDB endpoint (default: $AWS_ENDPOINT_URL, else AWS)"
    )
    commands = root.add_subparsers(dest="command", required=True)
    setting = commands.add_parser(
        "set", help="replace the daily and monthly credit limits of the tenant (or of --key)"
    )
    show = commands.add_parser("show", help="the limits, what is spent or reserved, what is left")
    clear = commands.add_parser("clear", help="remove the limits of the tenant (or of --key)")
    for command in (setting, show, clear):
        command.add_argument("--tenant", required=True)
        command.add_argument(
            "--key",
            type=_key_id,
            metavar="KEY_ID",
            help="one of the tenant's API keys (its id, as apikeys list shows): its own budget",
        )
    setting.add_argument("--daily", type=_credits, help="credits per UTC day (default: no limit)")
    setting.add_argument("--monthly", type=_credits, help="credits per UTC month (default: no limit)")
    return root


def run(args: argparse.Namespace, table: Table) -> dict[str, Any]:
    """Carry out one command; what to print."""
    if args.key is not None:
        # a budget on a key id the tenant does not have would limit nothing: refuse the typo
        ApiKeyStore(table).get(args.tenant, args.key)
    billing = Billing(BudgetStore(table))
    match args.command:
        case "set":
            status = billing.set_budget(args.tenant, key_id=args.key, daily=args.daily, monthly=args.monthly)
        case "clear":
            status = billing.clear_budget(args.tenant, key_id=args.key)
        case _:
            status = billing.budget(args.tenant, key_id=args.key)
    return status.model_dump(mode="json")


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    return run_on_jobs_table(
        argv, environ, parser=parser(), run=run, failures=(BudgetStoreError, ApiKeyError)
    )


if __name__ == "__main__":
    sys.exit(main())
