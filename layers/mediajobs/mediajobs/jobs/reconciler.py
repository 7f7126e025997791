"""Nothing stays stuck: a scheduled sweep finishes jobs the state machine did not.

A job is *stuck* when it is not final and either its deadline passed more than ``grace`` ago
(its execution should have failed it by then) or its execution is no longer running (it ended
without writing a final state: a failed MarkFailed, an execution stopped by hand, a bug). For
each, the reconciler asks the provider once (the pipeline's poll), archives what finished, fails
the rest with a mapped code, and notifies the client as the execution would have.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from mediajobs.errors import MediajobsError
from mediajobs.jobs.archiving import Archiver
from mediajobs.jobs.models import ErrorInfo, Job
from mediajobs.jobs.pipeline import JobPipeline
from mediajobs.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient

RUNNING = "RUNNING"


class Reconciler:
    def __init__(
        self,
        *,
        pipeline: JobPipeline,
        archiver: Callable[[], Archiver],
        sfn: SFNClient,
        job_state_machine_arn: str,
        on_job_final: Callable[[Job], None],
        grace: timedelta = timedelta(minutes=10),
    ) -> None:
        self.pipeline = pipeline
        self.store = pipeline.store
        self.archiver = archiver
        self.sfn = sfn
        self.job_state_machine_arn = job_state_machine_arn
        self.on_job_final = on_job_final
        self.grace = grace

    def sweep(self, *, limit: int = 200) -> dict[str, int]:
        """Finish every stuck job found (at most ``limit``); answers counts per outcome."""
        now = self.pipeline.now()
        outcomes: Counter[str] = Counter()
        for job_id in self.store.overdue_job_ids(now, limit=limit):
            outcomes[self.reconcile(job_id, now=now)] += 1
        if outcomes:
            logger.info("reconciler finished stuck jobs", extra={"outcomes": dict(outcomes)})
        return dict(outcomes)

    def reconcile(self, job_id: str, *, now: datetime | None = None) -> str:
        now = now or self.pipeline.now()
        job = self.store.get(job_id)
        if job.status.final:
            return "already_final"
        running = self._execution_running(job_id)
        if running and now < job.deadline_at + self.grace:
            return "left_to_its_execution"
        try:
            step = self.pipeline.check(job_id, poll=True)
            if step.next == "archive":
                self.archiver().archive(job_id)
            elif step.next != "finished":
                # deadline passed and the provider is not done (or a next stage is due): give up
                self.pipeline.fail(job_id, self._stuck_error(job, running=running))
        except MediajobsError as exc:
            logger.warning("reconciler could not finish a job cleanly", extra={"job_id": job_id})
            self.pipeline.fail(job_id, ErrorInfo(code="internal_error", message=f"stuck job: {exc}"[:500]))
        final = self.store.get(job_id)
        if final.status.final:
            self.on_job_final(final)
        return f"reconciled_{final.status.value}"

    def _stuck_error(self, job: Job, *, running: bool) -> ErrorInfo:
        if self.pipeline.now() >= job.deadline_at:
            stage = job.stage or "submit"
            return ErrorInfo(
                code="timeout", message=f"the provider did not finish the {stage} stage before the deadline"
            )
        state = "still running past its deadline" if running else "ended without a final state"
        return ErrorInfo(code="internal_error", message=f"the job's execution {state}")

    def _execution_running(self, job_id: str) -> bool:
        arn = f"{self.job_state_machine_arn.replace(':stateMachine:', ':execution:')}:{job_id}"
        try:
            return self.sfn.describe_execution(executionArn=arn)["status"] == RUNNING
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"ExecutionDoesNotExist", "ResourceNotFoundException"}:
                return False
            raise
