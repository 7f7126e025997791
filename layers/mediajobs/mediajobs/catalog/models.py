"""What mediajobs says about its providers: capabilities, styles and credit balances."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from mediajobs.providers.base import OutputKind, ProviderName


class RegenerateSupport(BaseModel):
    supported: bool
    fields: list[str]
    description: str


class ProviderView(BaseModel):
    provider: ProviderName
    name: str
    description: str
    stages: list[str]
    output_kinds: list[OutputKind]
    regenerate: RegenerateSupport
    continue_to_video: Annotated[
        bool, Field(description="POST /v1/jobs/{id}/video works on a job with options.stop_after 'image'")
    ]
    webhook_signing: Annotated[str, Field(description="how mediajobs verifies the provider's callbacks")]
    credits: Annotated[bool, Field(description="GET /v1/providers/{provider}/credits answers")]
    styles_url: str | None = None
    options_schema: Annotated[dict[str, Any], Field(description="JSON schema of the job's options")]


class ProvidersView(BaseModel):
    providers: list[ProviderView]


class StyleView(BaseModel):
    id: str
    name: str
    description: str | None = None


class StylesView(BaseModel):
    provider: ProviderName
    styles: list[StyleView]
    total: int
    fetched_at: Annotated[datetime, Field(description="when mediajobs read the list from the provider")]


class PurchaseView(BaseModel):
    amount: int
    date: datetime


class CreditsView(BaseModel):
    provider: ProviderName
    credits_remaining: int
    credits_used_total: int | None = None
    credits_used_today: int | None = None
    last_purchase: PurchaseView | None = None
