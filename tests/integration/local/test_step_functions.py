"""Step Functions runs the fixture flow for real: callback with timeout, Retry/Catch by error name."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.local.conftest import LocalStack


def _token(local_stack: LocalStack, execution: str) -> str | None:
    item = local_stack.client("dynamodb").get_item(
        TableName=local_stack.provisioned.tables["ItemsTable"],
        Key={"pk": {"S": f"execution#{execution}"}, "sk": {"S": "store_token"}},
    )
    token: str | None = item.get("Item", {}).get("token", {}).get("S")
    return token


def test_callback_resumes_on_send_task_success(local_stack: LocalStack) -> None:
    arn = local_stack.start("callback-resumed", {"scenario": "callback", "wait_seconds": 30})
    token = local_stack.wait_until(lambda: _token(local_stack, "callback-resumed"))
    local_stack.client("stepfunctions").send_task_success(
        taskToken=token, output=json.dumps({"status": "done"})
    )
    description = local_stack.wait_for_execution(arn, timeout=5)
    assert description["status"] == "SUCCEEDED"
    output = json.loads(description["output"])
    assert output["callback"] == {"status": "done"}
    assert output["outcome"] == "resumed"


def test_callback_times_out_to_the_catch(local_stack: LocalStack) -> None:
    arn = local_stack.start("callback-timeout", {"scenario": "callback", "wait_seconds": 1})
    description = local_stack.wait_for_execution(arn, timeout=10)
    assert description["status"] == "SUCCEEDED"
    output = json.loads(description["output"])
    assert output["timeout"]["Error"] == "States.Timeout"
    assert output["outcome"] == "timed_out"
    assert _token(local_stack, "callback-timeout"), "the task did run and store its token"


def test_retry_and_catch_match_a_custom_exception_name(local_stack: LocalStack) -> None:
    # both run at once: Retry waits are real seconds
    recovers = local_stack.start("retry-recovers", {"scenario": "retry", "failures": 2})
    gives_up = local_stack.start("retry-gives-up", {"scenario": "retry", "failures": 10})
    recovered = local_stack.wait_for_execution(recovers)
    gave_up = local_stack.wait_for_execution(gives_up)

    assert recovered["status"] == "SUCCEEDED"
    output: dict[str, Any] = json.loads(recovered["output"])
    assert output["outcome"] == "succeeded"
    assert output["flaky"] == {"attempts": 3}, "two failures, retried twice, third attempt succeeded"

    assert gave_up["status"] == "SUCCEEDED"
    output = json.loads(gave_up["output"])
    assert output["outcome"] == "gave_up"
    assert output["error"]["Error"] == "RetryableProviderError"
    cause = json.loads(output["error"]["Cause"])
    assert cause["errorType"] == "RetryableProviderError"
    assert cause["errorMessage"] == "attempt 3 failed", "1 attempt + MaxAttempts 2 retries, then Catch"
