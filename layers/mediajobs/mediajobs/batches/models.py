"""A batch's records: what the client asked for, the batch, and its provider-side groups."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

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

    @model_validator(mode="after")
    def _external_ids_unique(self) -> BatchCreateRequest:
        seen: dict[str, int] = {}
        for i, item in enumerate(self.items):
            if item.external_id is None:
                continue
            if item.external_id in seen:
                first = seen[item.external_id]
                raise ValueError(
                    f"items.{i}.external_id {item.external_id!r} is already the id of items.{first}"
                )
            seen[item.external_id] = i
        return self


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
    #: how many times POST /v1/batches/{id}/retry reran failed items (``job_ids`` holds each
    #: item's latest job)
    round: int = 0
    #: the round whose results manifest is written (None: none yet)
    results_round: int | None = None

    @property
    def execution_name(self) -> str:
        return self.batch_id if self.round == 0 else f"{self.batch_id}-retry-{self.round}"


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
