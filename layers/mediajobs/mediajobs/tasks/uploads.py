"""The S3 upload trigger's services, built once per container."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import httpx

from mediajobs.aws import dynamodb_table, s3_client, sfn_client
from mediajobs.config import get_settings
from mediajobs.jobs.service import JobService
from mediajobs.jobs.store import JobStore
from mediajobs.uploads.store import UploadStore
from mediajobs.uploads.trigger import UploadTrigger

if TYPE_CHECKING:
    pass


def default_trigger() -> UploadTrigger:
    """The trigger on the container's cached clients (building it makes no client of its own)."""
    settings = get_settings()
    table = dynamodb_table(settings.jobs_table)
    jobs = JobService(
        store=JobStore(table), s3=s3_client(), sfn=sfn_client(), http=_idle_http_client(), settings=settings
    )
    return UploadTrigger(uploads=UploadStore(table), jobs=jobs, s3=s3_client(), settings=settings)


@functools.cache
def _idle_http_client() -> httpx.Client:
    """JobService takes one for URL intake, which an upload never does."""
    return httpx.Client(timeout=httpx.Timeout(10.0))
