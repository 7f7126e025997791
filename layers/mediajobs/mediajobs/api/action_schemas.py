"""Public API models of the job actions (regenerate, continue, cancel, list) and the provider catalog.

Separate from the provider document models; request models forbid unknown fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from mediajobs.api.schemas import ErrorView, Links
from mediajobs.jobs.models import JobStatus
from mediajobs.providers.base import ProviderName


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
