"""Per-API-key budgets on moto's DynamoDB: a create made with a key must fit the tenant's and the key's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mediajobs.billing.models import BudgetLimits, Hold
from mediajobs.billing.service import Billing
from mediajobs.billing.store import BudgetStore
from mediajobs.errors import PaymentRequiredError
from mediajobs.jobs.models import Job, JobSpec, JobStatus
from mediajobs.providers.base import ProductInput, ProviderName, ProviderTask, TaskState
from tests.support.aws import MOCK_CONFIG, REGION, create_from_template
from tests.unit.jobs.fakes import FakeClock

TENANT = "acme"
KEY = "0123456789ab"
OTHER_KEY = "ba9876543210"
NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
DAY, MONTH = "2026-03-14", "2026-03"


def spec() -> JobSpec:
    return JobSpec(
        provider=ProviderName.PRODVISUAL,
        product=ProductInput(image_url="https://shop.example/p.png"),
        options={"style": "studio"},
    )


@pytest.fixture
def store() -> Iterator[BudgetStore]:
    with mock_aws(config=MOCK_CONFIG):
        table = create_from_template(["JobsTable"])["JobsTable"]
        yield BudgetStore(boto3.resource("dynamodb", region_name=REGION).Table(table))


@pytest.fixture
def billing(store: BudgetStore) -> Billing:
    return Billing(store, clock=FakeClock(NOW))


def reserve(billing: Billing, key_id: str | None = KEY, jobs: int = 1) -> list[str]:
    ids = [uuid.uuid4().hex for _ in range(jobs)]
    billing.reserve(TENANT, [(job_id, spec()) for job_id in ids], key_id=key_id)
    return ids


def spent(store: BudgetStore, key_id: str | None = None) -> tuple[float, float]:
    return store.spent(TENANT, key_id, day=DAY, month=MONTH)


def final_job(job_id: str, status: JobStatus, *, credits_used: int | None) -> Job:
    tasks = []
    if credits_used is not None:
        tasks = [
            ProviderTask(
                provider=ProviderName.PRODVISUAL,
                stage="generate",
                task_id="gen_1",
                state=TaskState.COMPLETED,
                provider_status="completed",
                credits_used=credits_used,
            )
        ]
    return Job(
        job_id=job_id,
        tenant_id=TENANT,
        status=status,
        created_at=NOW,
        deadline_at=NOW + timedelta(hours=1),
        spec=spec(),
        public_base_url="https://api.example",
        tasks=tasks,
    )


# -- reserving ------------------------------------------------------------------------------------


def test_given_a_key_budget_of_two_when_three_jobs_are_created_with_the_key_then_the_third_is_refused(
    billing: Billing, store: BudgetStore
) -> None:
    billing.set_budget(TENANT, key_id=KEY, daily=2, monthly=None)
    reserve(billing, jobs=2)

    with pytest.raises(PaymentRequiredError) as refused:
        reserve(billing)

    assert refused.value.code == "budget_exceeded"
    assert f"API key {KEY}'s daily credit budget (today: 0 of 2 left)" in refused.value.message
    assert "tenant" not in refused.value.message
    assert [d.path for d in refused.value.details or []] == ["api_key.daily"]
    assert spent(store, KEY) == (2, 2)
    assert spent(store) == (2, 2)  # the tenant's counters count the key's jobs too


def test_given_a_key_at_its_limit_when_another_key_of_the_tenant_creates_then_it_is_not_limited(
    billing: Billing, store: BudgetStore
) -> None:
    billing.set_budget(TENANT, key_id=KEY, daily=1, monthly=None)
    reserve(billing)

    reserve(billing, key_id=OTHER_KEY, jobs=3)
    reserve(billing, key_id=None)

    assert spent(store, KEY) == (1, 1)
    assert spent(store, OTHER_KEY) == (3, 3)
    assert spent(store) == (5, 5)


def test_given_a_monthly_key_budget_when_a_batch_needs_more_than_is_left_then_the_message_says_monthly(
    billing: Billing, store: BudgetStore
) -> None:
    billing.set_budget(TENANT, key_id=KEY, daily=None, monthly=3)
    reserve(billing)

    with pytest.raises(PaymentRequiredError) as refused:
        reserve(billing, jobs=3)

    assert f"API key {KEY}'s monthly credit budget (this month: 2 of 3 left)" in refused.value.message
    assert [d.path for d in refused.value.details or []] == ["api_key.monthly"]
    assert spent(store, KEY) == (1, 1)


def test_given_the_tenant_budget_is_spent_when_a_key_with_room_creates_then_the_tenant_budget_is_named(
    billing: Billing, store: BudgetStore
) -> None:
    billing.set_budget(TENANT, daily=1, monthly=None)
    billing.set_budget(TENANT, key_id=KEY, daily=10, monthly=None)
    reserve(billing, key_id=OTHER_KEY)

    with pytest.raises(PaymentRequiredError) as refused:
        reserve(billing)

    assert "the tenant's daily credit budget (today: 0 of 1 left)" in refused.value.message
    assert "API key" not in refused.value.message
    assert [d.path for d in refused.value.details or []] == ["daily"]
    assert spent(store, KEY) == (0, 0)  # the refusal moved no counter of the key


def test_given_the_key_budget_refuses_when_the_tenant_had_room_then_no_counter_of_either_moved(
    billing: Billing, store: BudgetStore
) -> None:
    billing.set_budget(TENANT, daily=100, monthly=100)
    billing.set_budget(TENANT, key_id=KEY, daily=5, monthly=2)
    reserve(billing, jobs=2)

    with pytest.raises(PaymentRequiredError):
        reserve(billing)

    assert spent(store) == (2, 2)
    assert spent(store, KEY) == (2, 2)


def test_given_both_budgets_would_be_passed_when_creating_then_the_refusal_names_both(
    billing: Billing,
) -> None:
    billing.set_budget(TENANT, daily=1, monthly=None)
    billing.set_budget(TENANT, key_id=KEY, daily=1, monthly=None)
    reserve(billing)

    with pytest.raises(PaymentRequiredError) as refused:
        reserve(billing)

    assert [d.path for d in refused.value.details or []] == ["daily", "api_key.daily"]
    assert "the tenant's daily credit budget" in refused.value.message
    assert f"API key {KEY}'s daily credit budget" in refused.value.message


def test_given_a_batch_larger_than_the_key_limit_when_reserved_then_it_is_refused_without_a_write(
    billing: Billing, store: BudgetStore
) -> None:
    billing.set_budget(TENANT, key_id=KEY, daily=2, monthly=None)

    ids = [uuid.uuid4().hex for _ in range(3)]

    with pytest.raises(PaymentRequiredError) as refused:
        billing.reserve(TENANT, [(i, spec()) for i in ids], key_id=KEY)

    assert [d.path for d in refused.value.details or []] == ["api_key.daily"]
    assert spent(store) == (0, 0)
    assert all(store.hold(i) is None for i in ids)


def test_given_a_key_without_a_budget_when_creating_then_nothing_limits_it_and_its_spend_is_counted(
    billing: Billing, store: BudgetStore
) -> None:
    reserve(billing, jobs=4)

    status = billing.budget(TENANT, key_id=KEY)

    assert status.api_key is not None
    assert (status.api_key.key_id, status.api_key.daily.limit, status.api_key.daily.spent) == (KEY, None, 4)
    assert status.api_key.daily.remaining is None


def test_given_a_concurrent_transaction_on_a_counter_when_reserving_then_it_is_tried_again_once_counted(
    billing: Billing, store: BudgetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    billing.set_budget(TENANT, key_id=KEY, daily=5, monthly=None)
    client: Any = store._client  # the store's own client: its answer is scripted once
    real = client.transact_write_items
    calls: list[int] = []

    def conflicting_once(**kwargs: Any) -> Any:
        calls.append(len(kwargs["TransactItems"]))
        if len(calls) == 1:
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}] * 2,
                },
                "TransactWriteItems",
            )
        return real(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", conflicting_once)
    monkeypatch.setattr("mediajobs.billing.store.time.sleep", lambda _seconds: None)

    reserve(billing)

    assert calls == [4, 4]  # the tenant's and the key's day and month counters, in one transaction
    assert spent(store, KEY) == (1, 1)
    assert spent(store) == (1, 1)


# -- settling and releasing -----------------------------------------------------------------------


def test_given_a_failed_job_of_a_key_when_settled_then_the_keys_credit_is_free_again(
    billing: Billing, store: BudgetStore
) -> None:
    billing.set_budget(TENANT, key_id=KEY, daily=1, monthly=None)
    (job_id,) = reserve(billing)

    assert billing.settle(final_job(job_id, JobStatus.FAILED, credits_used=None)) is True

    assert spent(store, KEY) == (0, 0)
    assert spent(store) == (0, 0)
    reserve(billing)  # the key's one credit is free again


def test_given_a_job_that_used_more_than_reserved_when_settled_then_both_budgets_count_what_it_used(
    billing: Billing, store: BudgetStore
) -> None:
    (job_id,) = reserve(billing)

    billing.settle(final_job(job_id, JobStatus.SUCCEEDED, credits_used=3))
    billing.settle(final_job(job_id, JobStatus.SUCCEEDED, credits_used=3))  # once only

    assert spent(store, KEY) == (3, 3)
    assert spent(store) == (3, 3)


def test_given_a_job_of_a_key_that_never_started_when_released_then_the_key_gets_its_credit_back(
    billing: Billing, store: BudgetStore
) -> None:
    (job_id,) = reserve(billing)

    billing.release(job_id)

    assert spent(store, KEY) == (0, 0)
    assert store.hold(job_id) is None


def test_given_a_hold_made_before_keys_had_budgets_when_settled_then_only_the_tenant_counters_move(
    billing: Billing, store: BudgetStore
) -> None:
    # a hold of the earlier format: no key_id attribute at all
    job_id = uuid.uuid4().hex
    old = Hold(
        job_id=job_id, tenant_id=TENANT, provider=ProviderName.PRODVISUAL, credits=1, day=DAY, month=MONTH
    )
    store.reserve([BudgetLimits(tenant_id=TENANT)], [old], day=DAY, month=MONTH)
    billing.set_budget(TENANT, key_id=KEY, daily=1, monthly=None)

    billing.settle(final_job(job_id, JobStatus.FAILED, credits_used=None))

    assert spent(store) == (0, 0)
    assert spent(store, KEY) == (0, 0)  # not moved below zero by a job it never counted
    reserve(billing)


# -- the budget view, estimates, clearing ---------------------------------------------------------


def test_given_a_key_budget_when_read_with_the_key_then_it_is_beside_the_tenants(billing: Billing) -> None:
    billing.set_budget(TENANT, daily=50, monthly=None)
    billing.set_budget(TENANT, key_id=KEY, daily=None, monthly=10)
    reserve(billing, jobs=2)

    with_key = billing.budget(TENANT, key_id=KEY)
    without = billing.budget(TENANT)

    assert (with_key.daily.limit, with_key.daily.spent, with_key.daily.remaining) == (50, 2, 48)
    assert with_key.api_key is not None
    assert with_key.api_key.monthly.model_dump() == {"period": MONTH, "limit": 10, "spent": 2, "remaining": 8}
    assert with_key.api_key.daily.limit is None
    assert without.api_key is None


def test_given_a_key_budget_smaller_than_the_items_when_estimating_with_the_key_then_it_is_not_within(
    billing: Billing,
) -> None:
    billing.set_budget(TENANT, key_id=KEY, daily=2, monthly=None)

    assert billing.estimate(TENANT, [spec()] * 3, key_id=KEY).within_budget is False
    assert billing.estimate(TENANT, [spec()] * 3, key_id=OTHER_KEY).within_budget is True


def test_given_a_cleared_key_budget_when_creating_then_the_key_is_limited_no_more(
    billing: Billing, store: BudgetStore
) -> None:
    billing.set_budget(TENANT, key_id=KEY, daily=1, monthly=None)
    reserve(billing)

    status = billing.clear_budget(TENANT, key_id=KEY)
    reserve(billing)

    assert status.api_key is not None
    assert status.api_key.daily.limit is None
    assert spent(store, KEY) == (2, 2)
    assert store.limits(TENANT).daily is None  # the tenant's budget was not touched
