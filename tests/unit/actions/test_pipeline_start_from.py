"""The pipeline runs a regenerated or continued job from the source's task, with the usual stage names."""

from __future__ import annotations

import pytest

from mediajobs.jobs.models import Job, JobStatus, ProductImage
from mediajobs.jobs.pipeline import JobPipeline, Step
from mediajobs.jobs.requests import RegenerateRequest, VideoRequest
from mediajobs.providers.base import OutputKind, OutputRef, ProviderName, ProviderTask, StartKind, TaskState
from tests.unit.actions.conftest import CREATIFY_TASK, PUBLIC, TENANT, SourceFactory, World, done
from tests.unit.jobs.fakes import FakeAdapters

NEW_TASK = "6754f806-59d6-4c22-85ce-6cc030d86b48"


@pytest.fixture
def adapters() -> FakeAdapters:
    return FakeAdapters()


@pytest.fixture
def intakes() -> list[str]:
    return []


@pytest.fixture
def pipeline(world: World, adapters: FakeAdapters, intakes: list[str]) -> JobPipeline:
    def intake(job: Job) -> ProductImage:
        intakes.append(job.job_id)
        raise AssertionError("a job that starts from a provider task must not fetch the product image")

    return JobPipeline(
        store=world.store,
        adapters=adapters,
        settings=world.actions.settings,
        clock=world.clock,
        intake=intake,
    )


def creatify(stage: str, task_id: str, state: TaskState, status: str) -> ProviderTask:
    outputs = (OutputRef(kind=OutputKind.PREVIEW, url="https://cdn.example/p.jpg"),)
    return ProviderTask(
        provider=ProviderName.CREATIFY,
        stage=stage,
        task_id=task_id,
        state=state,
        provider_status=status,
        outputs=outputs if state is TaskState.COMPLETED else (),
    )


def regenerate(world: World, source: Job, **body: str) -> Job:
    return world.actions.regenerate(TENANT, source.job_id, RegenerateRequest(**body), public_base_url=PUBLIC)  # type: ignore[arg-type]


def test_given_a_regenerated_job_when_submitted_then_the_adapter_starts_from_the_source_task_without_intake(
    world: World, source: SourceFactory, pipeline: JobPipeline, adapters: FakeAdapters, intakes: list[str]
) -> None:
    job = regenerate(world, source(ProviderName.CREATIFY), image_prompt="on marble")
    adapters[ProviderName.CREATIFY].on_start(creatify("image", NEW_TASK, TaskState.PENDING, "initializing"))

    step = pipeline.submit(job.job_id)

    assert step.next == "await"
    [(_, request)] = adapters[ProviderName.CREATIFY].calls
    assert request.start_from is not None
    assert (request.start_from.kind, request.start_from.source_task_id) == (
        StartKind.REGEN_IMAGE,
        CREATIFY_TASK,
    )
    assert request.options.image_prompt == "on marble"
    assert intakes == []
    stored = world.store.get(job.job_id)
    assert (stored.status, stored.stage) == (JobStatus.RUNNING, "image")


@pytest.mark.parametrize("case", [("video", "advance"), ("image", "archive")])
def test_given_a_regenerated_image_when_completed_then_its_video_follows_unless_the_job_stops_at_the_image(
    world: World, source: SourceFactory, pipeline: JobPipeline, adapters: FakeAdapters, case: tuple[str, str]
) -> None:
    stop_after, next_step = case
    tasks = [done(ProviderName.CREATIFY, "image", CREATIFY_TASK, "image_generated")]
    if stop_after == "video":
        tasks.append(done(ProviderName.CREATIFY, "video", CREATIFY_TASK, "video_generated"))
    original = source(ProviderName.CREATIFY, options={"stop_after": stop_after}, tasks=tasks)
    job = regenerate(world, original, image_prompt="on marble")
    adapters[ProviderName.CREATIFY].on_start(
        creatify("image", NEW_TASK, TaskState.COMPLETED, "image_generated")
    )

    assert pipeline.submit(job.job_id) == Step(next_step)


def test_given_a_continued_job_when_its_video_completes_then_it_is_archived(
    world: World, source: SourceFactory, pipeline: JobPipeline, adapters: FakeAdapters
) -> None:
    original = source(
        ProviderName.CREATIFY,
        options={"stop_after": "image"},
        tasks=[done(ProviderName.CREATIFY, "image", CREATIFY_TASK, "image_generated")],
    )
    job = world.actions.continue_to_video(TENANT, original.job_id, VideoRequest(), public_base_url=PUBLIC)
    adapters[ProviderName.CREATIFY].on_start(
        creatify("video", CREATIFY_TASK, TaskState.COMPLETED, "video_generated")
    )

    assert pipeline.submit(job.job_id) == Step("archive")
    [(_, request)] = adapters[ProviderName.CREATIFY].calls
    assert request.start_from.kind is StartKind.GEN_VIDEO


def test_given_a_jogg_re_render_when_its_video_completes_then_it_is_archived(
    world: World, source: SourceFactory, pipeline: JobPipeline, adapters: FakeAdapters
) -> None:
    job = regenerate(world, source(ProviderName.JOGG), script_style="Data")
    adapters[ProviderName.JOGG].on_start(
        ProviderTask(
            provider=ProviderName.JOGG,
            stage="video",
            task_id="vid-2",
            state=TaskState.COMPLETED,
            provider_status="completed",
            outputs=(OutputRef(kind=OutputKind.VIDEO, url="https://cdn.example/v.mp4"),),
        )
    )

    assert pipeline.submit(job.job_id) == Step("archive")
