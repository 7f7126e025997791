"""Public API models of the job actions (regenerate, continue, cancel, list) and the provider catalog.

Separate from the provider document models; request models forbid unknown fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from mediajobs.api.schemas import ErrorView, Links
from mediajobs.jobs.models import JobStatus
from mediajobs.providers.base import OutputKind, ProviderName
from mediajobs.providers.jogg.models import ScriptStyle
from mediajobs.providers.prodvisual.models import (
    Background,
    Dimensions,
    OutputFormat,
    Platform,
    Quality,
    StyleId,
)

Prompt = Annotated[str, Field(min_length=1, max_length=2000)]
Script = Annotated[str, Field(min_length=1, max_length=5000)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegenerateRequest(_Input):
    """What the new job changes. Which fields apply depends on the source job's provider:

    - Creatify: exactly one of ``image_prompt`` (a new preview image, then its video unless the
      source stopped after the image) and ``video_prompt`` (a new video from the source's video);
    - ProdVisual: ``style`` and optionally the other generation options (a new generation of the
      source's product image);
    - JoggAI: ``script_style`` and/or ``override_script`` (a new video of the source's product).
    """

    image_prompt: Annotated[Prompt | None, Field(description="Creatify: the new preview image's prompt")] = (
        None
    )
    video_prompt: Annotated[Prompt | None, Field(description="Creatify: the new video's prompt")] = None
    style: Annotated[
        StyleId | None, Field(description="ProdVisual: a style id of GET /v1/providers/prodvisual/styles")
    ] = None
    platform: Annotated[Platform | None, Field(description="ProdVisual")] = None
    dimensions: Annotated[Dimensions | None, Field(description="ProdVisual")] = None
    background: Annotated[Background | None, Field(description="ProdVisual")] = None
    format: Annotated[OutputFormat | None, Field(description="ProdVisual")] = None
    quality: Annotated[Quality | None, Field(description="ProdVisual")] = None
    script_style: Annotated[ScriptStyle | None, Field(description="JoggAI: the script's style")] = None
    override_script: Annotated[
        Script | None, Field(description="JoggAI: the script to speak, word for word")
    ] = None


class VideoRequest(_Input):
    """``POST /v1/jobs/{id}/video``: the video of a Creatify job that stopped after its preview."""

    video_prompt: Annotated[Prompt | None, Field(description="what the video should show")] = None


class JobSummaryView(BaseModel):
    job_id: str
    provider: ProviderName
    status: JobStatus
    stage: str | None
    created_at: datetime
    updated_at: datetime
    error: ErrorView | None = None
    metadata: dict[str, str]
    regenerated_from: str | None = None
    continued_from: str | None = None
    links: Links


class JobListView(BaseModel):
    jobs: list[JobSummaryView]
    next_cursor: Annotated[
        str | None, Field(description="pass as ?cursor= for the next page; null on the last page")
    ]


# -- the provider catalog -------------------------------------------------------------------------


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
