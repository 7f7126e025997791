"""IdempotentCreator on a moto table: once per (operation, tenant, key), the answer replayed."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from mediajobs.api.errors import ApiError
from mediajobs.api.idempotency import (
    RECORD_SECONDS,
    IdempotencyStoreError,
    IdempotentCreator,
    RequestInProgressError,
    StoredAnswer,
)
from tests.unit.idempotency.conftest import CountingCreate

BODY = {"provider": "prodvisual", "product": {"image_url": "https://shop.example/p.png"}}


def run(
    creator: IdempotentCreator,
    create: Any,
    *,
    key: str = "key-1",
    tenant: str = "tenant-a",
    operation: str = "jobs",
    body: Any = None,
    context: object | None = None,
) -> Any:
    return creator.run(
        operation=operation,
        tenant_id=tenant,
        key=key,
        request={"body": BODY if body is None else body, "query": {}},
        create=create,
        lambda_context=context,
    )


class Remaining:
    """A Lambda context with a fixed remaining time."""

    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


class ContainerDied(BaseException):
    """What a Lambda timeout looks like from inside: nothing after it runs."""


def test_given_a_key_used_once_when_repeated_with_the_same_request_then_the_answer_is_replayed(
    creator: IdempotentCreator, create: CountingCreate
) -> None:
    first = run(creator, create)

    second = run(creator, create)

    assert create.calls == 1
    assert second.answer == first.answer
    assert (first.replayed, second.replayed) == (False, True)
    assert second.answer.headers["Location"] == f"/v1/jobs/{first.answer.body['job_id']}"


def test_given_a_key_used_once_when_sent_with_another_body_then_422_and_nothing_created(
    creator: IdempotentCreator, create: CountingCreate
) -> None:
    run(creator, create)

    with pytest.raises(ApiError) as refused:
        run(creator, create, body=BODY | {"webhook_url": "https://shop.example/hook"})

    assert (refused.value.status, refused.value.code) == (422, "idempotency_key_reused")
    assert create.calls == 1


def test_given_the_same_body_with_keys_in_another_order_when_repeated_then_it_is_a_replay(
    creator: IdempotentCreator, create: CountingCreate
) -> None:
    run(creator, create, body={"a": 1, "b": {"c": 2, "d": 3}})

    again = run(creator, create, body={"b": {"d": 3, "c": 2}, "a": 1})

    assert (create.calls, again.replayed) == (1, True)


def test_given_one_key_when_two_tenants_send_it_then_each_tenant_gets_its_own_creation(
    creator: IdempotentCreator, create: CountingCreate
) -> None:
    mine = run(creator, create, tenant="tenant-a")

    theirs = run(creator, create, tenant="tenant-b")

    assert create.calls == 2
    assert mine.answer.body != theirs.answer.body


def test_given_one_key_when_sent_to_two_create_routes_then_each_route_creates(
    creator: IdempotentCreator, create: CountingCreate
) -> None:
    run(creator, create, operation="jobs")

    other = run(creator, create, operation="uploads")

    assert (create.calls, other.replayed) == (2, False)


def test_given_a_create_that_failed_when_the_key_is_retried_then_it_creates(
    creator: IdempotentCreator, create: CountingCreate
) -> None:
    def refuse() -> StoredAnswer:
        raise ApiError(422, "invalid_product_image", "not an image")

    with pytest.raises(ApiError, match="not an image"):
        run(creator, refuse)

    retried = run(creator, create)

    assert (create.calls, retried.replayed) == (1, False)


def test_given_a_request_still_creating_when_the_same_request_arrives_then_it_waits_for_that_answer(
    creator: IdempotentCreator, create: CountingCreate
) -> None:
    started, release = threading.Event(), threading.Event()

    def slow_create() -> StoredAnswer:
        started.set()
        release.wait(5)
        return create()

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(run, creator, slow_create)
        assert started.wait(5)
        second = pool.submit(run, creator, create)
        time.sleep(0.2)  # the second request is polling now
        release.set()
        answers = [first.result(5), second.result(5)]

    assert create.calls == 1
    assert answers[0].answer == answers[1].answer
    assert [a.replayed for a in answers] == [False, True]


def test_given_a_request_creating_longer_than_the_wait_when_repeated_then_409_with_retry_after(
    table_name: str, dynamodb: Any, create: CountingCreate
) -> None:
    creator = IdempotentCreator.on_table(table_name, dynamodb, wait_seconds=0.2)
    started, release = threading.Event(), threading.Event()

    def slow_create() -> StoredAnswer:
        started.set()
        release.wait(5)
        return create()

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(run, creator, slow_create)
        assert started.wait(5)
        try:
            with pytest.raises(RequestInProgressError) as busy:
                run(creator, create)
        finally:
            release.set()
        first.result(5)

    assert (busy.value.status, busy.value.code) == (409, "request_in_progress")
    assert busy.value.retry_after >= 1
    assert create.calls == 1


def test_given_a_request_that_died_while_creating_when_its_time_ran_out_then_a_retry_creates(
    creator: IdempotentCreator, create: CountingCreate
) -> None:
    def die() -> StoredAnswer:
        raise ContainerDied

    with pytest.raises(ContainerDied):
        run(creator, die, context=Remaining(0))  # the invocation had no time left
    time.sleep(0.01)

    retried = run(creator, create)

    assert (create.calls, retried.replayed) == (1, False)


def test_given_a_created_answer_when_stored_then_its_record_expires_after_24_hours(
    creator: IdempotentCreator, create: CountingCreate, table_name: str, dynamodb: Any
) -> None:
    before = time.time()

    run(creator, create)

    (item,) = dynamodb.scan(TableName=table_name)["Items"]
    assert before + RECORD_SECONDS - 5 <= int(item["expiration"]["N"]) <= time.time() + RECORD_SECONDS + 5
    assert item["status"]["S"] == "COMPLETED"


def test_given_a_stored_record_then_it_holds_neither_the_key_nor_the_tenant_in_clear(
    creator: IdempotentCreator, create: CountingCreate, table_name: str, dynamodb: Any
) -> None:
    run(creator, create, key="client-key-visible", tenant="tenant-visible")

    (item,) = dynamodb.scan(TableName=table_name)["Items"]
    assert "client-key-visible" not in str(item)
    assert "tenant-visible" not in str(item)


def test_given_a_missing_table_when_a_key_is_used_then_a_store_error_and_nothing_created(
    dynamodb: Any, create: CountingCreate
) -> None:
    creator = IdempotentCreator.on_table("no-such-table", dynamodb)

    with pytest.raises(IdempotencyStoreError):
        run(creator, create)

    assert create.calls == 0


class AnswerNotRecorded(DynamoDBPersistenceLayer):
    def _update_record(self, data_record: DataRecord) -> None:
        raise RuntimeError("DynamoDB is down")


def test_given_the_answer_cannot_be_recorded_when_created_then_the_created_answer_is_still_given(
    table_name: str, dynamodb: Any, create: CountingCreate
) -> None:
    creator = IdempotentCreator(AnswerNotRecorded(table_name=table_name, boto3_client=dynamodb))

    outcome = run(creator, create)

    assert (create.calls, outcome.replayed) == (1, False)
    assert outcome.answer.body == {"job_id": f"{1:032x}"}
