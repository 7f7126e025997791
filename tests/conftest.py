"""Fixtures shared by every tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import MediaHost, WebhookReceiver

#: fails the run if a mediajobs log line of any test carries a secret (tests/support/log_audit.py)
pytest_plugins = ("tests.support.log_audit",)

TESTS = Path(__file__).resolve().parent
#: the tiers, longest modules first: xdist hands out modules in this order, so the minutes-long
#: reliability and e2e modules start at once and the quick unit modules fill the gaps at the end
TIER_ORDER = ("reliability", "e2e", "integration", "unit")


def _tier(item: pytest.Item) -> int:
    try:
        tier = item.path.resolve().relative_to(TESTS).parts[0]
    except ValueError:
        return len(TIER_ORDER)
    return TIER_ORDER.index(tier) if tier in TIER_ORDER else len(TIER_ORDER)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_tier)  # stable: the order inside a tier and a module is kept


@pytest.fixture(scope="session")
def media_host() -> Iterator[MediaHost]:
    host = MediaHost()
    yield host
    host.stop()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()
