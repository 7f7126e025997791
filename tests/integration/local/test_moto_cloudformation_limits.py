"""Why local.provision creates resources itself instead of calling moto's CloudFormation.

Each test pins one thing moto's ``CreateStack`` (the pinned moto) does not do that this project's
template needs. When one of them fails after a moto upgrade, moto has learned it: look again at
handing that resource type to ``cloudformation.create_stack`` (see the local.provision docstring).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.local.conftest import LocalStack

# moto warns of each resource type its CloudFormation skips: that is what is pinned here
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")

STACK = "moto-cfn-probe"

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})

TEMPLATE = {
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            },
        },
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "NotificationConfiguration": {
                    "QueueConfigurations": [
                        {"Queue": {"Fn::GetAtt": ["Queue", "Arn"]}, "Event": "s3:ObjectCreated:*"}
                    ]
                }
            },
        },
        "Secret": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {"Name": f"{STACK}/secret", "SecretString": "{}"},
        },
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "states.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                }
            },
        },
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": f"{STACK}-machine",
                "DefinitionString": DEFINITION,
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            },
        },
    }
}


@pytest.fixture(scope="module")
def stack(local_stack: LocalStack) -> Iterator[dict[str, str]]:
    cloudformation = local_stack.client("cloudformation")
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE))
    summaries: list[dict[str, Any]] = cloudformation.list_stack_resources(StackName=STACK)[
        "StackResourceSummaries"
    ]
    yield {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries}
    cloudformation.delete_stack(StackName=STACK)  # the moto server is shared with other tests


def test_secrets_manager_secret_is_not_created(stack: dict[str, str], local_stack: LocalStack) -> None:
    assert "Secret" not in stack
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        local_stack.client("secretsmanager").describe_secret(SecretId=f"{STACK}/secret")


def test_state_machine_is_invisible_to_the_executing_step_functions(
    stack: dict[str, str], local_stack: LocalStack
) -> None:
    # moto's CloudFormation writes to the plain Step Functions backend; with execution turned on
    # the API answers from the interpreter's backend, which never hears of the machine
    assert stack["Machine"].endswith(f":stateMachine:{STACK}-machine")
    with pytest.raises(ClientError, match="StateMachineDoesNotExist"):
        local_stack.client("stepfunctions").describe_state_machine(stateMachineArn=stack["Machine"])


def test_bucket_notifications_are_ignored(stack: dict[str, str], local_stack: LocalStack) -> None:
    config = local_stack.client("s3").get_bucket_notification_configuration(Bucket=stack["Bucket"])
    assert not config.get("QueueConfigurations")


def test_table_time_to_live_is_ignored(stack: dict[str, str], local_stack: LocalStack) -> None:
    ttl = local_stack.client("dynamodb").describe_time_to_live(TableName=stack["Table"])
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
