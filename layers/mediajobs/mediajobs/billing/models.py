"""Budgets, reservations, usage and estimates: the billing capability's own models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from mediajobs.jobs.requests import JobRequest
from mediajobs.providers.base import ProviderName

Credits = Annotated[float, Field(ge=0)]


class BudgetLimits(BaseModel):
    """A credit budget: at most ``daily`` credits a UTC day and ``monthly`` a UTC month.

    The tenant's budget (``key_id`` None), or the budget of one of its API keys (``key_id``); a
    create made with a key must fit both.
    """

    model_config = ConfigDict(extra="ignore")

    tenant_id: str
    key_id: str | None = None
    daily: Credits | None = None
    monthly: Credits | None = None
    updated_at: datetime | None = None


class PeriodSpend(BaseModel):
    """Credits reserved or spent in one budget period, against its limit (``None``: no limit)."""

    period: Annotated[str, Field(description="the UTC day (YYYY-MM-DD) or month (YYYY-MM)")]
    limit: float | None
    spent: float
    remaining: float | None


class KeyBudgetStatus(BaseModel):
    """The calling API key's own budget: what jobs created with this key reserved or spent."""

    key_id: Annotated[str, Field(description="the key's id (the first 12 hex digits of its SHA-256)")]
    daily: PeriodSpend
    monthly: PeriodSpend


class BudgetStatus(BaseModel):
    tenant_id: str
    daily: PeriodSpend
    monthly: PeriodSpend
    api_key: Annotated[
        KeyBudgetStatus | None,
        Field(
            description=(
                "the calling API key's budget beside the tenant's (a create must fit both); its "
                "limits are null when the operator set none for the key"
            )
        ),
    ] = None


class Hold(BaseModel):
    """Credits reserved for one job until it is final (then settled to what it really used)."""

    model_config = ConfigDict(extra="ignore")

    job_id: str
    tenant_id: str
    #: the API key the job was created with (None: no key known, e.g. a hold made before keys
    #: had budgets): settling or releasing moves this key's counters too
    key_id: str | None = None
    provider: ProviderName
    credits: float
    day: str
    month: str


class UsageRow(BaseModel):
    """What one tenant's jobs of one provider used on one UTC day (counted when each is final)."""

    day: date
    provider: ProviderName
    jobs: int
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    credits: float = 0
    #: final jobs whose provider reported no credits and documents no price
    jobs_without_credits: int = 0
    aws_usd: float = 0


class EstimateRequest(BaseModel):
    """``POST /v1/estimates``: the jobs to price, each exactly as ``POST /v1/jobs`` takes it."""

    model_config = ConfigDict(extra="forbid", title="EstimateRequest")

    items: Annotated[
        list[JobRequest],
        Field(min_length=1, max_length=500, description="one item for a job, up to 500 for a batch"),
    ]
