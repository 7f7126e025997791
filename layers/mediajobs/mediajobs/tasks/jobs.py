"""Inputs of the state machine's tasks, and the services they run on (built once per container)."""

from __future__ import annotations

import functools
import json
from datetime import timedelta
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from mediajobs.aws import dynamodb_table, s3_client, sfn_client
from mediajobs.batches.models import Batch
from mediajobs.batches.runner import BatchRunner
from mediajobs.batches.store import BatchStore
from mediajobs.config import get_settings
from mediajobs.fetching import UrlPolicy
from mediajobs.jobs.archiving import Archiver
from mediajobs.jobs.intake import take_in_product_image
from mediajobs.jobs.models import Job, ProductImage
from mediajobs.jobs.pipeline import JobPipeline
from mediajobs.jobs.provider_webhooks import ProviderWebhooks
from mediajobs.jobs.reconciler import Reconciler
from mediajobs.jobs.store import JobStore
from mediajobs.providers.base import ProviderName
from mediajobs.providers.prodvisual import ProdVisualAdapter
from mediajobs.providers.registry import ProviderRegistry
from mediajobs.ratelimit import shared_limiter
from mediajobs.tasks import notifications

JobId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


class _TaskInput(BaseModel):
    model_config = ConfigDict(extra="ignore")


class JobTaskInput(_TaskInput):
    job_id: JobId


class CheckInput(JobTaskInput):
    source: Literal["callback", "poll"]


class AwaitInput(JobTaskInput):
    task_token: Annotated[str, Field(min_length=1, max_length=8192)]


class StateError(_TaskInput):
    """What a Catch puts at ``$.error``: the error name and a JSON cause from Lambda."""

    Error: str = "States.Runtime"
    Cause: str | None = None

    def error_type(self) -> str:
        if self.Cause:
            try:
                cause: Any = json.loads(self.Cause)
            except ValueError:
                return self.Error
            if isinstance(cause, dict) and isinstance(cause.get("errorType"), str):
                return str(cause["errorType"])
        return self.Error


class BatchInput(_TaskInput):
    batch_id: JobId


class BatchItemInput(JobTaskInput):
    task_token: Annotated[str, Field(min_length=1, max_length=8192)]


class GroupInput(_TaskInput):
    job_ids: Annotated[list[JobId], Field(min_length=1, max_length=50)]
    fallback: bool = False


class GroupWaitInput(_TaskInput):
    provider_batch_id: Annotated[str, Field(min_length=1, max_length=200)]
    task_token: Annotated[str, Field(min_length=1, max_length=8192)]


class GroupFinishInput(_TaskInput):
    provider_batch_id: Annotated[str, Field(min_length=1, max_length=200)]


class GroupCheckInput(_TaskInput):
    provider_batch_id: Annotated[str, Field(min_length=1, max_length=200)]
    source: Literal["callback", "poll"]


class MarkFailedInput(JobTaskInput):
    error: StateError = Field(default_factory=StateError)


@functools.cache
def registry() -> ProviderRegistry:
    return ProviderRegistry(get_settings(), limiter=shared_limiter())


@functools.cache
def http_client() -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(connect=5.0, read=60.0, write=60.0, pool=5.0))


def take_in(job: Job) -> ProductImage:
    """Deferred product intake (batch items): same checks as POST /v1/jobs."""
    settings = get_settings()
    return take_in_product_image(
        http=http_client(),
        s3=s3_client(),
        bucket=settings.media_bucket,
        job_id=job.job_id,
        url=str(job.spec.product.image_url),
        policy=UrlPolicy(allow_loopback=settings.allow_loopback_urls),
        max_bytes=settings.max_image_bytes,
    )


@functools.cache
def pipeline() -> JobPipeline:
    settings = get_settings()
    return JobPipeline(
        store=JobStore(dynamodb_table(settings.jobs_table)),
        adapters=registry().adapter,
        settings=settings,
        intake=take_in,
    )


@functools.cache
def archiver() -> Archiver:
    settings = get_settings()
    return Archiver(
        pipeline=pipeline(),
        s3=s3_client(),
        http=http_client(),
        bucket=settings.media_bucket,
        policy=UrlPolicy(allow_loopback=settings.allow_loopback_urls),
        max_bytes=settings.max_output_bytes,
    )


def prodvisual_adapter() -> ProdVisualAdapter:
    adapter = registry().adapter(ProviderName.PRODVISUAL)
    if not isinstance(adapter, ProdVisualAdapter):
        raise TypeError("the ProdVisual adapter is not a ProdVisualAdapter")
    return adapter


@functools.cache
def batch_runner() -> BatchRunner:
    settings = get_settings()
    return BatchRunner(
        pipeline=pipeline(),
        batches=BatchStore(dynamodb_table(settings.jobs_table)),
        sfn=sfn_client(),
        job_state_machine_arn=settings.state_machine_arn,
        prodvisual=prodvisual_adapter,
        archiver=archiver,
        on_job_final=job_final,
        on_batch_completed=publish_batch_completed,
    )


@functools.cache
def reconciler() -> Reconciler:
    settings = get_settings()
    return Reconciler(
        pipeline=pipeline(),
        archiver=archiver,
        sfn=sfn_client(),
        job_state_machine_arn=settings.state_machine_arn,
        on_job_final=job_final,
        grace=timedelta(seconds=settings.reconcile_grace_seconds),
    )


def job_final(job: Job) -> None:
    """A job reached a final state: its client notification, then its batch (if any)."""
    notifications.notifier().job_finished(job)
    batch_runner().job_finished(job)


def publish_batch_completed(batch: Batch, jobs: list[Job]) -> None:
    """``batch.completed`` to the batch's webhook (or the tenant's) and the event bus."""
    # the API's view models are built only where a batch completes, not in every task's cold start
    from mediajobs.api.views import batch_view  # noqa: PLC0415

    view = batch_view(batch, jobs)
    notifications.publish(
        "batch.completed",
        batch.tenant_id,
        view.model_dump(mode="json"),
        batch.webhook_url,
        subject_id=batch.batch_id,
    )


@functools.cache
def provider_webhooks() -> ProviderWebhooks:
    return ProviderWebhooks(
        pipeline=pipeline(),
        adapters=registry().adapter,
        sfn=sfn_client(),
        group_events=batch_runner().handle_provider_webhook,
    )
