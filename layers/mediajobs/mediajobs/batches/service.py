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
import math
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from mediajobs.api.errors import ApiError, not_found
from mediajobs.api.schemas import CreatifyJobRequest, HttpUrl, JobRequest, MetadataKey, MetadataValue
from mediajobs.errors import MediajobsError, PermanentProviderError, RetryableProviderError
from mediajobs.jobs.archiving import Archiver
from mediajobs.jobs.intake import IntakeRefusedError
from mediajobs.jobs.models import ErrorInfo, Job, JobStatus, TimelineEntry, utcnow
from mediajobs.jobs.pipeline import JobPipeline, error_from_provider
from mediajobs.jobs.provider_webhooks import Outcome
from mediajobs.jobs.service import spec_from_request
from mediajobs.jobs.store import JobStore
from mediajobs.observability import logger
from mediajobs.providers.base import ProviderName, TaskState, WebhookNotice
from mediajobs.providers.prodvisual import ProdVisualAdapter, ProdVisualOptions
from mediajobs.providers.prodvisual.adapter import task_from_generation
from mediajobs.providers.prodvisual.models import BatchRequest, GenerationStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_stepfunctions.client import SFNClient

MAX_ITEMS = 500
PROVIDER_GROUP_SIZE = 50


# -- API models ------------------------------------------------------------------------------------


class BatchCreateRequest(BaseModel):
    """``POST /v1/batches``: each item is a job spec exactly as ``POST /v1/jobs`` takes it."""

    model_config = ConfigDict(extra="forbid", title="BatchRequest")

    items: Annotated[list[JobRequest], Field(min_length=1, max_length=MAX_ITEMS)]
    webhook_url: Annotated[HttpUrl | None, Field(description="where to POST the batch's final state")] = None
    metadata: Annotated[dict[MetadataKey, MetadataValue], Field(max_length=20)] = Field(default_factory=dict)


class BatchAccepted(BaseModel):
    batch_id: str
    status: str
    total: int
    job_ids: list[str]
    links: dict[str, str]


class BatchItemView(BaseModel):
    index: int
    job_id: str
    provider: ProviderName
    status: JobStatus
    error_code: str | None = None


class BatchView(BaseModel):
    batch_id: str
    status: str
    total: int
    counts: dict[str, int]
    created_at: datetime
    completed_at: datetime | None = None
    metadata: dict[str, str]
    items: list[BatchItemView]


# -- records ---------------------------------------------------------------------------------------


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


class BatchStore:
    """Batch items in the jobs table (see the module docstring for the keys)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, batch: Batch) -> None:
        item = json.loads(batch.model_dump_json(exclude_none=True), parse_float=Decimal)
        self._table.put_item(
            Item=item | {"pk": f"BATCH#{batch.batch_id}", "sk": "BATCH"},
            ConditionExpression="attribute_not_exists(pk)",
        )

    def find(self, batch_id: str) -> Batch | None:
        item = self._table.get_item(Key={"pk": f"BATCH#{batch_id}", "sk": "BATCH"}, ConsistentRead=True).get(
            "Item"
        )
        return Batch.model_validate(item) if item else None

    def mark_done(self, batch_id: str, job_id: str) -> int:
        """Count ``job_id`` as final (idempotent); answers how many distinct jobs are final."""
        answer = self._table.update_item(
            Key={"pk": f"BATCH#{batch_id}", "sk": "DONE"},
            UpdateExpression="ADD job_ids :one",
            ExpressionAttributeValues={":one": {job_id}},
            ReturnValues="ALL_NEW",
        )
        return len(answer["Attributes"].get("job_ids", ()))  # type: ignore[arg-type]

    def complete(self, batch_id: str, now: datetime) -> bool:
        """Mark the batch completed once; ``True`` for the caller that did."""
        try:
            self._table.update_item(
                Key={"pk": f"BATCH#{batch_id}", "sk": "BATCH"},
                UpdateExpression="SET #s = :done, completed_at = :now",
                ConditionExpression="#s <> :done",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":done": "completed", ":now": now.isoformat()},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def put_group(self, group: ProviderGroup) -> None:
        self._table.put_item(
            Item=json.loads(group.model_dump_json())
            | {
                "pk": f"PGROUP#{group.provider_batch_id}",
                "sk": "PGROUP",
                "gsi1pk": f"{ProviderName.PRODVISUAL.value}#{group.provider_batch_id}",
                "gsi1sk": f"PGROUP#{group.provider_batch_id}",
            }
        )

    def get_group(self, provider_batch_id: str) -> ProviderGroup | None:
        item = self._table.get_item(
            Key={"pk": f"PGROUP#{provider_batch_id}", "sk": "PGROUP"}, ConsistentRead=True
        ).get("Item")
        return ProviderGroup.model_validate(item) if item else None

    def group_for_task(self, provider: str, task_id: str) -> str | None:
        answer = self._table.query(
            IndexName="ProviderTaskIndex",
            KeyConditionExpression=Key("gsi1pk").eq(f"{provider}#{task_id}"),
            Limit=1,
        )
        items = [i for i in answer.get("Items", []) if str(i["pk"]).startswith("PGROUP#")]
        return str(items[0]["pk"]).removeprefix("PGROUP#") if items else None

    def put_token(self, pk: str, sk: str, token: str) -> None:
        self._table.put_item(Item={"pk": pk, "sk": sk, "token": token})

    def claim_token(self, pk: str, sk: str) -> str | None:
        old = self._table.delete_item(Key={"pk": pk, "sk": sk}, ReturnValues="ALL_OLD").get("Attributes")
        return str(old["token"]) if old else None


# -- accepting a batch (the API) ----------------------------------------------------------------------


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
    ) -> None:
        self.jobs = jobs
        self.batches = batches
        self.sfn = sfn
        self.state_machine_arn = state_machine_arn
        self.deadline_seconds = deadline_seconds
        self.now = clock

    def create(self, tenant_id: str, request: BatchCreateRequest, *, public_base_url: str) -> Batch:
        now = self.now()
        batch_id = uuid.uuid4().hex
        jobs = [self._job(tenant_id, batch_id, item, now, public_base_url) for item in request.items]
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
            raise ApiError(
                503, "service_unavailable", "the batch could not be started; please retry"
            ) from exc
        logger.info("batch accepted", extra={"batch_id": batch_id, "items": len(jobs)})
        return batch

    def _job(self, tenant_id: str, batch_id: str, item: JobRequest, now: datetime, base: str) -> Job:
        return Job(
            job_id=uuid.uuid4().hex,
            tenant_id=tenant_id,
            created_at=now,
            updated_at=now,
            deadline_at=now + timedelta(seconds=self.deadline_seconds),
            spec=spec_from_request(item),
            public_base_url=base.rstrip("/"),
            callback_token=uuid.uuid4().hex if isinstance(item, CreatifyJobRequest) else None,
            timeline=[TimelineEntry(status=JobStatus.QUEUED, at=now, detail=f"batch {batch_id}")],
            batch_id=batch_id,
        )

    def get(self, tenant_id: str, batch_id: str) -> Batch:
        batch = self.batches.find(batch_id) if len(batch_id) == 32 and batch_id.isalnum() else None
        if batch is None or batch.tenant_id != tenant_id:
            raise not_found(f"batch {batch_id}")
        return batch

    def view(self, batch: Batch) -> BatchView:
        return batch_view(batch, self._load(batch.job_ids))

    def _load(self, job_ids: Sequence[str]) -> list[Job]:
        return self.jobs.find_many(job_ids)


def batch_view(batch: Batch, loaded: Sequence[Job]) -> BatchView:
    """What GET /v1/batches/{id} shows (and the batch.completed event carries)."""
    jobs = {j.job_id: j for j in loaded}
    items = [
        BatchItemView(
            index=i,
            job_id=job.job_id,
            provider=job.provider,
            status=job.status,
            error_code=job.error.code if job.error else None,
        )
        for i, job in ((i, jobs.get(job_id)) for i, job_id in enumerate(batch.job_ids))
        if job is not None
    ]
    counts: dict[str, int] = {}
    for item in items:
        counts[item.status.value] = counts.get(item.status.value, 0) + 1
    return BatchView(
        batch_id=batch.batch_id,
        status=batch.status,
        total=len(batch.job_ids),
        counts=counts,
        created_at=batch.created_at,
        completed_at=batch.completed_at,
        metadata=batch.metadata,
        items=items,
    )


# -- running a batch (the batch state machine's tasks) ------------------------------------------------


class GroupStep(BaseModel):
    next: str  # await | done
    wait_seconds: int = 0
    provider_batch_id: str = ""


class BatchRunner:
    def __init__(
        self,
        *,
        pipeline: JobPipeline,
        batches: BatchStore,
        sfn: SFNClient,
        job_state_machine_arn: str,
        prodvisual: Callable[[], ProdVisualAdapter],
        archiver: Callable[[], Archiver],
        on_job_final: Callable[[Job], None] | None = None,
        on_batch_completed: Callable[[Batch, list[Job]], None] = lambda _batch, _jobs: None,
    ) -> None:
        self.archiver = archiver
        self.on_job_final = on_job_final or self.job_finished
        self.pipeline = pipeline
        self.jobs = pipeline.store
        self.batches = batches
        self.sfn = sfn
        self.job_state_machine_arn = job_state_machine_arn
        self.prodvisual = prodvisual
        self.on_batch_completed = on_batch_completed

    def plan(self, batch_id: str) -> dict[str, Any]:
        """Groups for the Map state: ProdVisual items 50 at a time, everything else one by one."""
        batch = self.batches.find(batch_id)
        if batch is None:
            raise KeyError(f"batch {batch_id} does not exist")
        jobs = self.jobs.find_many(batch.job_ids)
        prodvisual = [j.job_id for j in jobs if j.provider is ProviderName.PRODVISUAL and not j.status.final]
        groups: list[dict[str, Any]] = [
            {"kind": "provider_batch", "job_ids": prodvisual[i : i + PROVIDER_GROUP_SIZE]}
            for i in range(0, len(prodvisual), PROVIDER_GROUP_SIZE)
        ]
        groups += [
            {"kind": "single", "job_ids": [j.job_id]}
            for j in jobs
            if j.provider is not ProviderName.PRODVISUAL and not j.status.final
        ]
        timeout = self.pipeline.settings.job_deadline_seconds + 300
        return {"batch_id": batch_id, "groups": groups, "item_timeout_seconds": timeout}

    # single items

    def start_item(self, job_id: str, task_token: str) -> str:
        """Keep the batch's token on the job and start the job; the job's end resumes the batch."""
        self.batches.put_token(f"JOB#{job_id}", "BATCHTOKEN", task_token)
        job = self.jobs.get(job_id)
        if job.status.final:
            self._resume(f"JOB#{job_id}", "BATCHTOKEN")
            return "final"
        self._start_job(job_id)
        return "started"

    def job_finished(self, job: Job) -> None:
        """Called when a job reaches a final state: resume its batch iteration, count it, maybe close."""
        if job.batch_id is None:
            return
        self._resume(f"JOB#{job.job_id}", "BATCHTOKEN")
        self.close_if_done(job.batch_id, finished_job_id=job.job_id)

    def close_if_done(self, batch_id: str, finished_job_id: str | None = None) -> bool:
        """Count a finished job (cheap, one write) or, from the Close step, recount every job."""
        batch = self.batches.find(batch_id)
        if batch is None:
            return False
        if finished_job_id is not None:
            done = self.batches.mark_done(batch_id, finished_job_id)
        else:
            # the Close step: count jobs that ended without passing through job_finished
            done = 0
            for job in self.jobs.find_many(batch.job_ids):
                if job.status.final:
                    done = self.batches.mark_done(batch_id, job.job_id)
        if done < len(batch.job_ids):
            return False
        if self.batches.complete(batch_id, self.pipeline.now()):
            logger.info("batch completed", extra={"batch_id": batch_id})
        # every time, not only the first: the notification is idempotent per batch, and a
        # failure right after complete() must not lose it
        refreshed = self.batches.find(batch_id) or batch
        self.on_batch_completed(refreshed, self.jobs.find_many(refreshed.job_ids))
        return True

    # provider groups (ProdVisual)

    def fall_back(self, job_ids: list[str]) -> GroupStep:
        """The provider batch could not be sent: run each item as a job of its own instead."""
        self._start_jobs(job_ids)
        return GroupStep(next="done")

    def submit_group(self, job_ids: list[str]) -> GroupStep:
        """Take in every item's image, send ONE provider batch, record each item's generation."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            jobs = list(pool.map(self._taken_in, job_ids))
        ready = [j for j in jobs if j is not None and not j.status.final and j.task is None]
        if not ready:
            return GroupStep(next="done")
        adapter = self.prodvisual()
        items = []
        for job in ready:
            options = ProdVisualOptions.model_validate(job.spec.options)
            items.append(options.to_request(self.pipeline.product_link(job)).model_dump(exclude_none=True))
        webhook_url = self.pipeline.callback_url(ready[0])
        request = BatchRequest.model_validate({"items": items, "webhook_url": webhook_url})
        try:
            answer = adapter.generate_batch(request)
            status = adapter.generation(answer.batch_id)
        except RetryableProviderError:
            raise
        except PermanentProviderError as exc:
            for job in ready:
                self.pipeline.fail(job.job_id, error_from_provider(exc))
            self._start_jobs([j.job_id for j in ready])
            return GroupStep(next="done")
        generations = status.items or []
        if len(generations) != len(ready):
            raise RuntimeError(
                f"ProdVisual batch {answer.batch_id} lists {len(generations)} items, sent {len(ready)}"
            )
        group = ProviderGroup(
            provider_batch_id=answer.batch_id,
            batch_id=ready[0].batch_id or "",
            job_ids=[j.job_id for j in ready],
            task_ids=[g.id for g in generations],
        )
        self.batches.put_group(group)
        for job, generation in zip(ready, generations, strict=True):
            self.pipeline.record_task(job.job_id, task_from_generation(generation))
        return self._group_wait(group)

    def park_group(self, provider_batch_id: str, task_token: str) -> str:
        pk = f"PGROUP#{provider_batch_id}"
        self.batches.put_token(pk, "TOKEN", task_token)
        group = self.batches.get_group(provider_batch_id)
        if group is not None and (group.done or group.notified):
            self._resume(pk, "TOKEN")
            return "resumed"
        return "waiting"

    def check_group(self, provider_batch_id: str, *, poll: bool) -> GroupStep:
        group = self.batches.get_group(provider_batch_id)
        if group is None:
            raise KeyError(f"provider batch {provider_batch_id} is unknown")
        if not group.done and (poll or group.notified):
            try:
                status = self.prodvisual().generation(provider_batch_id)
            except RetryableProviderError:
                return self._group_wait(group.model_copy(update={"poll_count": group.poll_count + 1}))
            group = self.record_group(provider_batch_id, status.items or [])
        if group.done:
            return GroupStep(next="finish", provider_batch_id=provider_batch_id)
        if self.pipeline.now() >= self.jobs.get(group.job_ids[0]).deadline_at:
            self._start_jobs(group.job_ids)  # each job fails itself by its deadline
            return GroupStep(next="done", provider_batch_id=provider_batch_id)
        return self._group_wait(group.model_copy(update={"poll_count": group.poll_count + 1}))

    def finish_group(self, provider_batch_id: str) -> int:
        """The provider finished the group: archive (or fail) every item here, in parallel threads.

        One Lambda keeping 50 outputs costs far less than 50 job executions doing it one by one;
        each job still ends exactly as a job alone would (outputs archived, status, notification).
        """
        group = self.batches.get_group(provider_batch_id)
        if group is None:
            raise KeyError(f"provider batch {provider_batch_id} is unknown")
        jobs = self.jobs.find_many(group.job_ids)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(self._finish_job, jobs))
        return len(jobs)

    def _finish_job(self, job: Job) -> None:
        if not job.status.final:
            step = self.pipeline.route(job)
            if step.next == "archive":
                try:
                    self.archiver().archive(job.job_id)
                except MediajobsError as exc:
                    logger.warning("batch item could not be archived", extra={"job_id": job.job_id})
                    self.pipeline.fail(job.job_id, ErrorInfo(code="archive_failed", message=str(exc)[:500]))
            elif step.next != "finished":
                # not finished at the provider: the item goes on as a job of its own
                self._start_job(job.job_id)
                return
        final = self.jobs.get(job.job_id)
        if final.status.final:
            self.on_job_final(final)

    def record_group(self, provider_batch_id: str, generations: Sequence[GenerationStatus]) -> ProviderGroup:
        """Record each item's state (from the batch webhook or a poll); the group is done when all are."""
        group = self.batches.get_group(provider_batch_id)
        if group is None:
            raise KeyError(f"provider batch {provider_batch_id} is unknown")
        by_id = {g.id: g for g in generations}

        def record(pair: tuple[str, str]) -> TaskState:
            job_id, task_id = pair
            generation = by_id.get(task_id)
            if generation is None:
                return TaskState.PENDING
            task = task_from_generation(generation)
            self.pipeline.record_webhook_task(job_id, task)
            return task.state

        with ThreadPoolExecutor(max_workers=8) as pool:
            states = list(pool.map(record, zip(group.job_ids, group.task_ids, strict=True)))
        done = all(s.final for s in states)
        group = group.model_copy(update={"done": done})
        self.batches.put_group(group)
        return group

    def handle_provider_webhook(
        self, provider: ProviderName, body: bytes, notice: WebhookNotice
    ) -> Outcome | None:
        """A verified provider webhook about a provider batch; ``None`` when it is about something else.

        Kept light (the provider waits for our answer): it only wakes the group, whose next check
        reads the batch's status once and records every item.
        """
        if provider is not ProviderName.PRODVISUAL:
            return None
        provider_batch_id = self.batches.group_for_task(provider.value, notice.task_id)
        if provider_batch_id is None:
            return None
        if not self.jobs.remember_event(provider.value, notice.event_id):
            return Outcome.DUPLICATE
        group = self.batches.get_group(provider_batch_id)
        if group is not None and not group.notified:
            self.batches.put_group(group.model_copy(update={"notified": True}))
        if self.resume_group(provider_batch_id):
            return Outcome.RESUMED
        return Outcome.RECORDED

    def resume_group(self, provider_batch_id: str) -> bool:
        return self._resume(f"PGROUP#{provider_batch_id}", "TOKEN")

    # helpers

    def _group_wait(self, group: ProviderGroup) -> GroupStep:
        settings = self.pipeline.settings
        self.batches.put_group(group)
        wait = min(settings.poll_max_seconds, settings.poll_initial_seconds * 2 ** min(group.poll_count, 20))
        return GroupStep(
            next="await", wait_seconds=max(1, math.ceil(wait)), provider_batch_id=group.provider_batch_id
        )

    def _taken_in(self, job_id: str) -> Job | None:
        job = self.jobs.find(job_id)
        if job is None or job.status.final or job.product_image is not None or self.pipeline.intake is None:
            return job
        try:
            image = self.pipeline.intake(job)
        except IntakeRefusedError as exc:
            self.pipeline.fail(job_id, ErrorInfo(code=exc.code, message=exc.message))
            self._start_jobs([job_id])
            return None
        return self.jobs.update(job_id, lambda j: j.model_copy(update={"product_image": image}))

    def _start_jobs(self, job_ids: Sequence[str]) -> None:
        for job_id in job_ids:
            self._start_job(job_id)

    def _start_job(self, job_id: str) -> None:
        try:
            self.sfn.start_execution(
                stateMachineArn=self.job_state_machine_arn, name=job_id, input=json.dumps({"job_id": job_id})
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise

    def _resume(self, pk: str, sk: str) -> bool:
        token = self.batches.claim_token(pk, sk)
        if token is None:
            return False
        try:
            self.sfn.send_task_success(taskToken=token, output=json.dumps({"resumed": True}))
        except ClientError:
            return False
        return True
