"""The in-process Lambda hook rests on a private moto method: fail loudly the day it changes.

And the local stack's patches of moto (its module listing made once, transactions that copy
the items they write rather than whole tables) still hold."""

from __future__ import annotations

import inspect
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

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


@pytest.fixture
def items_table(local_stack: Any) -> Iterator[tuple[Any, str]]:
    """A table of its own with a hash and a range key, two items in it."""
    dynamodb = local_stack.client("dynamodb")
    name = f"tx-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for pk in ("a", "b"):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": pk}, "sk": {"S": "1"}, "n": {"N": "1"}})
    yield dynamodb, name
    dynamodb.delete_table(TableName=name)


def _writes(name: str, condition_on_b: str) -> list[dict[str, Any]]:
    def key(pk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": "1"}}

    return [
        {"Update": {"TableName": name, "Key": key("a"), "UpdateExpression": "SET n = :two",
                    "ExpressionAttributeValues": {":two": {"N": "2"}}}},
        {"Put": {"TableName": name, "Item": key("c") | {"n": {"N": "3"}}}},
        {"Delete": {"TableName": name, "Key": key("b"), "ConditionExpression": condition_on_b,
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
    ]  # fmt: skip


def _contents(dynamodb: Any, name: str) -> dict[str, str]:
    return {i["pk"]["S"]: i["n"]["N"] for i in dynamodb.scan(TableName=name, ConsistentRead=True)["Items"]}


def test_a_cancelled_transaction_leaves_every_item_as_it_was_and_copies_no_table(
    items_table: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table

    dynamodb, name = items_table

    def no_table_copies(table: Table, memo: object) -> Table:
        raise AssertionError("a whole table was copied for a transaction")

    # Given a table, and no way to copy a whole one
    monkeypatch.setattr(Table, "__deepcopy__", no_table_copies, raising=False)

    # When a transaction updates a, puts c, then fails its condition on b
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as cancelled:
        dynamodb.transact_write_items(TransactItems=_writes(name, "n = :one AND attribute_not_exists(pk)"))

    # Then it is cancelled for b's condition and a, b and c are as they were
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert _contents(dynamodb, name) == {"a": "1", "b": "1"}

    # And one whose conditions hold writes all three
    dynamodb.transact_write_items(TransactItems=_writes(name, "n = :one"))
    assert _contents(dynamodb, name) == {"a": "2", "c": "3"}


def test_step_functions_parse_each_definition_and_path_once_and_keep_a_client_per_service(
    local_stack: Any,
) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.utils import json_path

    # Given the running stack and a definition
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})

    # Then parsing it again answers the program already parsed
    assert AmazonStateLanguageParser.parse(definition) is AmazonStateLanguageParser.parse(definition)
    # And a JSONPath still reads what it names, parsed once
    assert json_path.extract_json("$.job.id", {"job": {"id": "j-1"}}) == "j-1"
    assert json_path.extract_json("$.job.id", {"job": {"id": "j-2"}}) == "j-2"
    assert vars(json_path)["parse"].cache_info().hits >= 1
    # And a Lambda task's client is made once per service
    make = vars(lambda_eval_utils)["boto_client_for"]
    assert make(region="us-east-1", service="lambda") is make(region="us-east-1", service="lambda")
    endpoint = urlsplit(make(region="us-east-1", service="lambda").meta.endpoint_url)
    assert endpoint.port == urlsplit(local_stack.runtime.endpoint_url).port
