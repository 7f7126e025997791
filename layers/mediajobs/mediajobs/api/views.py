"""How the API shows the domain's records: a job, a page of jobs, a batch.

The domain returns its own models (:class:`~mediajobs.jobs.models.Job`, ...); these functions
turn them into the public views of :mod:`mediajobs.api.schemas`. Client webhooks and events carry
the same views (the notification tasks are given :func:`job_view`), so a client reads one shape
everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Literal

from mediajobs.api.action_schemas import JobListView, JobSummaryView
from mediajobs.api.batch_schemas import BatchItemView, BatchResultsView, BatchView
from mediajobs.api.billing_schemas import EstimateView, JobCostView, ProviderEstimateView
from mediajobs.api.schemas import (
    AttemptView,
    ErrorView,
    JobView,
    Links,
    OutputView,
    ProgressView,
    ProviderTaskView,
    TimelineView,
)
from mediajobs.batches.models import Batch
from mediajobs.batches.results import results_keys
from mediajobs.billing.prices import AWS_PRICES_AS_OF
from mediajobs.billing.service import Estimate, job_aws_usd, job_credits
from mediajobs.jobs.models import ErrorInfo, Job, JobStatus, JobSummary
from mediajobs.jobs.progress import progress
from mediajobs.jobs.service import JobService

#: a presigned GET of a media bucket key, valid for the given seconds
Presign = Callable[[str, int], str]


def _links(job_id: str) -> Links:
    return Links(self=f"/v1/jobs/{job_id}")


def estimate_view(estimate: Estimate) -> EstimateView:
    return EstimateView(
        items=estimate.items,
        credits=estimate.credits,
        complete=estimate.complete,
        providers=[ProviderEstimateView(**asdict(p)) for p in estimate.providers],
        aws_usd=estimate.aws_usd,
        aws_prices_as_of=estimate.aws_prices_as_of,
        budget=estimate.budget,
        within_budget=estimate.within_budget,
    )


def cost_view(job: Job) -> JobCostView:
    """Reported credits when the provider sent them; else the documented price once it succeeded."""
    used = job_credits(job) if job.status.final else job.credits_used
    source: Literal["reported", "documented_price", "none"] = "none"
    if job.credits_used is not None:
        source = "reported"
    elif used is not None:
        source = "documented_price"
    return JobCostView(
        credits=used,
        credits_source=source,
        aws_usd_estimate=job_aws_usd(job),
        aws_prices_as_of=AWS_PRICES_AS_OF,
    )


def _error(error: ErrorInfo | None) -> ErrorView | None:
    return ErrorView(**error.model_dump()) if error else None


def job_view(job: Job, *, presign: Presign, now: datetime, download_url_seconds: int) -> JobView:
    """``GET /v1/jobs/{id}``: the job with a short-lived download URL for each archived output."""
    expires_at = now + timedelta(seconds=download_url_seconds)
    outputs = [
        OutputView(
            kind=o.kind,
            stage=o.stage,
            content_type=o.content_type,
            bytes=o.bytes,
            sha256=o.sha256,
            width=o.width,
            height=o.height,
            duration_seconds=o.duration_seconds,
            codec=o.codec,
            download_url=presign(o.s3_key, download_url_seconds),
            download_url_expires_at=expires_at,
        )
        for o in job.outputs
    ]
    return JobView(
        job_id=job.job_id,
        provider=job.provider,
        status=job.status,
        stage=job.stage,
        created_at=job.created_at,
        updated_at=job.updated_at,
        deadline_at=job.deadline_at,
        progress=ProgressView(**asdict(progress(job))),
        provider_jobs=[
            ProviderTaskView(
                stage=t.stage,
                provider_job_id=t.task_id,
                state=t.state,
                provider_status=t.provider_status,
                credits_used=t.credits_used,
            )
            for t in job.tasks
        ],
        credits_used=job.credits_used,
        cost=cost_view(job),
        timeline=[
            TimelineView(status=e.status, stage=e.stage, at=e.at, detail=e.detail) for e in job.timeline
        ],
        outputs=outputs,
        error=_error(job.error),
        metadata=job.spec.metadata,
        regenerated_from=job.regenerated_from,
        continued_from=job.continued_from,
        external_id=job.external_id,
        batch_id=job.batch_id,
        retried_from=job.retried_from,
        attempts=_attempts(job),
        links=_links(job.job_id),
    )


def _attempts(job: Job) -> list[AttemptView]:
    """The providers the job tried, the current one last (its outcome once the job is final)."""
    past = [
        AttemptView(
            provider=a.provider,
            started_at=a.started_at,
            ended_at=a.ended_at,
            outcome=a.outcome,
            message=a.message,
        )
        for a in job.attempts
    ]
    final = job.status.final
    outcome = (job.error.code if job.error else job.status.value) if final else None
    current = AttemptView(
        provider=job.provider,
        started_at=job.attempt_started_at or job.created_at,
        ended_at=job.updated_at if final else None,
        outcome=outcome,
        message=job.error.message if final and job.error else None,
    )
    return [*past, current]


def present(jobs: JobService, job: Job) -> JobView:
    """:func:`job_view` with the job service's clock, presigner and download URL lifetime."""
    return job_view(
        job,
        presign=jobs.download_url,
        now=jobs.now(),
        download_url_seconds=jobs.settings.download_url_seconds,
    )


def summary_view(job: JobSummary) -> JobSummaryView:
    return JobSummaryView(
        job_id=job.job_id,
        provider=job.provider,
        status=job.status,
        stage=job.task.stage if job.task else None,
        created_at=job.created_at,
        updated_at=job.updated_at,
        error=_error(job.error),
        metadata=job.spec.metadata,
        regenerated_from=job.regenerated_from,
        continued_from=job.continued_from,
        links=_links(job.job_id),
    )


def job_list_view(jobs: Sequence[JobSummary], next_cursor: str | None) -> JobListView:
    return JobListView(jobs=[summary_view(job) for job in jobs], next_cursor=next_cursor)


def batch_view(
    batch: Batch,
    loaded: Sequence[Job],
    *,
    presign: Presign | None = None,
    now: datetime | None = None,
    download_url_seconds: int = 900,
) -> BatchView:
    """What GET /v1/batches/{id} shows (and the batch.completed event carries, without links)."""
    jobs = {j.job_id: j for j in loaded}
    items = [
        BatchItemView(
            index=i,
            job_id=job.job_id,
            provider=job.provider,
            status=job.status,
            error_code=job.error.code if job.error else None,
            external_id=job.external_id,
            retried_from=job.retried_from,
        )
        for i, job in ((i, jobs.get(job_id)) for i, job_id in enumerate(batch.job_ids))
        if job is not None
    ]
    counts: dict[JobStatus, int] = {}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    return BatchView(
        batch_id=batch.batch_id,
        status=batch.status,
        total=len(batch.job_ids),
        counts=counts,
        created_at=batch.created_at,
        completed_at=batch.completed_at,
        metadata=batch.metadata,
        items=items,
        outcome=_outcome(batch, items),
        round=batch.round,
        results=_results(batch, presign, now, download_url_seconds),
    )


def _outcome(
    batch: Batch, items: Sequence[BatchItemView]
) -> Literal["succeeded", "partially_succeeded", "failed"] | None:
    if batch.status != "completed":
        return None
    succeeded = sum(1 for item in items if item.status is JobStatus.SUCCEEDED)
    if succeeded == len(batch.job_ids):
        return "succeeded"
    return "failed" if succeeded == 0 else "partially_succeeded"


def _results(
    batch: Batch, presign: Presign | None, now: datetime | None, seconds: int
) -> BatchResultsView | None:
    if presign is None or now is None or batch.status != "completed" or batch.results_round != batch.round:
        return None
    csv_key, json_key = results_keys(batch.batch_id, batch.round)
    return BatchResultsView(
        round=batch.round,
        csv_url=presign(csv_key, seconds),
        json_url=presign(json_key, seconds),
        expires_at=now + timedelta(seconds=seconds),
    )
