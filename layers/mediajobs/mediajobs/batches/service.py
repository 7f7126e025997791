"""Batches: up to 500 job specs at once, run without overrunning any provider's limits.

``POST /v1/batches`` validates every item, writes one job record per item (status ``queued``; the
product image is taken in when the job is submitted) and the batch record, then starts the batch
state machine (``statemachine/batch.asl.json``), which:

- plans the batch into groups: ProdVisual items in groups of at most 50, each sent as ONE
  ``POST /v1/generate/batch`` and followed as a unit (one batch webhook, or one status read per
  poll for the whole group); every other item on its own;
- runs the groups in a Map state with a fixed ``MaxConcurrency``. A single item's iteration waits
  (task token, no running Lambda) until its job is final, so at most that many jobs of a batch are
  in flight; a provider group's iteration waits until the provider finished the group, then
  starts each item's job execution, which archives and notifies as for any job;
- closes the batch once every job is final (a batch finishes when all its jobs are final).

Items:
- ``BATCH#<id>`` / ``BATCH``: the batch record (tenant, job ids, counts).
- ``BATCH#<id>`` / ``DONE``: the string set of its final job ids (``ADD`` is idempotent, so a job
  counted twice counts once).
- ``PGROUP#<provider batch id>`` / ``PGROUP``: a provider-side batch (ProdVisual) and its jobs;
  ``gsi1pk`` = ``prodvisual#<provider batch id>`` so the provider's batch webhook finds it.
- ``PGROUP#<id>`` / ``TOKEN`` and ``JOB#<id>`` / ``BATCHTOKEN``: task tokens the batch waits on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from mediajobs.batches.models import Batch, BatchCreateRequest
from mediajobs.batches.store import BatchStore
from mediajobs.billing.service import Billing
from mediajobs.errors import (
    BatchNotFoundError,
    ConflictError,
    ServiceUnavailableError,
    invalid_field,
)
from mediajobs.jobs.models import Job, JobStatus, TimelineEntry, utcnow
from mediajobs.jobs.requests import CreatifyJobRequest, JobRequest, ProdVisualJobRequest
from mediajobs.jobs.service import spec_from_request
from mediajobs.jobs.store import ConcurrentUpdateError, JobStore
from mediajobs.jobs.styles import StyleList, check_style, unchecked
from mediajobs.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient


class BatchService:
    def __init__(
        self,
        *,
        jobs: JobStore,
        batches: BatchStore,
        sfn: SFNClient,
        state_machine_arn: str,
        deadline_seconds: int,
        clock: Callable[[], datetime] = utcnow,
        styles: StyleList = unchecked,
        billing: Billing | None = None,
    ) -> None:
        self.billing = billing
        self.styles = styles
        self.jobs = jobs
        self.batches = batches
        self.sfn = sfn
        self.state_machine_arn = state_machine_arn
        self.deadline_seconds = deadline_seconds
        self.now = clock

    def create(
        self,
        tenant_id: str,
        request: BatchCreateRequest,
        *,
        public_base_url: str,
        batch_id: str | None = None,
        api_key_id: str | None = None,
    ) -> Batch:
        """Write the items' jobs and the batch, and start it (``batch_id``: a manifest's claimed id).

        ``api_key_id``: the key the batch is created with, whose budget its jobs must fit too.
        """
        self._check_styles(request)
        now = self.now()
        batch_id = batch_id or uuid.uuid4().hex
        for i, item in enumerate(request.items):
            if item.dry_run:
                raise invalid_field(f"items.{i}.dry_run", "set dry_run on the batch, not on its items")
        jobs = [self._job(tenant_id, batch_id, item, now, public_base_url) for item in request.items]
        if self.billing is not None:
            # all or nothing: the whole batch's credits are reserved before any job is written
            self.billing.reserve(tenant_id, [(j.job_id, j.spec) for j in jobs], key_id=api_key_id)
        for job in jobs:
            self.jobs.create(job)
        batch = Batch(
            batch_id=batch_id,
            tenant_id=tenant_id,
            job_ids=[j.job_id for j in jobs],
            created_at=now,
            webhook_url=str(request.webhook_url) if request.webhook_url else None,
            metadata=request.metadata,
        )
        self.batches.create(batch)
        try:
            self.sfn.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=batch_id,
                input=json.dumps({"batch_id": batch_id}),
            )
        except ClientError as exc:
            logger.error("could not start the batch", extra={"batch_id": batch_id})
            raise ServiceUnavailableError(
                "service_unavailable", "the batch could not be started; please retry"
            ) from exc
        logger.info("batch accepted", extra={"batch_id": batch_id, "items": len(jobs)})
        return batch

    def check_request(self, request: BatchCreateRequest) -> None:
        """What the request's models cannot check alone (ProdVisual styles); DomainError if refused."""
        self._check_styles(request)

    def _check_styles(self, request: BatchCreateRequest) -> None:
        items = [(i, item) for i, item in enumerate(request.items) if isinstance(item, ProdVisualJobRequest)]
        if not items:
            return
        known = self.styles()
        for i, item in items:
            check_style(item.options.style, known, path=f"items.{i}.options.style")

    def _job(self, tenant_id: str, batch_id: str, item: JobRequest, now: datetime, base: str) -> Job:
        return Job(
            job_id=uuid.uuid4().hex,
            tenant_id=tenant_id,
            created_at=now,
            updated_at=now,
            deadline_at=now + timedelta(seconds=min(self.deadline_seconds, item.deadline_seconds or 10**9)),
            spec=spec_from_request(item),
            public_base_url=base.rstrip("/"),
            callback_token=uuid.uuid4().hex if isinstance(item, CreatifyJobRequest) else None,
            timeline=[TimelineEntry(status=JobStatus.QUEUED, at=now, detail=f"batch {batch_id}")],
            batch_id=batch_id,
            external_id=item.external_id,
            attempt_started_at=now if item.fallback else None,
        )

    def get(self, tenant_id: str, batch_id: str) -> Batch:
        batch = self.batches.find(batch_id) if len(batch_id) == 32 and batch_id.isalnum() else None
        if batch is None or batch.tenant_id != tenant_id:
            raise BatchNotFoundError(batch_id)
        return batch

    # -- retry ------------------------------------------------------------------------------------

    def retry(self, tenant_id: str, batch_id: str) -> tuple[Batch, list[str]]:
        """Rerun the closed batch's failed items: one new job each, linked by ``retried_from``.

        Each item's latest job is the one looked at, so a second retry reruns only items whose
        retry failed. The batch must be closed: the round is claimed with one conditional write,
        so two requests never rerun an item twice. The new jobs' ids follow from the round and
        the failed job: a request that dies after the claim is finished by the next one.
        """
        batch = self.get(tenant_id, batch_id)
        if batch.status != "completed":
            existing = {j.job_id for j in self.jobs.find_many(batch.job_ids)}
            if batch.round == 0 or existing == set(batch.job_ids):
                raise ConflictError(
                    "batch_running", "the batch is still running; retry it once it is completed"
                )
            # an earlier retry claimed this round and did not finish: finish it
            return self._start_round(batch)
        jobs = {j.job_id: j for j in self.jobs.find_many(batch.job_ids)}
        failed = [jobs[i] for i in batch.job_ids if i in jobs and jobs[i].status is JobStatus.FAILED]
        if not failed:
            raise ConflictError("nothing_to_retry", "no item of the batch failed")
        renamed = {old.job_id: _retry_id(batch, old.job_id) for old in failed}
        job_ids = [renamed.get(i, i) for i in batch.job_ids]
        if not self.batches.reopen(batch, job_ids):
            raise ConflictError("batch_running", "another retry of the batch has just started")
        reopened = batch.model_copy(
            update={"status": "running", "job_ids": job_ids, "round": batch.round + 1, "completed_at": None}
        )
        return self._start_round(reopened)

    def _start_round(self, batch: Batch) -> tuple[Batch, list[str]]:
        """Write the round's new jobs (once each), count the unchanged items done, start the run."""
        earlier = self.batches.done_ids(batch.batch_id, batch.round - 1)
        replaced = {_retry_id(batch, i, round_=batch.round): i for i in earlier}
        new_ids = [i for i in batch.job_ids if i in replaced]
        existing = {j.job_id: j for j in self.jobs.find_many(batch.job_ids)}
        now = self.now()
        for job_id in new_ids:
            if job_id not in existing:
                self._write_retry(batch, self.jobs.get(replaced[job_id]), job_id, now)
        unchanged = [i for i, j in existing.items() if j.status.final and i not in replaced]
        if unchanged:
            self.batches.mark_many_done(batch.batch_id, unchanged, batch.round)
        try:
            self.sfn.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=batch.execution_name,
                input=json.dumps({"batch_id": batch.batch_id}),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                logger.error("could not start the batch's retry", extra={"batch_id": batch.batch_id})
                raise ServiceUnavailableError(
                    "service_unavailable", "the retry could not be started; please retry"
                ) from exc
        logger.info("batch retry started", extra={"batch_id": batch.batch_id, "items": len(new_ids)})
        return batch, new_ids

    def _write_retry(self, batch: Batch, source: Job, job_id: str, now: datetime) -> None:
        spec = source.original_spec()
        job = Job(
            job_id=job_id,
            tenant_id=source.tenant_id,
            created_at=now,
            updated_at=now,
            deadline_at=now + timedelta(seconds=self.deadline_seconds),
            spec=spec,
            public_base_url=source.public_base_url,
            callback_token=source.callback_token,
            timeline=[
                TimelineEntry(
                    status=JobStatus.QUEUED,
                    at=now,
                    detail=f"batch {batch.batch_id}: retry of {source.job_id}",
                )
            ],
            batch_id=batch.batch_id,
            external_id=source.external_id,
            retried_from=source.job_id,
            attempt_started_at=now if spec.fallback else None,
        )
        try:
            self.jobs.create(job)
        except ConcurrentUpdateError:
            logger.info("retry job already written", extra={"job_id": job_id})

    def jobs_of(self, batch: Batch) -> list[Job]:
        """The batch's job records (for its view)."""
        return self.jobs.find_many(batch.job_ids)


def _retry_id(batch: Batch, failed_job_id: str, *, round_: int | None = None) -> str:
    """The id of the job that reruns ``failed_job_id`` in the batch's round (the same every time)."""
    number = batch.round + 1 if round_ is None else round_
    return uuid.uuid5(uuid.NAMESPACE_URL, f"mediajobs:batch:{batch.batch_id}:{number}:{failed_job_id}").hex
