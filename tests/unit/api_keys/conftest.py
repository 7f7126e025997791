"""The jobs table of template.yaml in moto, and an ApiKeyStore and JobStore on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mediajobs.api.keys import ApiKeyStore
from mediajobs.jobs.store import JobStore
from tests.support.aws import MOCK_CONFIG, REGION, create_from_template

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class Clock:
    """Each reading one second after the last, so keys made in a row sort in that order."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def table_name() -> Iterator[str]:
    with mock_aws(config=MOCK_CONFIG):
        yield create_from_template(["JobsTable"])["JobsTable"]


@pytest.fixture
def table(table_name: str) -> Any:
    return boto3.resource("dynamodb", region_name=REGION).Table(table_name)


@pytest.fixture
def keys(table: Any) -> ApiKeyStore:
    return ApiKeyStore(table, clock=Clock())


@pytest.fixture
def jobs(table: Any) -> JobStore:
    return JobStore(table)
