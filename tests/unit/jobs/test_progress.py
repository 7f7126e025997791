"""A job's progress: its stage of how many, the provider's status, and a percent from it."""

from __future__ import annotations

import pytest

from mediajobs.jobs.models import Job, JobStatus
from mediajobs.jobs.progress import progress
from mediajobs.providers.base import ProviderName, StartFrom, StartKind
from tests.unit.jobs.fakes import START, new_job, task

JOB_ID = "0123456789abcdef0123456789abcdef"


def running(job: Job, stage: str, status: str) -> Job:
    return job.with_task(task(job.provider, stage=stage, status=status), now=START).moved_to(
        JobStatus.RUNNING, now=START
    )


def test_a_queued_job_is_at_its_first_stage_with_nothing_done() -> None:
    p = progress(new_job(JOB_ID, ProviderName.CREATIFY))

    assert (p.stage, p.stage_index, p.stage_count, p.provider_status, p.percent) == ("image", 1, 2, None, 0.0)


@pytest.mark.parametrize(
    ("stage", "status", "index", "percent"),
    [
        ("image", "initializing", 1, 4.8),
        ("image", "image_generating", 1, 23.8),
        ("image", "image_generated", 1, 47.5),
        ("video", "video_generating", 2, 71.2),
        ("video", "video_generated", 2, 95.0),
    ],
)
def test_a_creatify_job_moves_through_its_documented_statuses(
    stage: str, status: str, index: int, percent: float
) -> None:
    p = progress(running(new_job(JOB_ID, ProviderName.CREATIFY), stage, status))

    assert (p.stage, p.stage_index, p.stage_count, p.provider_status, p.percent) == (
        stage,
        index,
        2,
        status,
        percent,
    )


def test_a_creatify_job_that_stops_after_its_image_has_one_stage() -> None:
    job = new_job(JOB_ID, ProviderName.CREATIFY, options={"stop_after": "image"})

    p = progress(running(job, "image", "image_generating"))

    assert (p.stage_index, p.stage_count, p.percent) == (1, 1, 47.5)


def test_a_continuation_to_video_has_only_the_video_stage() -> None:
    job = new_job(JOB_ID, ProviderName.CREATIFY)
    start = StartFrom(kind=StartKind.GEN_VIDEO, source_task_id="t", source_job_id="f" * 32)
    job = job.model_copy(update={"spec": job.spec.model_copy(update={"start_from": start})})

    p = progress(job)

    assert (p.stage, p.stage_index, p.stage_count) == ("video", 1, 1)


def test_a_prodvisual_job_processing_is_halfway() -> None:
    p = progress(running(new_job(JOB_ID), "generate", "processing"))

    assert (p.stage, p.stage_index, p.stage_count, p.percent) == ("generate", 1, 1, 47.5)


@pytest.mark.parametrize(
    ("status", "percent"),
    [(JobStatus.ARCHIVING, 95.0), (JobStatus.SUCCEEDED, 100.0), (JobStatus.FAILED, None)],
)
def test_the_end_of_a_job_sets_its_percent(status: JobStatus, percent: float | None) -> None:
    job = running(new_job(JOB_ID, ProviderName.JOGG), "video", "completed")
    if status is not JobStatus.FAILED:
        job = job.moved_to(JobStatus.ARCHIVING, now=START)
    job = job.moved_to(status, now=START)

    p = progress(job)

    assert (p.stage, p.stage_index, p.stage_count, p.percent, p.eta_seconds) == ("video", 2, 2, percent, None)
