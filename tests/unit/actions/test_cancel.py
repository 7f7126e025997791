"""Cancel: the job becomes cancelled, its waiting execution resumes, a late result changes nothing."""

from __future__ import annotations

import io
from collections.abc import Callable

import httpx
import pytest
from PIL import Image

from mediajobs.api.errors import from_domain
from mediajobs.errors import DomainError
from mediajobs.fetching import UrlPolicy
from mediajobs.jobs.archiving import Archiver
from mediajobs.jobs.models import Job, JobStatus
from mediajobs.jobs.pipeline import FINISHED, JobPipeline
from mediajobs.jobs.provider_webhooks import Outcome, ProviderWebhooks
from mediajobs.providers.base import (
    OutputKind,
    OutputRef,
    ProviderName,
    ProviderTask,
    TaskState,
    WebhookNotice,
)
from tests.unit.actions.conftest import TENANT, SourceFactory, World
from tests.unit.jobs.fakes import FakeAdapters

OUTPUT_URL = "http://127.0.0.1:9/out.jpg"


def generating(provider_status: str = "processing", state: TaskState = TaskState.RUNNING) -> ProviderTask:
    outputs = (OutputRef(kind=OutputKind.IMAGE, url=OUTPUT_URL),) if state is TaskState.COMPLETED else ()
    return ProviderTask(
        provider=ProviderName.PRODVISUAL,
        stage="generate",
        task_id="gen_late",
        state=state,
        provider_status=provider_status,
        outputs=outputs,
    )


@pytest.fixture
def running(source: SourceFactory) -> Job:
    return source(ProviderName.PRODVISUAL, status=JobStatus.RUNNING, tasks=[generating()])


@pytest.fixture
def adapters() -> FakeAdapters:
    return FakeAdapters()


@pytest.fixture
def pipeline(world: World, adapters: FakeAdapters) -> JobPipeline:
    return JobPipeline(
        store=world.store, adapters=adapters, settings=world.actions.settings, clock=world.clock
    )


def cancel(world: World, job: Job) -> Job:
    return world.actions.cancel(TENANT, job.job_id)


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "JPEG")
    return buffer.getvalue()


def archiver(world: World, pipeline: JobPipeline, on_fetch: Callable[[], object] = lambda: None) -> Archiver:
    def serve(_request: httpx.Request) -> httpx.Response:
        on_fetch()
        return httpx.Response(200, content=jpeg(), headers={"content-type": "image/jpeg"})

    return Archiver(
        pipeline=pipeline,
        s3=world.s3,
        http=httpx.Client(transport=httpx.MockTransport(serve)),
        bucket=world.bucket,
        policy=UrlPolicy(allow_loopback=True),
        max_bytes=1024 * 1024,
    )


def stored_outputs(world: World, job_id: str) -> list[str]:
    listed = world.s3.list_objects_v2(Bucket=world.bucket, Prefix=f"outputs/{job_id}/")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_given_a_running_job_when_cancelled_then_it_is_cancelled_with_a_timeline_entry(
    world: World, running: Job
) -> None:
    job = cancel(world, running)

    stored = world.store.get(running.job_id)
    assert job.status is stored.status is JobStatus.CANCELLED
    assert stored.version == running.version + 1
    assert (stored.timeline[-1].status, stored.timeline[-1].detail) == (
        JobStatus.CANCELLED,
        "cancelled by the client",
    )


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_given_a_final_job_when_cancelled_then_409_and_nothing_changes(
    world: World, source: SourceFactory, status: JobStatus
) -> None:
    final = source(ProviderName.PRODVISUAL, status=status)

    with pytest.raises(DomainError) as caught:
        cancel(world, final)

    assert (from_domain(caught.value).status, from_domain(caught.value).code) == (409, "job_final")
    assert world.store.get(final.job_id) == final


def test_given_another_tenants_job_when_cancelled_then_404(world: World, source: SourceFactory) -> None:
    theirs = source(ProviderName.PRODVISUAL, status=JobStatus.RUNNING, tenant_id="tenant-b")

    with pytest.raises(DomainError) as caught:
        cancel(world, theirs)

    assert from_domain(caught.value).status == 404
    assert world.store.get(theirs.job_id).status is JobStatus.RUNNING


def test_given_an_execution_waiting_for_the_provider_when_cancelled_then_it_is_resumed_once(
    world: World, running: Job
) -> None:
    world.store.put_task_token(running.job_id, "token-1")

    cancel(world, running)

    assert world.sfn.resumed == [{"token": "token-1", "output": {"source": "cancel"}}]
    assert world.store.claim_task_token(running.job_id) is None


def test_given_no_waiting_execution_when_cancelled_then_nothing_is_resumed(
    world: World, running: Job
) -> None:
    cancel(world, running)

    assert world.sfn.resumed == []


def test_given_an_execution_that_no_longer_waits_when_cancelled_then_the_job_is_still_cancelled(
    world: World, running: Job
) -> None:
    world.store.put_task_token(running.job_id, "expired")
    world.sfn.fail_with = "TaskTimedOut"

    job = cancel(world, running)

    assert job.status is JobStatus.CANCELLED


def test_given_a_cancelled_job_when_the_state_machine_steps_run_then_they_finish_without_the_provider(
    world: World, running: Job, pipeline: JobPipeline, adapters: FakeAdapters
) -> None:
    cancel(world, running)

    steps = [
        pipeline.check(running.job_id, poll=True),
        pipeline.advance(running.job_id),
        pipeline.submit(running.job_id),
    ]

    assert steps == [FINISHED, FINISHED, FINISHED]
    assert adapters[ProviderName.PRODVISUAL].calls == []


def test_given_a_cancelled_job_when_the_providers_signed_result_arrives_then_it_is_ignored(
    world: World, running: Job, pipeline: JobPipeline, adapters: FakeAdapters
) -> None:
    cancel(world, running)
    late = generating("completed", TaskState.COMPLETED)
    adapters[ProviderName.PRODVISUAL].on_webhook(
        WebhookNotice(provider=ProviderName.PRODVISUAL, task_id=late.task_id, event_id="e1", task=late)
    )
    webhooks = ProviderWebhooks(pipeline=pipeline, adapters=adapters, sfn=world.sfn)  # type: ignore[arg-type]

    outcome = webhooks.receive_signed(ProviderName.PRODVISUAL, {}, b"{}")

    assert outcome is Outcome.IGNORED
    stored = world.store.get(running.job_id)
    assert stored.task == running.task
    assert world.sfn.resumed == []


def test_given_a_cancelled_job_when_the_archive_step_runs_then_nothing_is_copied(
    world: World, source: SourceFactory, pipeline: JobPipeline
) -> None:
    done = source(
        ProviderName.PRODVISUAL,
        status=JobStatus.RUNNING,
        tasks=[generating("completed", TaskState.COMPLETED)],
    )
    cancel(world, done)
    fetched: list[str] = []

    job = archiver(world, pipeline, on_fetch=lambda: fetched.append("x")).archive(done.job_id)

    assert job.status is JobStatus.CANCELLED
    assert fetched == []
    assert stored_outputs(world, done.job_id) == []


def test_given_a_job_cancelled_while_its_outputs_are_copied_then_the_copies_are_deleted(
    world: World, source: SourceFactory, pipeline: JobPipeline
) -> None:
    done = source(
        ProviderName.PRODVISUAL,
        status=JobStatus.RUNNING,
        tasks=[generating("completed", TaskState.COMPLETED)],
    )

    job = archiver(world, pipeline, on_fetch=lambda: cancel(world, done)).archive(done.job_id)

    assert job.status is JobStatus.CANCELLED
    assert world.store.get(done.job_id).outputs == []
    assert stored_outputs(world, done.job_id) == []


def test_given_a_job_not_cancelled_when_archived_then_its_output_is_kept(
    world: World, source: SourceFactory, pipeline: JobPipeline
) -> None:
    done = source(
        ProviderName.PRODVISUAL,
        status=JobStatus.RUNNING,
        tasks=[generating("completed", TaskState.COMPLETED)],
    )

    job = archiver(world, pipeline).archive(done.job_id)

    assert job.status is JobStatus.SUCCEEDED
    assert stored_outputs(world, done.job_id) == [f"outputs/{done.job_id}/image.jpg"]
