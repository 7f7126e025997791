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
    ServiceUnavailableError,
    invalid_field,
)
from mediajobs.jobs.models import Job, JobStatus, TimelineEntry, utcnow
from mediajobs.jobs.requests import CreatifyJobRequest, JobRequest, ProdVisualJobRequest
from mediajobs.jobs.service import spec_from_request
from mediajobs.jobs.store import JobStore
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

    def create(self, tenant_id: str, request: BatchCreateRequest, *, public_base_url: str) -> Batch:
        self._check_styles(request)
        now = self.now()
        batch_id = uuid.uuid4().hex
        for i, item in enumerate(request.items):
            if item.dry_run:
                raise invalid_field(f"items.{i}.dry_run", "set dry_run on the batch, not on its items")
        jobs = [self._job(tenant_id, batch_id, item, now, public_base_url) for item in request.items]
        if self.billing is not None:
            # all or nothing: the whole batch's credits are reserved before any job is written
            self.billing.reserve(tenant_id, [(j.job_id, j.spec) for j in jobs])
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
        )

    def get(self, tenant_id: str, batch_id: str) -> Batch:
        batch = self.batches.find(batch_id) if len(batch_id) == 32 and batch_id.isalnum() else None
        if batch is None or batch.tenant_id != tenant_id:
            raise BatchNotFoundError(batch_id)
        return batch

    def jobs_of(self, batch: Batch) -> list[Job]:
        """The batch's job records (for its view)."""
        return self.jobs.find_many(batch.job_ids)
