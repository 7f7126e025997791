"""Public API models of batches (the request model is the batches capability's own)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from mediajobs.batches.models import BatchCreateRequest
from mediajobs.jobs.models import JobStatus
from mediajobs.providers.base import ProviderName

__all__ = [
    "BatchAccepted",
    "BatchCreateRequest",
    "BatchItemView",
    "BatchLinks",
    "BatchResultsView",
    "BatchRetried",
    "BatchView",
]


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
    external_id: Annotated[str | None, Field(description="the item's external_id as the client sent it")] = (
        None
    )
    retried_from: Annotated[str | None, Field(description="the failed job this item's job reruns")] = None


class BatchResultsView(BaseModel):
    """The closed round's results manifest: one row per item (external_id, job_id, status,
    error_code, output_keys, retried_from), as CSV and JSON, behind short-lived presigned URLs."""

    round: int
    csv_url: str
    json_url: str
    expires_at: datetime


class BatchRetried(BaseModel):
    """``POST /v1/batches/{id}/retry``: the round started and the new job of each failed item."""

    batch_id: str
    status: str
    round: Annotated[int, Field(ge=1, description="how many retries the batch has had, this one included")]
    retried: Annotated[int, Field(ge=1, description="how many failed items this retry reruns")]
    job_ids: Annotated[list[str], Field(description="the new jobs, one per failed item")]
    links: dict[str, str]


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
    outcome: Annotated[
        Literal["succeeded", "partially_succeeded", "failed"] | None,
        Field(description="once completed: whether every item, some, or none succeeded"),
    ] = None
    round: Annotated[int, Field(ge=0, description="how many times POST /v1/batches/{id}/retry ran")] = 0
    results: Annotated[
        BatchResultsView | None, Field(description="the completed round's results manifest")
    ] = None
