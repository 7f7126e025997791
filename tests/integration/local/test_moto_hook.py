"""The in-process Lambda hook rests on a private moto method: fail loudly the day it changes.

And the local stack's patch of moto's server (its module listing, made once) still holds."""

from __future__ import annotations

import inspect
import os
from typing import Any

import pytest
from local.moto_runtime import HOOK_TARGET, install_lambda_hook, moto_invoke_lambda


def test_moto_still_has_the_private_invoke_hook() -> None:
    method = moto_invoke_lambda()
    assert callable(method), (
        f"{HOOK_TARGET} is gone from moto: every local Lambda invocation depends on it. "
        "Pin moto back or port local/moto_runtime.install_lambda_hook."
    )
    parameters = list(inspect.signature(method).parameters)
    assert parameters == ["self", "event"], f"{HOOK_TARGET} changed its signature: {parameters}"
    annotation = str(inspect.signature(method).return_annotation)
    assert "tuple[str, bool, str]" in annotation, f"{HOOK_TARGET} changed what it returns: {annotation}"


def test_every_invoke_path_in_moto_goes_through_the_hook() -> None:
    from moto.awslambda import models

    source = inspect.getsource(models.LambdaFunction.invoke)
    assert "self._invoke_lambda(" in source, "LambdaFunction.invoke no longer calls _invoke_lambda"


def test_install_and_uninstall_round_trip() -> None:
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction.__dict__["_invoke_lambda"]
    calls: list[object] = []

    def dispatch(function: object, event: object) -> tuple[str, bool, str]:
        calls.append(event)
        return "null", False, ""

    uninstall = install_lambda_hook(dispatch)
    try:
        assert LambdaFunction.__dict__["_invoke_lambda"] is not original
        assert LambdaFunction._invoke_lambda(object(), {"x": 1}) == ("null", False, "")  # type: ignore[arg-type]
        assert calls == [{"x": 1}]
    finally:
        uninstall()
    assert LambdaFunction.__dict__["_invoke_lambda"] is original


def test_moto_modules_are_listed_once_and_the_server_still_finds_each_backend(
    local_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    # Given the running stack (its runtime listed moto's modules once at start)
    dispatcher = DomainDispatcherApplication(create_app=lambda service: None)  # type: ignore[arg-type,return-value]
    listed = set(backends.list_of_moto_modules())
    assert {"dynamodb", "s3", "stepfunctions", "awslambda", "events"} <= listed

    # When moto's folder can no longer be listed
    def no_listing(path: str) -> list[str]:
        raise AssertionError(f"moto's modules were listed again ({path})")

    monkeypatch.setattr(os, "listdir", no_listing)

    # Then the server still resolves a service host, and the stack still answers AWS calls
    assert dispatcher.get_backend_for_host("dynamodb") == "dynamodb"
    assert local_stack.client("dynamodb").list_tables()["TableNames"]
