"""One moto runtime with the fixture template provisioned, shared by the local-stack integration tests."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from local.cfn import Template
from local.moto_runtime import MotoRuntime
from local.provision import Provisioned, provision

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "local"
STACK = "fx"


@dataclass
class LocalStack:
    template: Template
    runtime: MotoRuntime
    provisioned: Provisioned

    def client(self, service: str) -> Any:
        return self.runtime.client(service)

    def wait_for_execution(self, execution_arn: str, timeout: float = 20) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            description: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if description["status"] != "RUNNING":
                return description
            time.sleep(0.05)
        raise AssertionError(f"{execution_arn} still running after {timeout}s")

    def wait_until(self, probe: Callable[[], Any], timeout: float = 10) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError("condition not met in time")

    def start(self, name: str, payload: dict[str, Any]) -> str:
        arn: str = self.client("stepfunctions").start_execution(
            stateMachineArn=self.provisioned.state_machines["FlowStateMachine"],
            name=name,
            input=json.dumps(payload),
        )["executionArn"]
        return arn


@pytest.fixture(scope="package")
def local_stack() -> Iterator[LocalStack]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    template = Template.load(FIXTURES / "template.yaml")
    with MotoRuntime() as runtime, pytest.MonkeyPatch.context() as patch:
        provisioned = provision(template, runtime, stack_name=STACK, project_root=FIXTURES)
        for key, value in {**runtime.env(), **provisioned.environment()}.items():
            patch.setenv(key, value)
        yield LocalStack(template, runtime, provisioned)
