"""Estimates, budgets and usage: what jobs will cost, what a tenant may spend, what it spent.

- :meth:`Billing.estimate` prices job requests in provider credits from :data:`PROVIDER_PRICES`
  and says how many items the provider's current balance covers (ProdVisual's
  ``GET /v1/account/credits``; the other providers have no balance endpoint).
- :meth:`Billing.reserve` runs before a job (or a batch's jobs) is written: the estimated credits
  are reserved against the tenant's daily and monthly budget atomically, or the create is refused
  with 402 ``budget_exceeded`` before any provider is called.
- :meth:`Billing.settle` runs when a job is final: the reservation becomes what the job really
  used (the provider's reported credits; else the documented price when it succeeded; else 0), and
  the tenant's usage row of that day and provider counts it. :meth:`Billing.release` gives a
  reservation back when the job never started.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from mediajobs.billing.models import BudgetLimits, BudgetStatus, Hold, PeriodSpend, UsageRow
from mediajobs.billing.prices import AWS_PRICES_AS_OF, PROVIDER_PRICES, STAGES, aws_usage
from mediajobs.billing.store import BudgetStore, OverBudgetError, day_of, month_of
from mediajobs.errors import DomainError, InvalidRequestError, PaymentRequiredError
from mediajobs.jobs.models import Job, JobSpec, JobStatus, utcnow
from mediajobs.observability import logger
from mediajobs.providers.base import ProviderName

#: the provider balance reader: credits left, or None when the provider has no balance endpoint
BalanceReader = Callable[[ProviderName], int | None]

MAX_USAGE_DAYS = 366


def job_stages(spec: JobSpec) -> int:
    if spec.provider is ProviderName.CREATIFY and spec.options.get("stop_after") == "image":
        return 1
    return STAGES[spec.provider]


def estimated_credits(spec: JobSpec) -> float | None:
    """The documented credits of one job, ``None`` when its provider documents no price."""
    return PROVIDER_PRICES[spec.provider].credits_per_job


def job_credits(job: Job) -> float | None:
    """What a final job used: the provider's reported credits, else the documented price of a success."""
    reported = job.credits_used
    if reported is not None:
        return reported
    if job.status is JobStatus.SUCCEEDED:
        return estimated_credits(job.spec)
    return 0.0 if PROVIDER_PRICES[job.provider].credits_per_job is not None else None


def job_aws_usd(job: Job) -> float:
    """Our own AWS cost estimate of a job from what its record shows (stages, polls, outputs)."""
    stages = max(1, len({t.stage for t in job.tasks}))
    stored = sum(o.bytes for o in job.outputs) + (job.product_image.bytes if job.product_image else 0)
    return aws_usage(stages=stages, polls=job.poll_count, outputs=len(job.outputs), stored_bytes=stored).usd()


@dataclass(frozen=True)
class ProviderEstimate:
    provider: ProviderName
    items: int
    credits_per_item: float | None
    credits: float | None
    price_source: str
    balance: int | None
    items_covered: int | None
    balance_note: str
    aws_usd: float


@dataclass(frozen=True)
class Estimate:
    items: int
    credits: float
    complete: bool
    providers: list[ProviderEstimate]
    aws_usd: float
    aws_prices_as_of: date
    budget: BudgetStatus
    within_budget: bool


class Billing:
    def __init__(
        self,
        store: BudgetStore,
        *,
        balance: BalanceReader | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.balance = balance
        self.now = clock

    # -- estimates ------------------------------------------------------------------------------

    def estimate(self, tenant_id: str, specs: Sequence[JobSpec]) -> Estimate:
        by_provider = Counter(s.provider for s in specs)
        providers = [
            self._provider_estimate(p, n, [s for s in specs if s.provider is p])
            for p, n in by_provider.items()
        ]
        total = sum(p.credits or 0 for p in providers)
        status = self.budget(tenant_id)
        within = all(
            period.remaining is None or total <= period.remaining for period in (status.daily, status.monthly)
        )
        return Estimate(
            items=len(specs),
            credits=total,
            complete=all(p.credits is not None for p in providers),
            providers=providers,
            aws_usd=round(sum(p.aws_usd for p in providers), 8),
            aws_prices_as_of=AWS_PRICES_AS_OF,
            budget=status,
            within_budget=within,
        )

    def _provider_estimate(
        self, provider: ProviderName, items: int, specs: list[JobSpec]
    ) -> ProviderEstimate:
        price = PROVIDER_PRICES[provider]
        balance, note = self._balance(provider)
        covered = None
        if balance is not None and price.credits_per_job:
            covered = min(items, int(balance // price.credits_per_job))
        aws = sum(
            aws_usage(stages=job_stages(s), polls=0, outputs=job_stages(s), stored_bytes=0).usd()
            for s in specs
        )
        return ProviderEstimate(
            provider=provider,
            items=items,
            credits_per_item=price.credits_per_job,
            credits=None if price.credits_per_job is None else price.credits_per_job * items,
            price_source=price.source,
            balance=balance,
            items_covered=covered,
            balance_note=note,
            aws_usd=round(aws, 8),
        )

    def _balance(self, provider: ProviderName) -> tuple[int | None, str]:
        if not PROVIDER_PRICES[provider].balance_readable or self.balance is None:
            return None, "the provider has no balance endpoint: its balance is unknown to mediajobs"
        try:
            left = self.balance(provider)
        except DomainError as exc:
            logger.warning(
                "provider balance unavailable", extra={"provider": provider.value, "code": exc.code}
            )
            return None, f"the provider's balance could not be read right now ({exc.code})"
        return left, "from the provider's credits endpoint, now"

    # -- budgets --------------------------------------------------------------------------------

    def set_budget(self, tenant_id: str, *, daily: float | None, monthly: float | None) -> BudgetStatus:
        limits = BudgetLimits(tenant_id=tenant_id, daily=daily, monthly=monthly, updated_at=self.now())
        self.store.set_limits(limits)
        return self.budget(tenant_id)

    def budget(self, tenant_id: str) -> BudgetStatus:
        now = self.now()
        limits = self.store.limits(tenant_id)
        day, month = day_of(now), month_of(now)
        spent_day, spent_month = self.store.spent(tenant_id, day=day, month=month)
        return BudgetStatus(
            tenant_id=tenant_id,
            daily=_period(day, limits.daily, spent_day),
            monthly=_period(month, limits.monthly, spent_month),
        )

    def reserve(self, tenant_id: str, jobs: Sequence[tuple[str, JobSpec]]) -> None:
        """Reserve the jobs' estimated credits, or refuse them all (402 ``budget_exceeded``)."""
        now = self.now()
        day, month = day_of(now), month_of(now)
        limits = self.store.limits(tenant_id)
        holds = [
            Hold(
                job_id=job_id,
                tenant_id=tenant_id,
                provider=spec.provider,
                credits=estimated_credits(spec) or 0.0,
                day=day,
                month=month,
            )
            for job_id, spec in jobs
        ]
        try:
            self.store.reserve(limits, holds, day=day, month=month)
        except OverBudgetError as exc:
            needed = sum(h.credits for h in holds)
            status = self.budget(tenant_id)
            raise PaymentRequiredError(
                "budget_exceeded",
                f"{needed:g} credit(s) would exceed the tenant's credit budget "
                f"(today {_left(status.daily)}, this month {_left(status.monthly)}); "
                "ask the operator to raise it, or wait for the next period",
            ) from exc

    def release(self, job_id: str) -> None:
        hold = self.store.hold(job_id)
        if hold is not None:
            self.store.release(hold)

    def settle(self, job: Job) -> bool:
        """Settle a final job's reservation to what it used and count it; once per job."""
        if not job.status.final:
            return False
        hold = self.store.hold(job.job_id)
        if hold is None:
            return False
        settled = self.store.settle(
            hold,
            used=job_credits(job),
            status=job.status.value,
            usage_day=job.created_at.date(),
            aws_usd=job_aws_usd(job),
        )
        if settled:
            logger.info("job cost settled", extra={"job_id": job.job_id, "credits": job_credits(job)})
        return settled

    # -- usage ----------------------------------------------------------------------------------

    def usage(self, tenant_id: str, start: date, end: date) -> list[UsageRow]:
        if end < start:
            raise InvalidRequestError("invalid_range", "'to' must not be before 'from'")
        if (end - start).days >= MAX_USAGE_DAYS:
            raise InvalidRequestError("invalid_range", f"ask for at most {MAX_USAGE_DAYS} days at once")
        return self.store.usage(tenant_id, start, end)


def _period(period: str, limit: float | None, spent: float) -> PeriodSpend:
    return PeriodSpend(
        period=period, limit=limit, spent=spent, remaining=None if limit is None else max(0.0, limit - spent)
    )


def _left(period: PeriodSpend) -> str:
    if period.limit is None:
        return "no limit"
    return f"{period.remaining:g} of {period.limit:g} left"
