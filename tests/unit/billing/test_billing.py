"""Budgets, settlement, usage and estimates on moto's DynamoDB (the table from template.yaml)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from mediajobs.billing.prices import PROVIDER_PRICES, aws_usage
from mediajobs.billing.service import Billing
from mediajobs.billing.store import BudgetStore
from mediajobs.errors import DomainError, PaymentRequiredError, ServiceUnavailableError
from mediajobs.jobs.models import Job, JobSpec, JobStatus
from mediajobs.providers.base import ProductInput, ProviderName, ProviderTask, TaskState
from tests.support.aws import MOCK_CONFIG, REGION, create_from_template
from tests.unit.jobs.fakes import FakeClock

TENANT = "acme"
NOW = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)


def spec(provider: ProviderName = ProviderName.PRODVISUAL) -> JobSpec:
    return JobSpec(
        provider=provider,
        product=ProductInput(image_url="https://shop.example/p.png"),
        options={"style": "studio"} if provider is ProviderName.PRODVISUAL else {},
    )


@pytest.fixture
def store() -> Iterator[BudgetStore]:
    with mock_aws(config=MOCK_CONFIG):
        table = create_from_template(["JobsTable"])["JobsTable"]
        yield BudgetStore(boto3.resource("dynamodb", region_name=REGION).Table(table))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def billing(store: BudgetStore, clock: FakeClock) -> Billing:
    return Billing(store, balance=lambda provider: 7, clock=clock)


def reserve_one(billing: Billing, provider: ProviderName = ProviderName.PRODVISUAL) -> str:
    job_id = uuid.uuid4().hex
    billing.reserve(TENANT, [(job_id, spec(provider))])
    return job_id


def final_job(job_id: str, status: JobStatus, *, credits_used: int | None, provider: ProviderName) -> Job:
    tasks = []
    if credits_used is not None:
        tasks = [
            ProviderTask(
                provider=provider,
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
        spec=spec(provider),
        public_base_url="https://api.example",
        tasks=tasks,
    )


def test_given_a_daily_budget_of_three_when_four_jobs_are_created_then_the_fourth_is_refused(
    billing: Billing,
) -> None:
    billing.set_budget(TENANT, daily=3, monthly=None)
    for _ in range(3):
        reserve_one(billing)

    with pytest.raises(PaymentRequiredError) as refused:
        reserve_one(billing)

    assert refused.value.code == "budget_exceeded"
    assert "0 of 3 left" in refused.value.message
    assert billing.budget(TENANT).daily.spent == 3


def test_given_a_monthly_budget_when_a_batch_needs_more_than_is_left_then_none_of_it_is_reserved(
    billing: Billing, store: BudgetStore
) -> None:
    billing.set_budget(TENANT, daily=None, monthly=5)
    reserve_one(billing)
    batch = [(uuid.uuid4().hex, spec()) for _ in range(5)]

    with pytest.raises(PaymentRequiredError):
        billing.reserve(TENANT, batch)

    assert billing.budget(TENANT).monthly.spent == 1
    assert all(store.hold(job_id) is None for job_id, _ in batch)


def test_given_the_month_changes_when_reserving_then_the_new_month_has_its_own_counter(
    billing: Billing, clock: FakeClock
) -> None:
    billing.set_budget(TENANT, daily=None, monthly=1)
    reserve_one(billing)
    clock.advance(3600)  # 2026-04-01 00:00 UTC

    reserve_one(billing)

    status = billing.budget(TENANT)
    assert (status.monthly.period, status.monthly.spent) == ("2026-04", 1)


def test_given_a_succeeded_job_when_settled_twice_then_usage_counts_it_once_with_its_reported_credits(
    billing: Billing, store: BudgetStore
) -> None:
    job_id = reserve_one(billing)
    job = final_job(job_id, JobStatus.SUCCEEDED, credits_used=1, provider=ProviderName.PRODVISUAL)

    assert billing.settle(job) is True
    assert billing.settle(job) is False

    (row,) = billing.usage(TENANT, NOW.date(), NOW.date())
    assert (row.provider, row.jobs, row.succeeded, row.credits) == (ProviderName.PRODVISUAL, 1, 1, 1)
    assert row.aws_usd > 0
    assert store.hold(job_id) is None
    assert billing.budget(TENANT).daily.spent == 1


def test_given_a_failed_job_when_settled_then_its_reserved_credit_is_given_back(billing: Billing) -> None:
    billing.set_budget(TENANT, daily=1, monthly=None)
    job_id = reserve_one(billing)

    billing.settle(final_job(job_id, JobStatus.FAILED, credits_used=None, provider=ProviderName.PRODVISUAL))

    assert billing.budget(TENANT).daily.spent == 0
    reserve_one(billing)  # the budget's one credit is free again


def test_given_a_job_that_never_started_when_released_then_nothing_is_counted_as_usage(
    billing: Billing,
) -> None:
    job_id = reserve_one(billing)

    billing.release(job_id)

    assert billing.budget(TENANT).daily.spent == 0
    assert billing.usage(TENANT, NOW.date(), NOW.date()) == []


def test_given_a_provider_without_a_price_when_its_job_settles_then_usage_says_its_credits_are_unknown(
    billing: Billing,
) -> None:
    job_id = reserve_one(billing, ProviderName.CREATIFY)

    billing.settle(final_job(job_id, JobStatus.SUCCEEDED, credits_used=None, provider=ProviderName.CREATIFY))

    (row,) = billing.usage(TENANT, NOW.date(), NOW.date())
    assert (row.jobs, row.credits, row.jobs_without_credits) == (1, 0, 1)


def test_given_an_exhausted_budget_when_a_job_of_unknown_price_is_created_then_it_is_refused(
    billing: Billing,
) -> None:
    billing.set_budget(TENANT, daily=1, monthly=None)
    reserve_one(billing, ProviderName.CREATIFY)  # budget left: 1
    reserve_one(billing)  # budget left: 0

    with pytest.raises(PaymentRequiredError):
        reserve_one(billing, ProviderName.JOGG)


def test_given_usage_on_several_days_when_asking_for_a_range_then_only_those_days_come_back(
    billing: Billing, clock: FakeClock
) -> None:
    for offset in (0, 1, 2):
        job_id = reserve_one(billing)
        job = final_job(job_id, JobStatus.SUCCEEDED, credits_used=1, provider=ProviderName.PRODVISUAL)
        billing.settle(job.model_copy(update={"created_at": NOW + timedelta(days=offset)}))

    rows = billing.usage(TENANT, date(2026, 4, 1), date(2026, 4, 2))

    assert [r.day for r in rows] == [date(2026, 4, 1), date(2026, 4, 2)]
    assert billing.usage("another-tenant", date(2026, 3, 1), date(2026, 4, 30)) == []


def test_given_three_prodvisual_items_and_a_balance_of_seven_when_estimating_then_all_are_covered(
    billing: Billing,
) -> None:
    billing.set_budget(TENANT, daily=2, monthly=None)

    estimate = billing.estimate(TENANT, [spec(), spec(), spec()])

    (pv,) = estimate.providers
    assert (estimate.credits, estimate.complete, pv.balance, pv.items_covered) == (3, True, 7, 3)
    assert pv.credits_per_item == PROVIDER_PRICES[ProviderName.PRODVISUAL].credits_per_job == 1
    assert estimate.within_budget is False
    one_job = aws_usage(stages=1, polls=0, outputs=1, stored_bytes=0).usd()
    assert estimate.aws_usd == pytest.approx(3 * one_job)


def test_given_a_balance_smaller_than_the_items_when_estimating_then_it_covers_only_that_many(
    store: BudgetStore, clock: FakeClock
) -> None:
    billing = Billing(store, balance=lambda provider: 2, clock=clock)

    (pv,) = billing.estimate(TENANT, [spec()] * 5).providers

    assert (pv.credits, pv.items_covered) == (5, 2)


def test_given_providers_without_a_documented_price_when_estimating_then_the_estimate_is_incomplete(
    billing: Billing,
) -> None:
    estimate = billing.estimate(TENANT, [spec(ProviderName.CREATIFY), spec(ProviderName.JOGG), spec()])

    by_provider = {p.provider: p for p in estimate.providers}
    assert estimate.complete is False
    assert estimate.credits == 1
    assert by_provider[ProviderName.CREATIFY].credits is None
    assert by_provider[ProviderName.JOGG].balance is None
    assert "no balance endpoint" in by_provider[ProviderName.JOGG].balance_note


def test_given_the_balance_cannot_be_read_when_estimating_then_the_estimate_says_so(
    store: BudgetStore, clock: FakeClock
) -> None:
    def unavailable(provider: ProviderName) -> int:
        raise ServiceUnavailableError("provider_unavailable", "ProdVisual is not answering")

    (pv,) = Billing(store, balance=unavailable, clock=clock).estimate(TENANT, [spec()]).providers

    assert (pv.balance, pv.items_covered, pv.credits) == (None, None, 1)
    assert "provider_unavailable" in pv.balance_note


def test_given_a_range_that_ends_before_it_starts_when_asking_for_usage_then_it_is_refused(
    billing: Billing,
) -> None:
    with pytest.raises(DomainError) as refused:
        billing.usage(TENANT, date(2026, 4, 2), date(2026, 4, 1))

    assert refused.value.code == "invalid_range"
