"""Operator tool: a tenant's client webhook settings in the stack's jobs table.

    .venv/bin/python scripts/tenant_webhooks.py --table TABLE show TENANT [--reveal]
    .venv/bin/python scripts/tenant_webhooks.py --table TABLE set-url TENANT URL
    .venv/bin/python scripts/tenant_webhooks.py --table TABLE clear-url TENANT
    .venv/bin/python scripts/tenant_webhooks.py --table TABLE rotate TENANT
    .venv/bin/python scripts/tenant_webhooks.py --table TABLE finish-rotation TENANT
    .venv/bin/python scripts/tenant_webhooks.py --table TABLE enable-url TENANT URL
    .venv/bin/python scripts/tenant_webhooks.py --table TABLE set-events TENANT [EVENT_TYPE ...]

``TABLE`` is the stack's ``JobsTableName`` output; credentials and region come from boto3's usual
sources (``--region`` and ``--endpoint-url`` override them). ``set-url`` sets the URL that jobs
naming no ``webhook_url`` are delivered to (and enables it again if it answered 410 Gone);
``rotate`` adds a new secret and prints it once (both secrets sign until ``finish-rotation``
drops the older one); a tenant's first secret is made by ``rotate`` or ``set-url``.
``set-events`` sets the tenant's ``webhook_events_filter`` (the event types its webhooks and bus
events carry; a job's own filter comes first); with no event type, every type again.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "mediajobs"))

from mediajobs.fetching import FetchError, UnsafeUrlError, UrlPolicy, check_url
from mediajobs.notifications.models import EVENT_TYPES, NotificationError, TenantWebhooks
from mediajobs.notifications.signing import generate_secret
from mediajobs.notifications.store import NotificationStore
from scripts.operator_output import logs_to_stderr, print_answer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def _masked(secret: str) -> str:
    return f"{secret[:10]}...({len(secret)} characters)"


def _show(settings: TenantWebhooks, *, reveal: bool) -> dict[str, Any]:
    return {
        "tenant_id": settings.tenant_id,
        "default_url": settings.default_url,
        "secrets": [s if reveal else _masked(s) for s in settings.secrets],
        "disabled_urls": sorted(settings.disabled_urls),
        "webhook_events_filter": settings.webhook_events_filter,
        "updated_at": settings.updated_at.isoformat() if settings.updated_at else None,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tenant_webhooks.py", description="A tenant's client webhook settings (default URL, secrets)."
    )
    parser.add_argument("--table", required=True, help="the jobs table (stack output JobsTableName)")
    parser.add_argument("--region", help="AWS region (default: boto3's)")
    parser.add_argument("--endpoint-url", help="another DynamoDB endpoint (e.g. the local stack's moto)")
    parser.add_argument(
        "--allow-loopback", action="store_true", help="accept loopback URLs (local stack only)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="print the settings (secrets masked unless --reveal)")
    show.add_argument("tenant")
    show.add_argument("--reveal", action="store_true", help="print the secrets in full")
    set_url = commands.add_parser("set-url", help="the URL for jobs that name no webhook_url")
    set_url.add_argument("tenant")
    set_url.add_argument("url")
    commands.add_parser("clear-url", help="no default URL").add_argument("tenant")
    commands.add_parser(
        "rotate", help="add a new secret (printed once); the previous one still signs"
    ).add_argument("tenant")
    commands.add_parser("finish-rotation", help="only the newest secret signs from now on").add_argument(
        "tenant"
    )
    enable = commands.add_parser("enable-url", help="send to a URL again after it answered 410 Gone")
    enable.add_argument("tenant")
    enable.add_argument("url")
    events = commands.add_parser("set-events", help="the event types to deliver (none named: all)")
    events.add_argument("tenant")
    events.add_argument("event_types", nargs="*", choices=EVENT_TYPES, metavar="EVENT_TYPE")
    return parser


def run(args: argparse.Namespace, table: Table) -> dict[str, Any]:
    """Carry out one command; the tenant's settings afterwards (and a new secret, if one was made)."""
    store = NotificationStore(table)
    now = datetime.now(UTC)
    current = store.tenant_webhooks(args.tenant)
    new_secret: str | None = None
    match args.command:
        case "show":
            return _show(current, reveal=args.reveal)
        case "set-url":
            try:
                check_url(args.url, UrlPolicy(allow_loopback=args.allow_loopback))
            except (UnsafeUrlError, FetchError) as exc:
                raise NotificationError(f"{args.url} cannot be a webhook URL: {exc}") from exc
            secrets = current.secrets or [new_secret := generate_secret()]
            store.configure_tenant(args.tenant, secrets=secrets, default_url=args.url, now=now)
        case "clear-url":
            if current.secrets:
                store.configure_tenant(args.tenant, secrets=current.secrets, default_url=None, now=now)
        case "rotate":
            new_secret = generate_secret()
            secrets = [new_secret, *current.secrets[:1]]
            store.configure_tenant(args.tenant, secrets=secrets, default_url=current.default_url, now=now)
        case "finish-rotation":
            if not current.secrets:
                raise NotificationError(f"tenant {args.tenant} has no secret yet: run rotate first")
            store.configure_tenant(
                args.tenant, secrets=current.secrets[:1], default_url=current.default_url, now=now
            )
        case "enable-url":
            store.enable_url(args.tenant, args.url, now=now)
        case "set-events":
            store.set_events_filter(args.tenant, args.event_types or None, now=now)
    shown = _show(store.tenant_webhooks(args.tenant), reveal=False)
    if new_secret is not None:
        shown["new_secret"] = new_secret
    return shown


def main(argv: Sequence[str] | None = None) -> int:
    with logs_to_stderr():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    dynamodb = boto3.resource("dynamodb", region_name=args.region, endpoint_url=args.endpoint_url)
    try:
        answer = run(args, dynamodb.Table(args.table))
    except NotificationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print_answer(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
