"""CreatifyAdapter.start with start_from: regen_image, regen_video and gen_video on an earlier task."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mediajobs.errors import ErrorKind, PermanentProviderError
from mediajobs.providers.base import ProductInput, StartFrom, StartKind, StartRequest, TaskState
from mediajobs.providers.creatify import CreatifyAdapter, CreatifyOptions
from mediajobs.providers.http import NO_RETRY

BASE = "https://api.creatify.test"
SOURCE = "7e5e8a6f-d0d5-4736-b390-03e696ffc969"
NEW = "6754f806-59d6-4c22-85ce-6cc030d86b48"
HOOK = "https://hooks.example/creatify/tok"


def record(task_id: str, status: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": task_id,
        "product_url": "https://shop.example/p.png",
        "status": status,
        "created_at": "2025-05-30T04:11:05.449603-07:00",
        "updated_at": "2025-05-30T04:11:05.751592-07:00",
    } | fields


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: list[httpx.Response] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0)

    def reply(self, body: Any) -> None:
        self.answers.append(httpx.Response(200, json=body))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def adapter(recorder: Recorder) -> Iterator[CreatifyAdapter]:
    instance = CreatifyAdapter(BASE, "id", "key", retry=NO_RETRY, transport=httpx.MockTransport(recorder))
    yield instance
    instance.close()


def request(kind: StartKind, **options: Any) -> StartRequest:
    return StartRequest(
        product=ProductInput(image_url="https://shop.example/p.png"),
        options=CreatifyOptions(**options),
        webhook_url=HOOK,
        start_from=StartFrom(kind=kind, source_task_id=SOURCE, source_job_id="a" * 32),
    )


def test_given_regen_image_when_started_then_the_new_task_is_the_image_stage(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record(NEW, "initializing", regen_type="regen_image", regen_source_id=SOURCE))

    task = adapter.start(request(StartKind.REGEN_IMAGE, image_prompt="on marble", video_prompt="spin"))

    sent = recorder.requests[0]
    assert (sent.method, sent.url.path) == ("POST", f"/api/product_to_videos/{SOURCE}/regen_image/")
    assert json.loads(sent.content) == {"image_prompt": "on marble", "webhook_url": HOOK}
    assert (task.stage, task.task_id, task.state) == ("image", NEW, TaskState.PENDING)


def test_given_regen_video_when_started_then_the_new_task_is_the_video_stage(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record(NEW, "video_generating", regen_type="regen_video", regen_source_id=SOURCE))

    task = adapter.start(request(StartKind.REGEN_VIDEO, video_prompt="slow pan"))

    sent = recorder.requests[0]
    assert sent.url.path == f"/api/product_to_videos/{SOURCE}/regen_video/"
    assert json.loads(sent.content) == {"video_prompt": "slow pan", "webhook_url": HOOK}
    assert (task.stage, task.task_id, task.state) == ("video", NEW, TaskState.RUNNING)


def test_given_gen_video_when_started_then_the_source_task_moves_on_to_its_video(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record(SOURCE, "video_generating", generated_photo_url="https://cdn.example/p.jpg"))

    task = adapter.start(request(StartKind.GEN_VIDEO, video_prompt="turntable"))

    sent = recorder.requests[0]
    assert sent.url.path == f"/api/product_to_videos/{SOURCE}/gen_video/"
    assert json.loads(sent.content) == {"video_prompt": "turntable", "webhook_url": HOOK}
    assert (task.stage, task.task_id, task.state) == ("video", SOURCE, TaskState.RUNNING)


def test_given_a_regen_image_task_completed_when_advanced_then_its_video_is_made_on_the_new_id(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record(NEW, "image_generated", generated_photo_url="https://cdn.example/p2.jpg"))
    recorder.reply(record(NEW, "video_generating"))
    regen = request(StartKind.REGEN_IMAGE, image_prompt="on marble")
    image = adapter.start(regen)

    video = adapter.advance(image, regen)

    assert image.state is TaskState.COMPLETED
    assert recorder.requests[1].url.path == f"/api/product_to_videos/{NEW}/gen_video/"
    assert video is not None
    assert (video.stage, video.task_id) == ("video", NEW)


def test_given_a_stop_after_image_regeneration_when_its_image_completes_then_there_is_no_next_stage(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record(NEW, "image_generated", generated_photo_url="https://cdn.example/p2.jpg"))
    regen = request(StartKind.REGEN_IMAGE, image_prompt="on marble", stop_after="image")

    assert adapter.advance(adapter.start(regen), regen) is None
    assert len(recorder.requests) == 1


def test_given_a_render_start_when_started_then_it_is_refused_without_a_call(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    with pytest.raises(PermanentProviderError) as refused:
        adapter.start(request(StartKind.RENDER))

    assert refused.value.kind is ErrorKind.BAD_REQUEST
    assert refused.value.provider_code == "unsupported_start"
    assert recorder.requests == []
