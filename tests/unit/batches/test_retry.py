"""BatchService.retry on moto: which items rerun, once each, and a retry cut short is finished."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mediajobs.api.views import batch_view
from mediajobs.batches.models import Batch
from mediajobs.batches.runner import BatchRunner
from mediajobs.batches.service import BatchService
from mediajobs.batches.store import BatchStore
from mediajobs.config import Settings
from mediajobs.errors import ConflictError
from mediajobs.jobs.models import ErrorInfo, Job, JobStatus
from mediajobs.jobs.pipeline import JobPipeline
from mediajobs.jobs.product_links import ProductLinks
from mediajobs.jobs.store import JobStore
from tests.support.aws import REGION
from tests.unit.jobs.conftest import table_name  # noqa: F401 - the moto table fixture
from tests.unit.jobs.fakes import START, FakeAdapters, FakeClock, FakeSfn, new_job


@dataclass
class StartedExecutions:
    names: list[str] = field(default_factory=list)

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:  # noqa: A002, N803 - boto3's names
        if name in self.names:
            raise ClientError(
                {"Error": {"Code": "ExecutionAlreadyExists", "Message": name}}, "StartExecution"
            )
        self.names.append(name)
        return {"executionArn": f"{stateMachineArn}:{name}"}


@dataclass
class World:
    jobs: JobStore
    batches: BatchStore
    service: BatchService
    sfn: StartedExecutions


@pytest.fixture
def world(table_name: str) -> World:  # noqa: F811 - the fixture imported above
    table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
    jobs, batches, sfn = JobStore(table), BatchStore(table), StartedExecutions()
    service = BatchService(
        jobs=jobs,
        batches=batches,
        sfn=sfn,  # type: ignore[arg-type]
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:batch",
        deadline_seconds=600,
        clock=FakeClock(),
    )
    return World(jobs, batches, service, sfn)


def finish(world: World, job_id: str, status: JobStatus) -> None:
    def change(job: Job) -> Job:
        moved = job.moved_to(status, now=START)
        return (
            moved.model_copy(update={"error": ErrorInfo(code="provider_failed", message="x")})
            if status is JobStatus.FAILED
            else moved
        )

    world.jobs.update(job_id, change)


def closed_batch(world: World, statuses: list[JobStatus]) -> Batch:
    """A completed batch whose items ended in ``statuses``, each counted done."""
    batch_id = uuid.uuid4().hex
    job_ids = []
    for n, status in enumerate(statuses):
        job = new_job(uuid.uuid4().hex).model_copy(update={"batch_id": batch_id, "external_id": f"item-{n}"})
        world.jobs.create(job)
        finish(world, job.job_id, status)
        job_ids.append(job.job_id)
    batch = Batch(batch_id=batch_id, tenant_id="tenant-a", job_ids=job_ids, created_at=START)
    world.batches.create(batch)
    return close_round(world, batch_id)


def close_round(world: World, batch_id: str) -> Batch:
    batch = world.batches.find(batch_id)
    assert batch is not None
    for job_id in batch.job_ids:
        assert world.jobs.get(job_id).status.final
        world.batches.mark_done(batch_id, job_id, batch.round)
    assert world.batches.complete(batch_id, START, batch.round)
    closed = world.batches.find(batch_id)
    assert closed is not None
    return closed


def test_given_a_closed_batch_with_failed_items_when_retried_then_each_failed_item_gets_one_new_job(
    world: World,
) -> None:
    batch = closed_batch(world, [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.FAILED])

    reopened, new_ids = world.service.retry("tenant-a", batch.batch_id)

    assert (reopened.status, reopened.round, len(new_ids)) == ("running", 1, 2)
    assert reopened.job_ids[0] == batch.job_ids[0]
    for old_id, new_id in zip(batch.job_ids[1:], reopened.job_ids[1:], strict=True):
        new = world.jobs.get(new_id)
        assert (new.retried_from, new.status, new.batch_id) == (old_id, JobStatus.QUEUED, batch.batch_id)
        assert new.external_id == world.jobs.get(old_id).external_id
    assert world.sfn.names == [f"{batch.batch_id}-retry-1"]
    # the unchanged item is already counted done in the new round
    assert world.batches.done_ids(batch.batch_id, 1) == [batch.job_ids[0]]


def test_given_a_retry_running_when_retried_again_then_it_is_a_conflict_and_nothing_is_written(
    world: World,
) -> None:
    batch = closed_batch(world, [JobStatus.FAILED])
    world.service.retry("tenant-a", batch.batch_id)

    with pytest.raises(ConflictError) as refused:
        world.service.retry("tenant-a", batch.batch_id)

    assert refused.value.code == "batch_running"
    assert world.sfn.names == [f"{batch.batch_id}-retry-1"]


def test_given_a_retry_cut_short_after_its_claim_when_retried_again_then_the_round_is_finished(
    world: World,
) -> None:
    # Given a retry that claimed the round and died before writing the new job
    batch = closed_batch(world, [JobStatus.SUCCEEDED, JobStatus.FAILED])
    _, planned = world.service.retry("tenant-a", batch.batch_id)
    world.jobs._table.delete_item(Key={"pk": f"JOB#{planned[0]}", "sk": "JOB"})
    assert world.jobs.find(planned[0]) is None
    world.sfn.names.clear()

    # When the client retries
    _, new_ids = world.service.retry("tenant-a", batch.batch_id)

    # Then the same job is written and the round's execution started
    assert new_ids == planned
    assert world.jobs.get(planned[0]).retried_from == batch.job_ids[1]
    assert world.sfn.names == [f"{batch.batch_id}-retry-1"]


def test_given_a_second_round_when_retried_then_only_the_item_whose_retry_failed_reruns(world: World) -> None:
    batch = closed_batch(world, [JobStatus.FAILED, JobStatus.FAILED])
    first, _ = world.service.retry("tenant-a", batch.batch_id)
    finish(world, first.job_ids[0], JobStatus.SUCCEEDED)
    finish(world, first.job_ids[1], JobStatus.FAILED)
    close_round(world, batch.batch_id)

    second, new_ids = world.service.retry("tenant-a", batch.batch_id)

    assert second.round == 2
    assert second.job_ids[0] == first.job_ids[0]
    assert new_ids == [second.job_ids[1]]
    assert world.jobs.get(second.job_ids[1]).retried_from == first.job_ids[1]


def test_given_no_failed_item_when_retried_then_nothing_to_retry(world: World) -> None:
    batch = closed_batch(world, [JobStatus.SUCCEEDED, JobStatus.CANCELLED])

    with pytest.raises(ConflictError) as refused:
        world.service.retry("tenant-a", batch.batch_id)

    assert refused.value.code == "nothing_to_retry"


@pytest.mark.parametrize(
    ("statuses", "outcome"),
    [
        ([JobStatus.SUCCEEDED, JobStatus.SUCCEEDED], "succeeded"),
        ([JobStatus.SUCCEEDED, JobStatus.FAILED], "partially_succeeded"),
        ([JobStatus.SUCCEEDED, JobStatus.CANCELLED], "partially_succeeded"),
        ([JobStatus.FAILED, JobStatus.CANCELLED], "failed"),
    ],
)
def test_given_a_completed_batch_when_viewed_then_its_outcome_follows_its_items(
    world: World, statuses: list[JobStatus], outcome: str
) -> None:
    batch = closed_batch(world, statuses)

    view = batch_view(batch, world.jobs.find_many(batch.job_ids))

    assert view.outcome == outcome
    assert view.results is None  # no presigner, and no manifest written yet


# --- a closer of the previous round racing the retry ------------------------------------------------


class RetryBeforeClosing(BatchStore):
    """A batch store whose first ``complete`` lets ``retry`` run just before it writes: a closer
    that counted every job of a round done, and a client retry that opens the next round
    between that count and the closer's write."""

    def __init__(self, table: Any, retry: Callable[[], object]) -> None:
        super().__init__(table)
        self.retry = retry
        self.retried = False

    def complete(self, batch_id: str, now: datetime, round_: int) -> bool:
        if not self.retried:
            self.retried = True
            self.retry()
        return super().complete(batch_id, now, round_)


def runner_on(world: World, batches: BatchStore, completed: list[Batch]) -> BatchRunner:
    settings = Settings(jobs_table=world.jobs._table.name, media_bucket="unused")
    clock = FakeClock()
    pipeline = JobPipeline(
        store=world.jobs,
        adapters=FakeAdapters(),
        settings=settings,
        clock=clock,
        links=ProductLinks(key=lambda: b"k", max_seconds=60, clock=clock),
    )
    return BatchRunner(
        pipeline=pipeline,
        batches=batches,
        sfn=FakeSfn(),  # type: ignore[arg-type]
        job_state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:job",
        prodvisual=lambda: None,  # type: ignore[arg-type,return-value]
        archiver=lambda: None,  # type: ignore[arg-type,return-value]
        on_batch_completed=lambda batch, _jobs: completed.append(batch),
    )


@pytest.mark.parametrize("closer", ["close_step", "late_job_finished"])
def test_given_a_closer_of_the_last_round_when_a_retry_opens_the_next_before_it_writes_then_it_stays_open(
    world: World, closer: str
) -> None:
    # Given a completed batch with two failed items, and a late closer of that round (its Close
    # step, or a job's end handled twice) that has counted every job done
    batch = closed_batch(world, [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.FAILED])
    completed: list[Batch] = []
    table = world.jobs._table
    batches = RetryBeforeClosing(table, lambda: world.service.retry("tenant-a", batch.batch_id))
    runner = runner_on(world, batches, completed)

    # When the retry opens round 1 between the closer's count and its write
    if closer == "close_step":
        closed = runner.close_if_done(batch.batch_id)
    else:
        closed = runner.close_if_done(batch.batch_id, finished_job_id=batch.job_ids[0])

    # Then round 1 stays running with its two new jobs queued, and no batch.completed is sent
    assert batches.retried
    assert not closed
    reopened = world.batches.find(batch.batch_id)
    assert reopened is not None
    assert (reopened.status, reopened.round, reopened.completed_at) == ("running", 1, None)
    assert [world.jobs.get(i).status for i in reopened.job_ids[1:]] == [JobStatus.QUEUED] * 2
    assert completed == []

    # And round 1 closes once its own jobs are final, notified once for that round
    for job_id in reopened.job_ids[1:]:
        finish(world, job_id, JobStatus.SUCCEEDED)
        runner.job_finished(world.jobs.get(job_id))
    final = world.batches.find(batch.batch_id)
    assert final is not None
    assert (final.status, final.round) == ("completed", 1)
    assert [(b.round, b.status) for b in completed] == [(1, "completed")]


def test_given_a_reopened_batch_when_the_previous_round_is_completed_then_the_write_is_refused(
    world: World,
) -> None:
    batch = closed_batch(world, [JobStatus.FAILED])
    world.service.retry("tenant-a", batch.batch_id)

    assert not world.batches.complete(batch.batch_id, START, 0)
    assert world.batches.complete(batch.batch_id, START, 1)
