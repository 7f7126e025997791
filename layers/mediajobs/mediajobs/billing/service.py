"""Estimates, budgets and usage: what jobs will cost, what a tenant may spend, what it spent.

- :meth:`Billing.estimate` prices job requests in provider credits from :data:`PROVIDER_PRICES`
  and says how many items the provider's current balance covers (ProdVisual's
  ``GET /v1/account/credits``; the other providers have no balance endpoint).
- :meth:`Billing.reserve` runs before a job (or a batch's jobs) is written: the estimated credits
  are reserved against the tenant's daily and monthly budget and, for a create made with an API
  key, the key's own budget, atomically, or the create is refused with 402 ``budget_exceeded``
  (naming the budget and period that would be passed) before any provider is called.
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

from mediajobs.billing.models import (
    BudgetLimits,
    BudgetStatus,
    Hold,
    KeyBudgetStatus,
    PeriodSpend,
    UsageRow,
)
from mediajobs.billing.prices import AWS_PRICES_AS_OF, PROVIDER_PRICES, STAGES, aws_usage
from mediajobs.billing.store import BudgetStore, Exceeded, OverBudgetError, day_of, month_of
from mediajobs.errors import DomainError, InvalidRequestError, PaymentRequiredError, Problem
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

    def estimate(self, tenant_id: str, specs: Sequence[JobSpec], *, key_id: str | None = None) -> Estimate:
        by_provider = Counter(s.provider for s in specs)
        providers = [
            self._provider_estimate(p, n, [s for s in specs if s.provider is p])
            for p, n in by_provider.items()
        ]
        total = sum(p.credits or 0 for p in providers)
        status = self.budget(tenant_id, key_id=key_id)
        periods = [status.daily, status.monthly]
        if status.api_key is not None:
            periods += [status.api_key.daily, status.api_key.monthly]
        within = all(period.remaining is None or total <= period.remaining for period in periods)
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

    def set_budget(
        self, tenant_id: str, *, key_id: str | None = None, daily: float | None, monthly: float | None
    ) -> BudgetStatus:
        """Replace the tenant's limits, or the API key's (``key_id``); ``None``: no limit."""
        limits = BudgetLimits(
            tenant_id=tenant_id, key_id=key_id, daily=daily, monthly=monthly, updated_at=self.now()
        )
        self.store.set_limits(limits)
        return self.budget(tenant_id, key_id=key_id)

    def clear_budget(self, tenant_id: str, *, key_id: str | None = None) -> BudgetStatus:
        """Remove the tenant's limits, or the API key's: its creates are then limited by nothing (else)."""
        self.store.clear_limits(tenant_id, key_id)
        return self.budget(tenant_id, key_id=key_id)

    def budget(self, tenant_id: str, *, key_id: str | None = None) -> BudgetStatus:
        """The tenant's budget today and this month, with the key's beside it when ``key_id`` is given."""
        now = self.now()
        day, month = day_of(now), month_of(now)
        daily, monthly = self._spend(self.store.limits(tenant_id), day, month)
        key = None
        if key_id is not None:
            key_daily, key_monthly = self._spend(self.store.limits(tenant_id, key_id), day, month)
            key = KeyBudgetStatus(key_id=key_id, daily=key_daily, monthly=key_monthly)
        return BudgetStatus(tenant_id=tenant_id, daily=daily, monthly=monthly, api_key=key)

    def _spend(self, limits: BudgetLimits, day: str, month: str) -> tuple[PeriodSpend, PeriodSpend]:
        spent_day, spent_month = self.store.spent(limits.tenant_id, limits.key_id, day=day, month=month)
        return _period(day, limits.daily, spent_day), _period(month, limits.monthly, spent_month)

    def reserve(
        self, tenant_id: str, jobs: Sequence[tuple[str, JobSpec]], *, key_id: str | None = None
    ) -> None:
        """Reserve the jobs' estimated credits, or refuse them all (402 ``budget_exceeded``).

        ``key_id``: the API key the jobs are created with; they must then fit the key's budget
        too, and settling them moves the key's counters as well as the tenant's.
        """
        now = self.now()
        day, month = day_of(now), month_of(now)
        budgets = [self.store.limits(tenant_id)]
        if key_id is not None:
            budgets.append(self.store.limits(tenant_id, key_id))
        holds = [
            Hold(
                job_id=job_id,
                tenant_id=tenant_id,
                key_id=key_id,
                provider=spec.provider,
                credits=estimated_credits(spec) or 0.0,
                day=day,
                month=month,
            )
            for job_id, spec in jobs
        ]
        try:
            self.store.reserve(budgets, holds, day=day, month=month)
        except OverBudgetError as exc:
            needed = sum(h.credits for h in holds)
            raise _refusal(needed, self.budget(tenant_id, key_id=key_id), exc.exceeded) from exc

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


def _refusal(needed: float, status: BudgetStatus, exceeded: Sequence[Exceeded]) -> PaymentRequiredError:
    """402 ``budget_exceeded``, naming each budget (the tenant's or the key's) and period passed.

    ``details`` point at those periods by their path in ``GET /v1/budget`` (``daily``,
    ``monthly``, ``api_key.daily``, ``api_key.monthly``). When the store could not tell which
    limit it was, every limited period is named.
    """
    key_id = status.api_key.key_id if status.api_key is not None else None
    owners = [None] if key_id is None else [None, key_id]
    hits = list(exceeded) or [Exceeded(o, p) for o in owners for p in ("daily", "monthly")]
    parts: list[str] = []
    details: list[Problem] = []
    for hit in dict.fromkeys(hits):
        path, spend = _spend_of(status, hit)
        if spend is None or spend.limit is None:
            continue
        whose = "the tenant's" if path == hit.period else f"API key {hit.key_id}'s"
        when = "today" if hit.period == "daily" else "this month"
        parts.append(f"{whose} {hit.period} credit budget ({when}: {_left(spend)})")
        details.append(Problem(path, f"{when}: {_left(spend)}"))
    named = " and ".join(parts) or "the credit budget"
    return PaymentRequiredError(
        "budget_exceeded",
        f"{needed:g} credit(s) would exceed {named}; "
        "ask the operator to raise it, or wait for the next period",
        details or None,
    )


def _spend_of(status: BudgetStatus, hit: Exceeded) -> tuple[str, PeriodSpend | None]:
    """The period of the budget view a refusal names, and its path in that view."""
    if hit.key_id is None:
        return hit.period, status.daily if hit.period == "daily" else status.monthly
    key = status.api_key
    if key is None:
        return f"api_key.{hit.period}", None
    return f"api_key.{hit.period}", key.daily if hit.period == "daily" else key.monthly
