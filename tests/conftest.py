"""Fixtures shared by every tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.servers import MediaHost, WebhookReceiver

#: fails the run if a mediajobs log line of any test carries a secret (tests/support/log_audit.py)
pytest_plugins = ("tests.support.log_audit",)


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
