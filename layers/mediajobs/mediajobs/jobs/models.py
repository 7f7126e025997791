"""The job record: what mediajobs knows about one job, stored as one DynamoDB item."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mediajobs.providers.base import OutputKind, ProductInput, ProviderName, ProviderTask, StartFrom


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    #: the provider answered "insufficient credits": the job waits for a top-up, then resubmits
    WAITING_CREDITS = "waiting_credits"
    ARCHIVING = "archiving"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}

    @property
    def rank(self) -> int:
        """Status only moves to a higher rank."""
        # waiting_credits shares running's rank: a job moves between them both ways
        return {"queued": 0, "running": 1, "waiting_credits": 1, "archiving": 2}.get(self.value, 3)


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ErrorInfo(_Record):
    """Why a job failed: our stable ``code``, a message that says what happened, the provider's code."""

    code: str
    message: str
    provider_code: str | None = None


class TimelineEntry(_Record):
    status: JobStatus
    stage: str | None = None
    at: datetime
    detail: str | None = None


class ProductImage(_Record):
    """The product image as mediajobs took it in (kept in S3 before any credit is spent)."""

    s3_key: str
    content_type: str
    bytes: int
    width: int
    height: int
    sha256: str


class StoredOutput(_Record):
    """One archived output file."""

    kind: OutputKind
    stage: str
    s3_key: str
    content_type: str
    bytes: int
    sha256: str
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    codec: str | None = None
    #: the SHA-256 checksum S3 keeps for the object (composite for a multipart one): a retried
    #: archive step knows the object is still the one recorded
    s3_checksum: str | None = None


class FallbackSpec(_Record):
    """A provider to try after the current one failed for good, with its validated options."""

    provider: ProviderName
    options: dict[str, Any] = Field(default_factory=dict)


class Attempt(_Record):
    """One provider a job tried: when, and why it moved on (``outcome``: the error code)."""

    provider: ProviderName
    options: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str | None = None
    message: str | None = None
    #: the provider tasks this attempt made: a late answer naming one of them is the abandoned
    #: attempt's, even when a later attempt runs on the same provider
    task_ids: list[str] = Field(default_factory=list)

    def made(self, task: ProviderTask) -> bool:
        return task.provider is self.provider and task.task_id in self.task_ids


class JobSpec(_Record):
    """What the client asked for, as validated by the API (options already per provider)."""

    provider: ProviderName
    product: ProductInput
    options: dict[str, Any] = Field(default_factory=dict)
    webhook_url: str | None = None
    #: the event types this job's webhooks carry (``None``: the tenant's choice)
    webhook_events_filter: list[str] | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    #: regenerate / continue: the first stage acts on an earlier job's provider task
    start_from: StartFrom | None = None
    #: providers still to try, in order, after a verified terminal failure of the current one
    fallback: list[FallbackSpec] = Field(default_factory=list)


class ProviderCall(_Record):
    """A create call (submit or advance) sent to the provider whose task is not final yet.

    Written before the request leaves. ``answered`` turns true when the provider's answer (the
    task id) is recorded; a call that stays unanswered (a timeout, a task that died) may still
    have made a task at the provider, and the provider's callback, which carries ``key``, can
    name it (see :meth:`JobPipeline.adopt_task`). ``key`` is new for every call and dies with the
    call's task: a callback URL works for one call only.
    """

    kind: Literal["submit", "advance"]
    key: str
    started_at: datetime
    answered: bool = False


class Job(_Record):
    job_id: str
    tenant_id: str
    status: JobStatus = JobStatus.QUEUED
    version: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    deadline_at: datetime
    spec: JobSpec
    public_base_url: str
    product_image: ProductImage | None = None
    task: ProviderTask | None = None
    tasks: list[ProviderTask] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    outputs: list[StoredOutput] = Field(default_factory=list)
    #: outputs the archive step has stored so far (a retry skips them); moved to ``outputs`` on success
    archived: list[StoredOutput] = Field(default_factory=list)
    error: ErrorInfo | None = None
    poll_count: Annotated[int, Field(ge=0)] = 0
    #: a per-job secret (Creatify jobs): it salts the ids of the job's continuations; callback URLs
    #: carry the key of the call in flight instead (ProviderCall.key)
    callback_token: str | None = None
    execution_arn: str | None = None
    #: the succeeded job this one regenerates (another prompt, style or script) / continues (video)
    regenerated_from: str | None = None
    continued_from: str | None = None
    #: set for jobs that are items of a batch (POST /v1/batches)
    batch_id: str | None = None
    #: the provider create call in flight (see ProviderCall)
    call: ProviderCall | None = None
    #: a request slot of the shared rate limiter reserved for this job's next provider request
    rate_slot: float | None = None
    #: the client's own id of the job (unique within its batch)
    external_id: str | None = None
    #: the failed job of the same batch item this job reruns (POST /v1/batches/{id}/retry)
    retried_from: str | None = None
    #: the providers tried before the current one (empty: no fallback happened)
    attempts: list[Attempt] = Field(default_factory=list)
    #: when the current provider first answered a create call or a status read with a server
    #: error (or could not be reached) since its last answer: a job with a fallback moves on after
    #: ``fallback_unreachable_seconds``
    unreachable_since: datetime | None = None
    #: when the current provider's attempt began (the job's creation for the first one)
    attempt_started_at: datetime | None = None
    #: how many times the provider answered "insufficient credits" in a row (grows the wait)
    credit_waits: Annotated[int, Field(ge=0)] = 0

    @property
    def provider(self) -> ProviderName:
        return self.spec.provider

    @property
    def stage(self) -> str | None:
        return self.task.stage if self.task else None

    def original_spec(self) -> JobSpec:
        """The spec as the client sent it: the first provider, the others as its fallbacks."""
        if not self.attempts:
            return self.spec
        first, *later = self.attempts
        fallback = [FallbackSpec(provider=a.provider, options=a.options) for a in later]
        fallback += [
            FallbackSpec(provider=self.spec.provider, options=self.spec.options),
            *self.spec.fallback,
        ]
        return self.spec.model_copy(
            update={"provider": first.provider, "options": first.options, "fallback": fallback}
        )

    @property
    def credits_used(self) -> float | None:
        used = [t.credits_used for t in self.tasks if t.credits_used is not None]
        return sum(used) if used else None

    def with_task(self, task: ProviderTask, *, now: datetime) -> Job:
        """Record ``task`` as the current task; history keeps the latest state per task and stage."""
        history = [t for t in self.tasks if (t.stage, t.task_id) != (task.stage, task.task_id)]
        history.append(task)
        changed_stage = self.task is None or (self.task.stage, self.task.task_id) != (
            task.stage,
            task.task_id,
        )
        job = self.model_copy(update={"task": task, "tasks": history, "updated_at": now})
        if changed_stage:
            job = job.model_copy(update={"poll_count": 0})
        if changed_stage or (self.task is not None and self.task.state != task.state):
            job = job.add_timeline(JobStatus.RUNNING, task.stage, now, detail=task.provider_status)
        return job

    def add_timeline(
        self, status: JobStatus, stage: str | None, now: datetime, detail: str | None = None
    ) -> Job:
        entry = TimelineEntry(status=status, stage=stage, at=now, detail=detail)
        last = self.timeline[-1] if self.timeline else None
        if last is not None and (last.status, last.stage, last.at) == (status, stage, now):
            # one change seen twice in one write (a new task, and the status it moves the job to)
            if detail is None or last.detail == detail:
                return self
            kept = last.model_copy(update={"detail": last.detail or detail})
            return self.model_copy(update={"timeline": [*self.timeline[:-1], kept]})
        return self.model_copy(update={"timeline": [*self.timeline, entry]})

    def moved_to(self, status: JobStatus, *, now: datetime, detail: str | None = None) -> Job:
        """The job in ``status``; refuses to move backwards or out of a final status."""
        if status == self.status:
            return self
        if self.status.final or status.rank < self.status.rank:
            raise InvalidTransitionError(self.job_id, self.status, status)
        job = self.model_copy(update={"status": status, "updated_at": now})
        return job.add_timeline(status, self.stage, now, detail=detail)


class JobSummary(_Record):
    """A job as a listing shows it: the attributes the tenant indexes project (see the store)."""

    job_id: str
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    spec: JobSpec
    task: ProviderTask | None = None
    error: ErrorInfo | None = None
    regenerated_from: str | None = None
    continued_from: str | None = None

    @property
    def provider(self) -> ProviderName:
        return self.spec.provider


class InvalidTransitionError(Exception):
    def __init__(self, job_id: str, current: JobStatus, wanted: JobStatus) -> None:
        super().__init__(f"job {job_id} cannot move from {current} to {wanted}")
        self.current = current
        self.wanted = wanted
