"""Running a batch: the batch state machine's tasks (plan, items, provider groups, close).

See :mod:`mediajobs.batches.service` for how a batch is laid out and run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from mediajobs.batches.models import PROVIDER_GROUP_SIZE, Batch, ProviderGroup
from mediajobs.batches.store import BatchStore
from mediajobs.errors import (
    MediajobsError,
    PermanentProviderError,
    RetryableProviderError,
)
from mediajobs.jobs.archiving import Archiver
from mediajobs.jobs.intake import IntakeRefusedError
from mediajobs.jobs.models import ErrorInfo, Job
from mediajobs.jobs.pipeline import JobPipeline, error_from_provider
from mediajobs.jobs.provider_webhooks import Outcome
from mediajobs.observability import logger
from mediajobs.providers.base import ProviderName, TaskState, WebhookNotice
from mediajobs.providers.prodvisual import ProdVisualAdapter, ProdVisualOptions
from mediajobs.providers.prodvisual.adapter import task_from_generation
from mediajobs.providers.prodvisual.models import BatchRequest, GenerationStatus

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient


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
        """Count a finished job (cheap, one write) or, from the Close step, recount every job.

        The count is of the round read first; it closes that round only (a retry may open the
        next one meanwhile: see :meth:`BatchStore.complete`).
        """
        batch = self.batches.find(batch_id)
        if batch is None:
            return False
        if finished_job_id is not None:
            if finished_job_id not in batch.job_ids:
                return False  # a job of an earlier round (its item was retried)
            done = self.batches.mark_done(batch_id, finished_job_id, batch.round)
        else:
            # the Close step: count jobs that ended without passing through job_finished
            done = 0
            for job in self.jobs.find_many(batch.job_ids):
                if job.status.final:
                    done = self.batches.mark_done(batch_id, job.job_id, batch.round)
        if done < len(batch.job_ids):
            return False
        if self.batches.complete(batch_id, self.pipeline.now(), batch.round):
            logger.info("batch completed", extra={"batch_id": batch_id, "round": batch.round})
        refreshed = self.batches.find(batch_id) or batch
        if refreshed.round != batch.round or refreshed.status != "completed":
            # a retry opened the next round after this one was counted: that round closes itself
            return False
        # every time, not only the first: the notification is idempotent per batch, and a
        # failure right after complete() must not lose it
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
