"""Continue to video: the video of a succeeded Creatify job that stopped after its preview image."""

from __future__ import annotations

import pytest

from mediajobs.api.errors import ApiError, from_domain
from mediajobs.errors import DomainError
from mediajobs.jobs.models import Job, JobStatus
from mediajobs.jobs.requests import VideoRequest
from mediajobs.providers.base import ProviderName, StartFrom, StartKind
from tests.unit.actions.conftest import CREATIFY_TASK, PUBLIC, TENANT, SourceFactory, World, done

PREVIEW_ONLY = [done(ProviderName.CREATIFY, "image", CREATIFY_TASK, "image_generated")]


def continue_(world: World, source: Job, prompt: str | None = None) -> Job:
    request = VideoRequest(video_prompt=prompt) if prompt else None
    return world.actions.continue_to_video(TENANT, source.job_id, request, public_base_url=PUBLIC)


def refused(world: World, source: Job) -> ApiError:
    with pytest.raises(DomainError) as caught:
        continue_(world, source)
    return from_domain(caught.value)


@pytest.fixture
def preview_job(source: SourceFactory) -> Job:
    return source(
        ProviderName.CREATIFY, options={"stop_after": "image", "aspect_ratio": "1x1"}, tasks=PREVIEW_ONLY
    )


def test_given_a_preview_only_job_when_continued_then_gen_video_starts_on_its_image_task(
    world: World, preview_job: Job
) -> None:
    job = continue_(world, preview_job, "turntable")

    stored = world.store.get(job.job_id)
    assert stored.continued_from == preview_job.job_id
    assert stored.regenerated_from is None
    assert stored.spec.start_from == StartFrom(
        kind=StartKind.GEN_VIDEO, source_task_id=CREATIFY_TASK, source_job_id=preview_job.job_id
    )
    assert stored.spec.options == {
        "type": "product_anyshot",
        "aspect_ratio": "1x1",
        "video_prompt": "turntable",
        "stop_after": "video",
    }
    assert stored.timeline[0].detail == f"continued from {preview_job.job_id}"
    assert [s["name"] for s in world.sfn.started] == [job.job_id]


def test_given_a_continued_job_when_continued_again_then_409_names_the_first_continuation(
    world: World, preview_job: Job
) -> None:
    first = continue_(world, preview_job)

    error = refused(world, preview_job)

    assert (error.status, error.code) == (409, "already_continued")
    assert first.job_id in error.message
    assert len(world.sfn.started) == 1


def test_given_a_failed_continuation_when_continued_again_then_a_new_job_is_made(
    world: World, preview_job: Job
) -> None:
    first = continue_(world, preview_job)
    world.store.update(first.job_id, lambda j: j.model_copy(update={"status": JobStatus.FAILED}))

    second = continue_(world, preview_job)

    assert second.job_id != first.job_id
    assert second.continued_from == preview_job.job_id


def test_given_two_jobs_when_continued_then_their_continuation_ids_differ(
    world: World, source: SourceFactory
) -> None:
    one = source(
        ProviderName.CREATIFY, options={"stop_after": "image"}, tasks=PREVIEW_ONLY, callback_token="a" * 32
    )
    two = source(
        ProviderName.CREATIFY, options={"stop_after": "image"}, tasks=PREVIEW_ONLY, callback_token="b" * 32
    )

    assert continue_(world, one).job_id != continue_(world, two).job_id


@pytest.mark.parametrize(
    ("provider", "options"),
    [
        (ProviderName.CREATIFY, {"stop_after": "video"}),
        (ProviderName.PRODVISUAL, {"style": "lifestyle"}),
        (ProviderName.JOGG, {}),
    ],
)
def test_given_a_job_that_is_not_preview_only_creatify_when_continued_then_409(
    world: World, source: SourceFactory, provider: ProviderName, options: dict[str, str]
) -> None:
    error = refused(world, source(provider, options=options))

    assert (error.status, error.code) == (409, "not_continuable")
    assert world.sfn.started == []


def test_given_a_preview_only_job_still_running_when_continued_then_409(
    world: World, source: SourceFactory
) -> None:
    running = source(
        ProviderName.CREATIFY, options={"stop_after": "image"}, status=JobStatus.RUNNING, tasks=[]
    )

    error = refused(world, running)

    assert (error.status, error.code) == (409, "job_not_finished")
