"""Public API models of batches (the request model is the batches capability's own)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from mediajobs.batches.models import BatchCreateRequest
from mediajobs.jobs.models import JobStatus
from mediajobs.providers.base import ProviderName

__all__ = ["BatchAccepted", "BatchCreateRequest", "BatchItemView", "BatchLinks", "BatchView"]


class BatchLinks(BaseModel):
    self: str


class BatchAccepted(BaseModel):
    batch_id: str
    status: str
    total: int
    job_ids: list[str]
    links: BatchLinks


class BatchItemView(BaseModel):
    index: int
    job_id: str
    provider: ProviderName
    status: JobStatus
    error_code: str | None = None


class BatchView(BaseModel):
    batch_id: str
    status: str
    total: int
    counts: Annotated[
        dict[JobStatus, int], Field(description="how many of the batch's jobs are in each status")
    ]
    created_at: datetime
    completed_at: datetime | None = None
    metadata: dict[str, str]
    items: list[BatchItemView]
