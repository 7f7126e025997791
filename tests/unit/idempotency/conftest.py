"""An IdempotentCreator on a moto IdempotencyTable created from template.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mediajobs.api.idempotency import IdempotentCreator, StoredAnswer
from tests.support.aws import MOCK_CONFIG, REGION, create_from_template


class CountingCreate:
    """A create that counts its calls and answers a new id each time."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> StoredAnswer:
        self.calls += 1
        job_id = f"{self.calls:032x}"
        return StoredAnswer(status=202, body={"job_id": job_id}, headers={"Location": f"/v1/jobs/{job_id}"})


@pytest.fixture
def table_name() -> Iterator[str]:
    with mock_aws(config=MOCK_CONFIG):
        yield create_from_template(["IdempotencyTable"])["IdempotencyTable"]


@pytest.fixture
def dynamodb(table_name: str) -> Any:
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def creator(table_name: str, dynamodb: Any) -> IdempotentCreator:
    return IdempotentCreator.on_table(table_name, dynamodb)


@pytest.fixture
def create() -> CountingCreate:
    return CountingCreate()
