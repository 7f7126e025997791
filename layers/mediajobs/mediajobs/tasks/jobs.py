"""Inputs of the state machine's tasks, and the services they run on (built once per container)."""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from mediajobs.aws import dynamodb_table, s3_client, sfn_client
from mediajobs.batches.models import Batch
from mediajobs.batches.results import ResultsWriter
from mediajobs.batches.runner import BatchRunner
from mediajobs.batches.store import BatchStore
from mediajobs.billing.service import Billing
from mediajobs.billing.store import BudgetStore, BudgetStoreError
from mediajobs.config import get_settings
from mediajobs.fetching import UrlPolicy
from mediajobs.jobs.archiving import Archiver
from mediajobs.jobs.intake import take_in_product_image
from mediajobs.jobs.models import Job, ProductImage
from mediajobs.jobs.pipeline import JobPipeline
from mediajobs.jobs.provider_webhooks import ProviderWebhooks
from mediajobs.jobs.reconciler import Reconciler
from mediajobs.jobs.store import JobStore
from mediajobs.observability import logger
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
    #: when the MarkFailed state was entered (``$$.State.EnteredTime``): a retried invocation
    #: recognises the fallback it already started
    caught_at: datetime | None = None


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
        # every timeline entry the pipeline writes becomes a job.progress event
        store=JobStore(dynamodb_table(settings.jobs_table), on_saved=job_saved),
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


def close_batch(batch_id: str) -> bool:
    """The batch state machine's Close step: close the batch once every item is final, then
    write its results manifest (the round's, again on a rerun: same content)."""
    runner = batch_runner()
    if not runner.close_if_done(batch_id):
        return False
    batch = runner.batches.find(batch_id)
    if batch is not None and batch.status == "completed":
        settings = get_settings()
        writer = ResultsWriter(s3=s3_client(), bucket=settings.media_bucket, batches=runner.batches)
        writer.write(batch, runner.jobs.find_many(batch.job_ids))
    return True


def job_saved(job: Job) -> None:
    """A job record was written: ``job.progress`` for its timeline entries not notified yet."""
    notifications.progress_notifier().job_progressed(job)


@functools.cache
def billing() -> Billing:
    return Billing(BudgetStore(dynamodb_table(get_settings().jobs_table)))


def job_final(job: Job) -> None:
    """A job reached a final state: its client notification, its batch (if any), its cost."""
    # entries written elsewhere (a cancel through the API) are caught up before the final event
    notifications.progress_notifier().job_progressed(job)
    notifications.notifier().job_finished(job)
    batch_runner().job_finished(job)
    try:
        billing().settle(job)
    except BudgetStoreError:
        # the job's execution must end as the job did; its credits stay reserved (never overspent)
        logger.exception("the job's cost could not be settled", extra={"job_id": job.job_id})


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
