"""Operator tool: a tenant's API keys in the stack's jobs table (only their hashes are stored).

    python -m scripts.apikeys [--table TABLE] create --tenant TENANT [--name NAME]
    python -m scripts.apikeys [--table TABLE] list --tenant TENANT
    python -m scripts.apikeys [--table TABLE] revoke --tenant TENANT --key-id KEY_ID

``TABLE`` is the stack's ``JobsTableName`` output (default: the ``JOBS_TABLE`` environment
variable). Credentials, region and endpoint come from boto3's usual sources, so
``AWS_ENDPOINT_URL`` points it at the local stack; ``--region`` and ``--endpoint-url`` override
them. stdout is the JSON answer only (``... create --tenant acme | jq -r .key``); logs and errors
go to stderr. ``create`` prints the new key once: it cannot be shown again. ``list`` shows key ids, names
and dates, never a key. A revoked key is refused (401) within 60 seconds (the API's lookup cache).

Rotation without downtime: ``create`` a second key, move the clients to it, ``revoke`` the old one.
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

from mediajobs.api.keys import ApiKeyError, ApiKeyRecord, ApiKeyStore  # noqa: E402 - after the path
from scripts.operator_output import run_on_jobs_table  # noqa: E402

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def _shown(record: ApiKeyRecord) -> dict[str, Any]:
    return {
        "key_id": record.key_id,
        "tenant_id": record.tenant_id,
        "name": record.name,
        "created_at": record.created_at.isoformat(),
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
        "status": "active" if record.active else "revoked",
    }


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m scripts.apikeys", description="Create, list and revoke a tenant's API keys."
    )
    root.add_argument("--table", help="the jobs table (stack output JobsTableName; default: $JOBS_TABLE)")
    root.add_argument("--region", help="AWS region (default: boto3's)")
    root.add_argument(
        "--endpoint-url", help="another DynamoDB endpoint (default: $AWS_ENDPOINT_URL, else AWS)"
    )
    commands = root.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="make a key and print it once")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name", default="", help="what the key is for (shown by list)")
    listing = commands.add_parser("list", help="the tenant's keys: ids, names, dates (never the keys)")
    listing.add_argument("--tenant", required=True)
    revoke = commands.add_parser("revoke", help="stop a key from working (within 60 seconds)")
    revoke.add_argument("--tenant", required=True)
    revoke.add_argument("--key-id", required=True, help="the key id that create and list show")
    return root


def run(args: argparse.Namespace, table: Table) -> dict[str, Any]:
    """Carry out one command; what to print."""
    store = ApiKeyStore(table)
    match args.command:
        case "create":
            made = store.create(args.tenant, name=args.name)
            return {
                "key": made.key,
                **_shown(made.record),
                "note": "store this key now: it is not kept and cannot be shown again",
            }
        case "list":
            return {"tenant_id": args.tenant, "keys": [_shown(r) for r in store.list_keys(args.tenant)]}
        case "revoke":
            return _shown(store.revoke(args.tenant, args.key_id)) | {
                "note": "requests with this key are refused (401) within 60 seconds"
            }
    raise ApiKeyError(f"unknown command {args.command}")  # argparse allows no other


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    return run_on_jobs_table(argv, environ, parser=parser(), run=run, failures=(ApiKeyError,))


if __name__ == "__main__":
    sys.exit(main())
