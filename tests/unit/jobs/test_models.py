"""The job record: status only moves forward; the task history keeps one entry per stage and task."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mediajobs.jobs.models import InvalidTransitionError, Job, JobStatus
from mediajobs.providers.base import ProviderName, TaskState
from tests.unit.jobs.fakes import START, FakeClock, completed, new_job, task

JOB_ID = "0123456789abcdef0123456789abcdef"
FINAL = [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED]


def job_in(status: JobStatus, provider: ProviderName = ProviderName.PRODVISUAL) -> Job:
    return new_job(JOB_ID, provider).model_copy(update={"status": status})


# --- status ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (JobStatus.QUEUED, JobStatus.RUNNING),
        (JobStatus.QUEUED, JobStatus.FAILED),
        (JobStatus.RUNNING, JobStatus.ARCHIVING),
        (JobStatus.RUNNING, JobStatus.CANCELLED),
        (JobStatus.ARCHIVING, JobStatus.SUCCEEDED),
        (JobStatus.ARCHIVING, JobStatus.FAILED),
    ],
)
def test_given_a_job_when_moved_forward_then_status_changes_and_timeline_records_it(
    current: JobStatus, wanted: JobStatus
) -> None:
    job = job_in(current)
    clock = FakeClock()
    clock.advance(5)

    moved = job.moved_to(wanted, now=clock(), detail="why")

    assert moved.status is wanted
    assert moved.updated_at == clock()
    assert moved.timeline[-1].status is wanted
    assert moved.timeline[-1].detail == "why"
    assert len(moved.timeline) == len(job.timeline) + 1


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (JobStatus.RUNNING, JobStatus.QUEUED),
        (JobStatus.ARCHIVING, JobStatus.RUNNING),
        (JobStatus.ARCHIVING, JobStatus.QUEUED),
    ],
)
def test_given_a_job_when_moved_backwards_then_invalid_transition(
    current: JobStatus, wanted: JobStatus
) -> None:
    job = job_in(current)

    with pytest.raises(InvalidTransitionError) as raised:
        job.moved_to(wanted, now=START)

    assert (raised.value.current, raised.value.wanted) == (current, wanted)


@pytest.mark.parametrize(
    ("final", "wanted"), [(final, wanted) for final in FINAL for wanted in JobStatus if wanted is not final]
)
def test_given_a_final_job_when_moved_elsewhere_then_invalid_transition(
    final: JobStatus, wanted: JobStatus
) -> None:
    job = job_in(final)

    with pytest.raises(InvalidTransitionError):
        job.moved_to(wanted, now=START)


def test_given_a_job_when_moved_to_its_own_status_then_nothing_changes() -> None:
    job = job_in(JobStatus.SUCCEEDED)

    assert job.moved_to(JobStatus.SUCCEEDED, now=START) is job


# --- tasks -----------------------------------------------------------------------------------------


def test_given_a_running_task_when_its_new_state_is_recorded_then_history_keeps_one_entry_for_it() -> None:
    job = new_job(JOB_ID).with_task(task(state=TaskState.PENDING), now=START)

    job = job.with_task(task(state=TaskState.RUNNING), now=START)

    assert [(t.stage, t.task_id, t.state) for t in job.tasks] == [("generate", "task-1", TaskState.RUNNING)]
    assert job.task is not None
    assert job.task.state is TaskState.RUNNING


def test_given_a_completed_stage_when_the_next_stage_starts_then_history_keeps_both() -> None:
    creatify = ProviderName.CREATIFY
    job = new_job(JOB_ID, creatify).with_task(completed(creatify, stage="image", task_id="t"), now=START)

    # Creatify runs both stages on one task id: the stage tells them apart
    job = job.with_task(task(creatify, stage="video", task_id="t"), now=START)

    assert [(t.stage, t.state) for t in job.tasks] == [
        ("image", TaskState.COMPLETED),
        ("video", TaskState.RUNNING),
    ]
    assert job.stage == "video"


def test_given_polls_on_a_stage_when_a_new_stage_starts_then_poll_count_resets() -> None:
    job = new_job(JOB_ID, ProviderName.JOGG).with_task(task(ProviderName.JOGG, stage="product"), now=START)
    job = job.model_copy(update={"poll_count": 4})

    job = job.with_task(task(ProviderName.JOGG, stage="video", task_id="video-1"), now=START)

    assert job.poll_count == 0


def test_given_polls_on_a_stage_when_the_same_task_changes_state_then_poll_count_is_kept() -> None:
    job = new_job(JOB_ID).with_task(task(state=TaskState.PENDING), now=START)
    job = job.model_copy(update={"poll_count": 4})

    job = job.with_task(task(state=TaskState.RUNNING), now=START)

    assert job.poll_count == 4


def test_given_a_job_when_a_task_starts_or_changes_state_then_the_timeline_records_each() -> None:
    clock = FakeClock()
    job = new_job(JOB_ID)
    before = len(job.timeline)

    job = job.with_task(task(state=TaskState.PENDING, status="queued"), now=clock())
    clock.advance(10)
    job = job.with_task(task(state=TaskState.RUNNING, status="processing"), now=clock())

    added = job.timeline[before:]
    assert [(e.status, e.stage, e.detail, e.at) for e in added] == [
        (JobStatus.RUNNING, "generate", "queued", START),
        (JobStatus.RUNNING, "generate", "processing", clock()),
    ]


def test_given_a_task_when_the_same_state_is_recorded_again_then_no_timeline_entry() -> None:
    job = new_job(JOB_ID).with_task(task(state=TaskState.RUNNING), now=START)

    again = job.with_task(task(state=TaskState.RUNNING), now=START)

    assert again.timeline == job.timeline


def test_given_tasks_with_credits_when_summed_then_credits_used_adds_every_stage() -> None:
    jogg = ProviderName.JOGG
    job = new_job(JOB_ID, jogg).with_task(completed(jogg, stage="product", credits_used=0.5), now=START)

    job = job.with_task(completed(jogg, stage="video", task_id="v", credits_used=1.25), now=START)

    assert job.credits_used == pytest.approx(1.75)


def test_a_new_task_that_moves_the_job_to_running_is_one_timeline_entry() -> None:
    # Given a queued job and its first provider task, recorded in one write at one instant
    job = job_in(JobStatus.QUEUED)
    first = task(ProviderName.PRODVISUAL, stage="generate", task_id="gen-1", status="processing")

    # When the task is recorded and the job moves to running at the same instant
    moved = job.with_task(first, now=START).moved_to(JobStatus.RUNNING, now=START)

    # Then the timeline shows the change once, with the provider's status as its detail
    added = moved.timeline[len(job.timeline) :]
    assert [(e.status, e.stage, e.detail) for e in added] == [(JobStatus.RUNNING, "generate", "processing")]


def test_the_same_status_later_is_a_new_timeline_entry() -> None:
    job = job_in(JobStatus.QUEUED).moved_to(JobStatus.RUNNING, now=START)
    later = START + timedelta(seconds=1)

    again = job.add_timeline(JobStatus.RUNNING, None, later, detail="processing")

    assert len(again.timeline) == len(job.timeline) + 1
