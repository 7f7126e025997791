"""Public API models: what clients send and receive. Separate from the provider document models.

The job request models are the jobs capability's own (:mod:`mediajobs.jobs.requests`: every entry
point takes them); this module publishes them with the views the API answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from mediajobs.api.billing_schemas import JobCostView
from mediajobs.jobs.models import JobStatus
from mediajobs.jobs.requests import (
    CreatifyJobRequest,
    HttpUrl,
    JobRequest,
    JoggJobRequest,
    MetadataKey,
    MetadataValue,
    ProductRequest,
    ProdVisualJobRequest,
)
from mediajobs.providers.base import OutputKind, ProviderName, TaskState

__all__ = [
    "AttemptView",
    "CreatifyJobRequest",
    "ErrorView",
    "HttpUrl",
    "JobAccepted",
    "JobRequest",
    "JobView",
    "JoggJobRequest",
    "Links",
    "MetadataKey",
    "MetadataValue",
    "OutputView",
    "ProdVisualJobRequest",
    "ProductRequest",
    "ProgressView",
    "ProviderTaskView",
    "TimelineView",
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


class ProgressView(BaseModel):
    """How far the job has come; ``percent`` and ``eta_seconds`` are null when not known."""

    stage: Annotated[str, Field(description="the provider stage the job is at")]
    stage_index: Annotated[int, Field(ge=1, description="1-based index of that stage")]
    stage_count: Annotated[int, Field(ge=1, description="how many provider stages this job runs")]
    provider_status: Annotated[str | None, Field(description="the provider's own status of the stage")]
    percent: Annotated[float | None, Field(ge=0, le=100)] = None
    eta_seconds: Annotated[float | None, Field(ge=0, description="estimated seconds left")] = None


class AttemptView(BaseModel):
    """One provider the job tried: the last one is the current (or final) provider."""

    provider: ProviderName
    started_at: datetime
    ended_at: datetime | None = None
    outcome: Annotated[
        str | None,
        Field(
            description="why the attempt ended: an error code, or the job's final status; null while it runs"
        ),
    ] = None
    message: str | None = None


class JobView(BaseModel):
    job_id: str
    provider: ProviderName
    status: JobStatus
    stage: str | None
    created_at: datetime
    updated_at: datetime
    deadline_at: datetime
    progress: ProgressView
    provider_jobs: list[ProviderTaskView]
    credits_used: float | None
    cost: Annotated[
        JobCostView | None, Field(description="provider credits and mediajobs' AWS cost estimate")
    ] = None
    timeline: list[TimelineView]
    outputs: list[OutputView]
    error: ErrorView | None = None
    metadata: dict[str, str]
    regenerated_from: Annotated[str | None, Field(description="the job this one regenerates")] = None
    continued_from: Annotated[str | None, Field(description="the preview job it makes the video of")] = None
    external_id: Annotated[str | None, Field(description="the client's own id of the job")] = None
    batch_id: Annotated[str | None, Field(description="the batch the job is an item of")] = None
    retried_from: Annotated[str | None, Field(description="the failed batch item job this one reruns")] = None
    attempts: Annotated[
        list[AttemptView],
        Field(description="each provider tried, in order (more than one after a fallback)"),
    ] = Field(default_factory=list)
    links: Links
