"""What the cost routes answer: estimates, the tenant's budget, usage, and a job's cost."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from mediajobs.billing.models import BudgetStatus, EstimateRequest, KeyBudgetStatus, PeriodSpend
from mediajobs.providers.base import ProviderName

__all__ = [
    "BudgetStatus",
    "EstimateRequest",
    "EstimateView",
    "JobCostView",
    "KeyBudgetStatus",
    "PeriodSpend",
    "ProviderEstimateView",
    "UsageDayView",
    "UsageView",
]


class ProviderEstimateView(BaseModel):
    provider: ProviderName
    items: int
    credits_per_item: Annotated[
        float | None, Field(description="the provider's documented price; null: it documents none")
    ]
    credits: Annotated[float | None, Field(description="credits for these items; null: unknown")]
    price_source: Annotated[str, Field(description="where the price comes from")]
    balance: Annotated[int | None, Field(description="credits left at the provider; null: not readable")]
    items_covered: Annotated[
        int | None, Field(description="how many of these items the current balance pays for")
    ]
    balance_note: str
    aws_usd: Annotated[float, Field(description="mediajobs' own AWS cost estimate for these items, USD")]


class EstimateView(BaseModel):
    """What the items will cost; nothing is created and no provider job is started."""

    items: int
    credits: Annotated[float, Field(description="provider credits of the items whose price is documented")]
    complete: Annotated[bool, Field(description="false when a provider documents no price")]
    providers: list[ProviderEstimateView]
    aws_usd: float
    aws_prices_as_of: Annotated[date, Field(description="the date of the AWS list prices used")]
    budget: BudgetStatus
    within_budget: Annotated[
        bool,
        Field(description="whether a create of these items fits the tenant's and the key's budgets now"),
    ]


class UsageDayView(BaseModel):
    day: date
    provider: ProviderName
    jobs: int
    succeeded: int
    failed: int
    cancelled: int
    credits: float
    jobs_without_credits: Annotated[
        int, Field(description="final jobs whose provider reported no credits and documents no price")
    ]
    aws_usd: float


class UsageProviderView(BaseModel):
    provider: ProviderName
    jobs: int
    succeeded: int
    failed: int
    cancelled: int
    credits: float
    jobs_without_credits: int
    aws_usd: float


class UsageView(BaseModel):
    """Final jobs between two UTC days (both included), counted on the day each job was created."""

    from_day: Annotated[date, Field(description="the first UTC day counted")]
    to_day: Annotated[date, Field(description="the last UTC day counted")]
    jobs: int
    credits: float
    providers: list[UsageProviderView]
    days: list[UsageDayView]


class JobCostView(BaseModel):
    """What a job cost: provider credits and mediajobs' own AWS cost estimate."""

    credits: Annotated[float | None, Field(description="provider credits; null: unknown")]
    credits_source: Annotated[
        Literal["reported", "documented_price", "none"],
        Field(description="the provider's reported figure, its documented price, or nothing known"),
    ]
    aws_usd_estimate: float
    aws_prices_as_of: date
