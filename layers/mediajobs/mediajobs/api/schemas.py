"""Public API models: what clients send and receive. Separate from the provider document models.

A job request is a union discriminated by ``provider``; each member embeds that provider's own
options model, so options are validated per provider from its document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from mediajobs.jobs.models import JobStatus
from mediajobs.providers.base import OutputKind, ProviderName, TaskState
from mediajobs.providers.creatify import CreatifyOptions
from mediajobs.providers.jogg import JoggOptions
from mediajobs.providers.prodvisual import ProdVisualOptions

HttpUrl = Annotated[AnyHttpUrl, Field(max_length=2048)]
MetadataKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
MetadataValue = Annotated[str, Field(max_length=512)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProductRequest(_Input):
    image_url: Annotated[
        HttpUrl | None, Field(description="JPEG, PNG or WebP product image, at most 10 MB")
    ] = None
    page_url: Annotated[HttpUrl | None, Field(description="product page (JoggAI reads it)")] = None
    title: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    description: Annotated[str | None, Field(min_length=1, max_length=5000)] = None
    target_audience: Annotated[str | None, Field(min_length=1, max_length=500)] = None


class _JobRequest(_Input):
    product: ProductRequest
    webhook_url: Annotated[HttpUrl | None, Field(description="where to POST the job's final state")] = None
    metadata: Annotated[
        dict[MetadataKey, MetadataValue],
        Field(max_length=20, description="your own keys, returned with the job"),
    ] = Field(default_factory=dict)

    def _require_image(self) -> None:
        if self.product.image_url is None:
            raise ValueError(f"product.image_url is required for provider {self.provider_name()}")

    def provider_name(self) -> str:
        raise NotImplementedError


class CreatifyJobRequest(_JobRequest):
    provider: Literal["creatify"]
    options: CreatifyOptions = Field(default_factory=CreatifyOptions)

    def provider_name(self) -> str:
        return "creatify"

    @model_validator(mode="after")
    def _needs_image(self) -> Self:
        self._require_image()
        return self


class JoggJobRequest(_JobRequest):
    provider: Literal["jogg"]
    options: JoggOptions = Field(default_factory=JoggOptions)

    def provider_name(self) -> str:
        return "jogg"

    @model_validator(mode="after")
    def _needs_page_or_title(self) -> Self:
        if self.product.page_url is None and self.product.title is None:
            raise ValueError("jogg needs product.page_url, or product.title (with description and image_url)")
        return self


class ProdVisualJobRequest(_JobRequest):
    provider: Literal["prodvisual"]
    options: ProdVisualOptions

    def provider_name(self) -> str:
        return "prodvisual"

    @model_validator(mode="after")
    def _needs_image(self) -> Self:
        self._require_image()
        return self


JobRequest = Annotated[
    CreatifyJobRequest | JoggJobRequest | ProdVisualJobRequest,
    Field(discriminator="provider"),
]


class Links(BaseModel):
    self: str


class JobAccepted(BaseModel):
    job_id: str
    status: JobStatus
    links: Links


class ErrorView(BaseModel):
    code: str
    message: str
    provider_code: str | None = None


class TimelineView(BaseModel):
    status: JobStatus
    stage: str | None
    at: datetime
    detail: str | None = None


class ProviderTaskView(BaseModel):
    stage: str
    provider_job_id: str
    state: TaskState
    provider_status: str
    credits_used: float | None = None


class OutputView(BaseModel):
    kind: OutputKind
    stage: str
    content_type: str
    bytes: int
    sha256: str
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    codec: str | None = None
    download_url: str
    download_url_expires_at: datetime


class JobView(BaseModel):
    job_id: str
    provider: ProviderName
    status: JobStatus
    stage: str | None
    created_at: datetime
    updated_at: datetime
    deadline_at: datetime
    provider_jobs: list[ProviderTaskView]
    credits_used: float | None
    timeline: list[TimelineView]
    outputs: list[OutputView]
    error: ErrorView | None = None
    metadata: dict[str, str]
    regenerated_from: Annotated[str | None, Field(description="the job this one regenerates")] = None
    continued_from: Annotated[str | None, Field(description="the preview job it makes the video of")] = None
    links: Links
