"""A batch's records: what the client asked for, the batch, and its provider-side groups."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from mediajobs.jobs.requests import HttpUrl, JobRequest, MetadataKey, MetadataValue

MAX_ITEMS = 500
PROVIDER_GROUP_SIZE = 50


class BatchCreateRequest(BaseModel):
    """``POST /v1/batches``: each item is a job spec exactly as ``POST /v1/jobs`` takes it."""

    model_config = ConfigDict(extra="forbid", title="BatchRequest")

    items: Annotated[list[JobRequest], Field(min_length=1, max_length=MAX_ITEMS)]
    webhook_url: Annotated[HttpUrl | None, Field(description="where to POST the batch's final state")] = None
    metadata: Annotated[dict[MetadataKey, MetadataValue], Field(max_length=20)] = Field(default_factory=dict)
    dry_run: Annotated[
        bool,
        Field(description="answer 200 with the cost estimate; nothing is created, no provider is called"),
    ] = False


class Batch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    batch_id: str
    tenant_id: str
    status: str = "running"
    job_ids: list[str]
    created_at: datetime
    completed_at: datetime | None = None
    webhook_url: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class ProviderGroup(BaseModel):
    model_config = ConfigDict(extra="ignore")

    provider_batch_id: str
    batch_id: str
    job_ids: list[str]
    task_ids: list[str]
    poll_count: int = 0
    done: bool = False
    #: the provider's batch webhook came (the next check reads the batch's status once)
    notified: bool = False
