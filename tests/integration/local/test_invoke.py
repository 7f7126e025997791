"""Lambda invocations through moto reach the in-process handlers: boto3 Invoke, S3 notifications."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from local.moto_runtime import FunctionError, LambdaContext

from tests.integration.local.conftest import STACK, LocalStack


def test_invoke_runs_the_handler_in_process_with_env_and_context(local_stack: LocalStack) -> None:
    provisioned = local_stack.provisioned
    name = provisioned.function_name("EchoFunction")
    response = local_stack.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps({"hello": "world"}).encode(), LogType="Tail"
    )
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    result = json.loads(response["Payload"].read())
    assert result["event"] == {"hello": "world"}
    assert result["module"] == "_local_lambda.EchoFunction.app"
    assert result["sibling"] == "echo-helpers", "a sibling module of app.py imports"
    assert result["layer"] == "fixturelib-from-layer", "the layer folder is on sys.path"
    assert result["env"] == {
        "STAGE": "test",
        "TABLE_NAME": provisioned.tables["ItemsTable"],
        "GREETING": "hello",
        "ECHO_ONLY": "yes",
        "AWS_ENDPOINT_URL": local_stack.runtime.endpoint_url,
    }
    context = result["context"]
    assert context["function_name"] == name
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == provisioned.functions["EchoFunction"].arn
    assert context["memory_limit_in_mb"] == "256"
    assert uuid.UUID(context["aws_request_id"]).version == 4
    assert context["log_group_name"] == f"/aws/lambda/{name}"
    assert "[$LATEST]" in context["log_stream_name"]
    assert 6000 < context["remaining_ms"] <= 7000, "counts down from the function's Timeout (7 s)"
    logs = base64.b64decode(response["LogResult"]).decode()
    assert f"START RequestId: {context['aws_request_id']}" in logs


def test_event_invocation_runs_the_handler(local_stack: LocalStack) -> None:
    seen: list[Any] = []
    name = _temporary_function(local_stack, lambda event, context: seen.append(event))
    response = local_stack.client("lambda").invoke(
        FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}'
    )
    assert response["StatusCode"] == 202
    local_stack.wait_until(lambda: seen)
    assert seen == [{"n": 1}]


def test_handler_errors_have_lambdas_shape(local_stack: LocalStack) -> None:
    name = local_stack.provisioned.function_name("EchoFunction")
    response = local_stack.client("lambda").invoke(FunctionName=name, Payload=b'{"raise": "bad input"}')
    assert response["FunctionError"]
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad input"
    assert isinstance(error["stackTrace"], list)
    assert any("app.py" in line for line in error["stackTrace"])
    with pytest.raises(FunctionError) as info:
        local_stack.runtime.invoke(name, {"raise": "again"})
    assert (info.value.error_type, info.value.error_message) == ("ValueError", "again")


def test_handlers_run_concurrently(local_stack: LocalStack) -> None:
    parties = 4
    barrier = threading.Barrier(parties, timeout=5)

    def handler(event: Any, context: LambdaContext) -> Any:
        barrier.wait()  # only passes when all invocations run at the same time
        return threading.get_ident()

    name = _temporary_function(local_stack, handler)
    with ThreadPoolExecutor(parties) as pool:
        threads = list(pool.map(lambda _: local_stack.runtime.invoke(name, {}), range(parties)))
    assert len(set(threads)) == parties


def test_a_handler_outliving_its_timeout_fails_like_lambda(local_stack: LocalStack) -> None:
    name = _temporary_function(local_stack, lambda event, context: time.sleep(1.1), timeout=1)
    with pytest.raises(FunctionError) as info:
        local_stack.runtime.invoke(name, {})
    assert info.value.error_type == "Sandbox.Timedout"


def test_function_without_a_handler(local_stack: LocalStack) -> None:
    name = _temporary_function(local_stack, None)
    with pytest.raises(FunctionError) as info:
        local_stack.runtime.invoke(name, {})
    assert info.value.error_type == "Runtime.HandlerNotFound"


def test_s3_notification_with_prefix_filter(local_stack: LocalStack) -> None:
    provisioned = local_stack.provisioned
    bucket = provisioned.buckets["FilesBucket"]
    s3 = local_stack.client("s3")
    s3.put_object(Bucket=bucket, Key="uploads/my photo+1.png", Body=b"png")
    s3.put_object(Bucket=bucket, Key="elsewhere/ignored.png", Body=b"png")
    ddb = local_stack.client("dynamodb")
    items: list[Any] = []
    deadline = time.monotonic() + 5
    while not items and time.monotonic() < deadline:  # S3 notifies asynchronously, as in AWS
        time.sleep(0.05)
        items = ddb.query(
            TableName=provisioned.tables["ItemsTable"],
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "upload"}},
        )["Items"]
    time.sleep(0.2)
    items = ddb.query(
        TableName=provisioned.tables["ItemsTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "upload"}},
    )["Items"]
    assert [item["sk"]["S"] for item in items] == ["uploads/my photo+1.png"]
    (item,) = items
    assert item["bucket"]["S"] == bucket
    assert item["event_name"]["S"].startswith("ObjectCreated:")
    assert "%2B" in item["raw_key"]["S"], "S3 event keys arrive URL-encoded"


def _temporary_function(local_stack: LocalStack, handler: Any, timeout: int = 3) -> str:
    name = f"{STACK}-tmp-{uuid.uuid4().hex[:8]}"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("app.py", "")
    local_stack.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=local_stack.provisioned.functions["EchoFunction"].role_arn,
        Handler="app.handler",
        Code={"ZipFile": archive.getvalue()},
        Timeout=timeout,
    )
    if handler is not None:
        local_stack.runtime.register(name, handler)
    return name


def test_sqs_event_source_mapping_from_the_template(local_stack: LocalStack) -> None:
    provisioned = local_stack.provisioned
    local_stack.client("sqs").send_message(QueueUrl=provisioned.queues["WorkQueue"], MessageBody="work item")
    ddb = local_stack.client("dynamodb")

    def delivered() -> list[Any]:
        items: list[Any] = ddb.query(
            TableName=provisioned.tables["ItemsTable"],
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "queue"}},
        )["Items"]
        return items

    (item,) = local_stack.wait_until(delivered)
    assert item["body"]["S"] == "work item"
