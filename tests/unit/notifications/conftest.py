"""The notification tests: the jobs table on moto (from template.yaml), fake AWS clients, a clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mediajobs.notifications.signing import generate_secret
from mediajobs.notifications.store import NotificationStore
from tests.support.aws import MOCK_CONFIG, REGION, create_from_template
from tests.unit.jobs.fakes import START, FakeClock

TENANT = "tenant-a"
HOOK = "https://hooks.example.com/mediajobs?token=abc"
#: what the fake resolver answers: a public address, so the SSRF policy lets it through
PUBLIC_ADDRESS = "93.184.216.34"


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws(config=MOCK_CONFIG):
        name = create_from_template(["JobsTable"])["JobsTable"]
        yield boto3.resource("dynamodb", region_name=REGION).Table(name)


@pytest.fixture
def store(table: Any) -> NotificationStore:
    return NotificationStore(table)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def secret() -> str:
    return generate_secret()


@dataclass
class FakeSfn:
    """``start_execution`` as AWS answers it: a name starts once (same input while running: the
    same execution; afterwards ``ExecutionAlreadyExists``); ``fail_with`` answers that error code."""

    started: list[dict[str, Any]] = field(default_factory=list)
    fail_with: str | None = None
    running: bool = True

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:  # noqa: N803, A002
        if self.fail_with is not None:
            raise ClientError({"Error": {"Code": self.fail_with, "Message": "no"}}, "StartExecution")
        arn = f"{stateMachineArn.replace(':stateMachine:', ':execution:')}:{name}"
        if any(s["name"] == name for s in self.started):
            if not self.running:
                raise ClientError(
                    {"Error": {"Code": "ExecutionAlreadyExists", "Message": arn}}, "StartExecution"
                )
            return {"executionArn": arn}
        self.started.append({"arn": stateMachineArn, "name": name, "input": json.loads(input)})
        return {"executionArn": arn}


@dataclass
class FakeEvents:
    """``put_events``: records the entries; ``refuse`` answers them as failed entries."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    refuse: bool = False

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        if self.refuse:
            return {
                "FailedEntryCount": len(Entries),
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"} for _ in Entries],
            }
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i, _ in enumerate(Entries)]}


@pytest.fixture
def sfn() -> FakeSfn:
    return FakeSfn()


@pytest.fixture
def events() -> FakeEvents:
    return FakeEvents()
