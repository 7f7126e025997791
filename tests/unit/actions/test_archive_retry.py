"""The archive step run again after a failure: what an earlier attempt stored is not copied twice."""

from __future__ import annotations

import io
import random
from collections import Counter
from typing import Any

import httpx
import pytest
from PIL import Image

from mediajobs.archive import ArchiveError
from mediajobs.fetching import UrlPolicy
from mediajobs.jobs.archiving import Archiver
from mediajobs.jobs.models import Job, JobStatus
from mediajobs.jobs.pipeline import JobPipeline
from mediajobs.providers.base import OutputKind, OutputRef, ProviderName, ProviderTask, TaskState
from tests.unit.actions.conftest import SourceFactory, World
from tests.unit.jobs.fakes import FakeAdapters

IMAGE_URL = "http://127.0.0.1:9/out.jpg"
VIDEO_URL = "http://127.0.0.1:9/out.mp4"
VIDEO = random.Random(5).randbytes(12 * 1024 * 1024)  # two 8 MiB parts


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), "blue").save(buffer, "JPEG")
    return buffer.getvalue()


class Provider:
    """Serves the job's two outputs; the video answers 503 while ``video_down`` is set."""

    def __init__(self) -> None:
        self.fetched: Counter[str] = Counter()
        self.video_down = True
        self.image = jpeg()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.fetched[request.url.path] += 1
        if request.url.path == "/out.jpg":
            return httpx.Response(200, content=self.image, headers={"content-type": "image/jpeg"})
        if self.video_down:
            return httpx.Response(503, content=b"busy")
        return httpx.Response(200, content=VIDEO, headers={"content-type": "application/octet-stream"})


@pytest.fixture
def pipeline(world: World) -> JobPipeline:
    return JobPipeline(
        store=world.store, adapters=FakeAdapters(), settings=world.actions.settings, clock=world.clock
    )


@pytest.fixture
def finished(source: SourceFactory) -> Job:
    task = ProviderTask(
        provider=ProviderName.PRODVISUAL,
        stage="generate",
        task_id="gen_1",
        state=TaskState.COMPLETED,
        provider_status="completed",
        outputs=(
            OutputRef(kind=OutputKind.IMAGE, url=IMAGE_URL),
            OutputRef(kind=OutputKind.VIDEO, url=VIDEO_URL),
        ),
    )
    return source(ProviderName.PRODVISUAL, status=JobStatus.RUNNING, tasks=[task])


def s3_writes(world: World) -> Counter[str]:
    counts: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counts[model.name] += 1

    world.s3.meta.events.register("provide-client-params.s3.*", count)
    return counts


def test_given_an_archive_step_that_failed_on_its_second_output_when_retried_then_the_first_is_not_copied(
    world: World, pipeline: JobPipeline, finished: Job
) -> None:
    # Given an archive step whose image went into S3 before the video's download failed
    provider = Provider()
    archiver = Archiver(
        pipeline=pipeline,
        s3=world.s3,
        http=httpx.Client(transport=httpx.MockTransport(provider)),
        bucket=world.bucket,
        policy=UrlPolicy(allow_loopback=True),
        max_bytes=64 * 1024 * 1024,
    )
    with pytest.raises(ArchiveError, match="video"):
        archiver.archive(finished.job_id)
    recorded = world.store.get(finished.job_id)
    assert recorded.status is JobStatus.ARCHIVING
    assert [o.kind for o in recorded.archived] == [OutputKind.IMAGE]
    assert recorded.outputs == []

    # When the step runs again with the video back
    provider.video_down = False
    writes = s3_writes(world)
    job = archiver.archive(finished.job_id)

    # Then the image was neither downloaded nor written again, the video was, and the job has both
    assert provider.fetched == Counter({"/out.jpg": 1, "/out.mp4": 2})
    assert writes["PutObject"] == 0
    assert writes["UploadPart"] == 2
    assert job.status is JobStatus.SUCCEEDED
    assert [(o.kind, o.bytes) for o in job.outputs] == [
        (OutputKind.IMAGE, len(provider.image)),
        (OutputKind.VIDEO, len(VIDEO)),
    ]
    assert job.archived == []
    video_key = job.outputs[1].s3_key
    assert world.s3.get_object(Bucket=world.bucket, Key=video_key)["Body"].read() == VIDEO


def test_given_a_recorded_output_whose_object_is_gone_when_retried_then_it_is_copied_again(
    world: World, pipeline: JobPipeline, finished: Job
) -> None:
    # Given a first attempt that stored the image, then lost the object, and failed on the video
    provider = Provider()
    archiver = Archiver(
        pipeline=pipeline,
        s3=world.s3,
        http=httpx.Client(transport=httpx.MockTransport(provider)),
        bucket=world.bucket,
        policy=UrlPolicy(allow_loopback=True),
        max_bytes=64 * 1024 * 1024,
    )
    with pytest.raises(ArchiveError):
        archiver.archive(finished.job_id)
    image_key = world.store.get(finished.job_id).archived[0].s3_key
    world.s3.delete_object(Bucket=world.bucket, Key=image_key)

    # When the step runs again
    provider.video_down = False
    job = archiver.archive(finished.job_id)

    # Then the image was fetched and stored again
    assert provider.fetched["/out.jpg"] == 2
    assert job.status is JobStatus.SUCCEEDED
    assert world.s3.get_object(Bucket=world.bucket, Key=image_key)["Body"].read() == provider.image
