"""scripts/tenant_webhooks.py: an operator sets a tenant's default URL and rotates its secrets."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from scripts import tenant_webhooks
from standardwebhooks import Webhook

from mediajobs.fetching import UrlPolicy
from mediajobs.notifications.store import NotificationStore
from tests.support.aws import REGION
from tests.unit.jobs.fakes import START
from tests.unit.notifications.conftest import HOOK, PUBLIC_ADDRESS, TENANT


def run(table: Any, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = tenant_webhooks.main(["--table", table.name, "--region", REGION, *args])
    return code, json.loads(capsys.readouterr().out) if code == 0 else {}


@pytest.fixture(autouse=True)
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network in unit tests: every host name resolves to a public address."""
    monkeypatch.setattr(
        tenant_webhooks, "UrlPolicy", functools.partial(UrlPolicy, resolver=lambda _h, _p: [PUBLIC_ADDRESS])
    )


def test_given_a_new_tenant_when_its_url_is_set_then_a_first_secret_is_made_and_printed_once(
    table: Any, store: NotificationStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, shown = run(table, capsys, "set-url", TENANT, HOOK)

    settings = store.tenant_webhooks(TENANT)
    assert code == 0
    assert settings.default_url == HOOK
    assert settings.secrets == [shown["new_secret"]]
    assert shown["secrets"] != settings.secrets  # masked


def test_given_a_secret_when_rotated_then_new_and_old_both_sign_until_the_rotation_finishes(
    table: Any, store: NotificationStore, capsys: pytest.CaptureFixture[str]
) -> None:
    _, first = run(table, capsys, "rotate", TENANT)
    _, second = run(table, capsys, "rotate", TENANT)
    assert store.tenant_webhooks(TENANT).secrets == [second["new_secret"], first["new_secret"]]

    code, _ = run(table, capsys, "finish-rotation", TENANT)

    assert code == 0
    assert store.tenant_webhooks(TENANT).secrets == [second["new_secret"]]
    Webhook(second["new_secret"])  # a usable standardwebhooks secret


def test_given_an_unsafe_url_when_set_then_it_is_refused(
    table: Any, store: NotificationStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(table, capsys, "set-url", TENANT, "http://169.254.169.254/latest")

    assert code == 1
    assert "metadata" in capsys.readouterr().err
    assert store.tenant_webhooks(TENANT).default_url is None


def test_given_a_disabled_url_when_enabled_then_deliveries_to_it_resume(
    table: Any, store: NotificationStore, capsys: pytest.CaptureFixture[str]
) -> None:
    run(table, capsys, "rotate", TENANT)
    store.disable_url(TENANT, HOOK, now=START)

    code, shown = run(table, capsys, "enable-url", TENANT, HOOK)

    assert code == 0
    assert shown["disabled_urls"] == []


def test_show_masks_secrets_unless_revealed(table: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, rotated = run(table, capsys, "rotate", TENANT)

    _, masked = run(table, capsys, "show", TENANT)
    _, revealed = run(table, capsys, "show", TENANT, "--reveal")

    assert rotated["new_secret"] not in json.dumps(masked)
    assert revealed["secrets"] == [rotated["new_secret"]]


def test_set_events_chooses_the_tenants_event_types_and_none_named_means_all_again(
    table: Any, store: NotificationStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, shown = run(table, capsys, "set-events", TENANT, "job.succeeded", "job.failed")

    assert code == 0
    assert shown["webhook_events_filter"] == ["job.succeeded", "job.failed"]
    assert not store.tenant_webhooks(TENANT).wants("job.progress")

    code, shown = run(table, capsys, "set-events", TENANT)

    assert (code, shown["webhook_events_filter"]) == (0, None)
    assert store.tenant_webhooks(TENANT).wants("job.progress")
