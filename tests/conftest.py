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


#: modules that each keep a stack busy for a minute or more with many jobs: under
#: ``--dist loadgroup`` they share one worker, one after the other, so two never starve each
#: other's serialised HTTP functions into client timeouts
HEAVY_MODULES = frozenset(
    {
        "reliability/test_burst.py",
        "reliability/test_faults.py",
        "e2e/test_batches.py",
    }
)


def _group(item: pytest.Item) -> str:
    """The module (its stack stays on one worker), or ``heavy`` for :data:`HEAVY_MODULES`."""
    try:
        module = item.path.resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return str(item.path)
    return "heavy" if module in HEAVY_MODULES else module


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_tier)  # stable: the order inside a tier and a module is kept
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))


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
