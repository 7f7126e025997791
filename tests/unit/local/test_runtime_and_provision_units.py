"""Pieces of local.moto_runtime and local.provision that need no moto server."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from local.cfn import Template, load_template_text
from local.moto_runtime import (
    LambdaContext,
    MotoHookMissingError,
    MotoRuntime,
    install_lambda_hook,
    lambda_error_payload,
)
from local.provision import (
    HandlerImportError,
    HandlerNotFoundError,
    ModuleHandler,
    Provisioned,
    ProvisionedFunction,
    ProvisionError,
    _bucket_name,
    _creation_order,
    _physical_name,
)


class RetryableProviderError(Exception):
    pass


def fake_function(name: str = "fn", timeout: int = 5) -> Any:
    return SimpleNamespace(
        function_name=name,
        function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        memory_size=256,
        timeout=timeout,
        version="$LATEST",
    )


# --- context and error payload -------------------------------------------------------------------


def test_lambda_context_counts_down_from_the_timeout() -> None:
    context = LambdaContext(
        function_name="fn", invoked_function_arn="arn:x", memory_limit_in_mb=512, timeout_seconds=3
    )
    first = context.get_remaining_time_in_millis()
    assert 2900 < first <= 3000
    time.sleep(0.05)
    assert context.get_remaining_time_in_millis() < first
    assert context.memory_limit_in_mb == "512", "the Python runtime hands out a string"
    assert context.function_version == "$LATEST"
    assert context.log_group_name == "/aws/lambda/fn"
    assert "[$LATEST]" in context.log_stream_name
    assert len(context.aws_request_id) == 36


def test_error_payload_names_the_exception_class() -> None:
    def provider_call() -> None:
        raise RetryableProviderError("rate limited")

    try:
        provider_call()
    except RetryableProviderError as exc:
        payload = lambda_error_payload(exc, "req")
    assert payload["errorType"] == "RetryableProviderError"
    assert payload["errorMessage"] == "rate limited"
    assert payload["requestId"] == "req"
    assert any("provider_call" in line for line in payload["stackTrace"])


def test_dispatch_runs_the_handler_and_shapes_errors() -> None:
    runtime = MotoRuntime()
    seen: list[Any] = []

    def ok(event: Any, context: LambdaContext) -> Any:
        seen.append((event, context.function_name, context.timeout_seconds))
        return {"n": 1}

    def fails(event: Any, context: LambdaContext) -> Any:
        raise RetryableProviderError("nope")

    runtime.register("ok", ok)
    runtime.register("fails", fails, timeout=9)
    payload, is_error, logs = runtime._dispatch(fake_function("ok"), {"a": 1})
    assert (json.loads(payload), is_error) == ({"n": 1}, False)
    assert seen == [({"a": 1}, "ok", 5.0)]
    assert logs.startswith("START RequestId: ")
    assert "REPORT RequestId: " in logs
    payload, is_error, _ = runtime._dispatch(fake_function("ok"), "{}")
    assert seen[-1][0] == {}, "moto hands an empty body over as the string '{}'"
    payload, is_error, _ = runtime._dispatch(fake_function("fails"), {})
    assert is_error
    assert json.loads(payload)["errorType"] == "RetryableProviderError"
    payload, is_error, _ = runtime._dispatch(fake_function("unknown"), {})
    assert is_error
    assert json.loads(payload)["errorType"] == "Runtime.HandlerNotFound"


def test_dispatch_reports_unserialisable_results_and_timeouts() -> None:
    runtime = MotoRuntime()
    runtime.register("object", lambda event, context: object())
    runtime.register("slow", lambda event, context: time.sleep(0.2), timeout=0.1)
    payload, is_error, _ = runtime._dispatch(fake_function("object"), {})
    assert is_error
    assert json.loads(payload)["errorType"] == "Runtime.MarshalError"
    payload, is_error, _ = runtime._dispatch(fake_function("slow"), {})
    assert is_error
    assert json.loads(payload)["errorType"] == "Sandbox.Timedout"
    lenient = MotoRuntime(enforce_timeouts=False)
    lenient.register("slow", lambda event, context: time.sleep(0.2), timeout=0.1)
    assert lenient._dispatch(fake_function("slow"), {})[1] is False


def test_hook_install_fails_clearly_when_moto_lost_the_method(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.awslambda import models

    monkeypatch.delattr(models.LambdaFunction, "_invoke_lambda")
    with pytest.raises(MotoHookMissingError, match="_invoke_lambda is gone"):
        install_lambda_hook(lambda function, event: ("", False, ""))


# --- provisioning helpers ------------------------------------------------------------------------


def test_physical_names_are_deterministic_and_bounded() -> None:
    assert _physical_name("mj", "ApiFunction") == "mj-ApiFunction"
    long_name = _physical_name("stack", "X" * 80)
    assert len(long_name) == 64
    assert long_name == _physical_name("stack", "X" * 80)
    assert _bucket_name("My_Stack", "MediaBucket") == "my-stack-mediabucket"
    assert len(_bucket_name("s" * 40, "B" * 40)) <= 63


def test_creation_order_follows_references_and_reports_cycles() -> None:
    template = Template(
        load_template_text(
            """
Resources:
  Machine: {Type: AWS::Serverless::StateMachine, Properties: {DefinitionSubstitutions: {A: !GetAtt Fn.Arn}}}
  Fn: {Type: AWS::Serverless::Function, Properties: {Environment: {Variables: {T: !Ref Table}}}}
  Table: {Type: AWS::DynamoDB::Table, Properties: {}}
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      NotificationConfiguration: {LambdaConfigurations: [{Function: !GetAtt Fn.Arn, Event: "s3:*"}]}
"""
        )
    )
    order = _creation_order(template, list(template.resources))
    assert order.index("Table") < order.index("Fn") < order.index("Machine")
    cyclic = Template(
        load_template_text(
            """
Resources:
  A: {Type: AWS::SQS::Queue, Properties: {QueueName: !GetAtt B.QueueName}}
  B: {Type: AWS::SQS::Queue, Properties: {QueueName: !GetAtt A.QueueName}}
"""
        )
    )
    with pytest.raises(ProvisionError, match="circular dependency between A, B"):
        _creation_order(cyclic, ["A", "B"])


def _function(logical_id: str, environment: dict[str, str]) -> ProvisionedFunction:
    return ProvisionedFunction(
        logical_id=logical_id,
        name=f"s-{logical_id}",
        arn=f"arn:{logical_id}",
        handler="app.handler",
        code_dir=Path(),
        layer_dirs=(),
        environment=environment,
        timeout=3,
        memory_size=128,
        role_arn="arn:role",
        runtime="python3.13",
    )


def test_environment_is_merged_and_conflicts_are_errors() -> None:
    provisioned = Provisioned(stack_name="s", parameters={})
    provisioned.functions = {
        "A": _function("A", {"SHARED": "1", "ONLY_A": "a"}),
        "B": _function("B", {"SHARED": "1", "ONLY_B": "b"}),
    }
    assert provisioned.environment() == {"SHARED": "1", "ONLY_A": "a", "ONLY_B": "b"}
    provisioned.functions["C"] = _function("C", {"SHARED": "2"})
    with pytest.raises(ProvisionError, match="SHARED is '1' for A but '2' for C"):
        provisioned.environment()


def test_module_handler_imports_lazily_under_a_unique_name(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text(
            f"WHO = {name!r}\ndef handler(event, context):\n    return WHO\n"
        )
    one = ModuleHandler(logical_id="One", code_dir=tmp_path / "one", handler="app.handler")
    two = ModuleHandler(logical_id="Two", code_dir=tmp_path / "two", handler="app.handler")
    assert one.module_name not in sys.modules, "nothing is imported before the first call"
    context: Any = None
    assert (one({}, context), two({}, context)) == ("one", "two")
    assert sys.modules[one.module_name] is not sys.modules[two.module_name]
    assert str(tmp_path / "one") not in sys.path


def test_module_handler_import_errors_look_like_lambdas(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import not_a_module_anywhere\n")
    broken = ModuleHandler(logical_id="Broken", code_dir=tmp_path, handler="app.handler")
    with pytest.raises(HandlerImportError) as info:
        broken({}, None)  # type: ignore[arg-type]
    assert lambda_error_payload(info.value, "r")["errorType"] == "Runtime.ImportModuleError"
    assert "not_a_module_anywhere" in str(info.value)
    missing = ModuleHandler(logical_id="Missing", code_dir=tmp_path, handler="nofile.handler")
    with pytest.raises(HandlerImportError, match=r"no nofile\.py"):
        missing({}, None)  # type: ignore[arg-type]
    (tmp_path / "other.py").write_text("x = 1\n")
    no_function = ModuleHandler(logical_id="NoFn", code_dir=tmp_path, handler="other.handler")
    with pytest.raises(HandlerNotFoundError, match="Handler 'handler' missing on module 'other'"):
        no_function({}, None)  # type: ignore[arg-type]
    with pytest.raises(ProvisionError, match=r"module\.function"):
        ModuleHandler(logical_id="Bad", code_dir=tmp_path, handler="nodot")
