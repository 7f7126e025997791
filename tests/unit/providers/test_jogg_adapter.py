"""JoggAdapter against a scripted JoggAI (httpx.MockTransport): the calls it makes and what it reads."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from mediajobs.errors import ErrorKind, PermanentProviderError
from mediajobs.providers.base import (
    OutputKind,
    ProductInput,
    ProviderName,
    ProviderTask,
    StartRequest,
    TaskState,
)
from mediajobs.providers.http import NO_RETRY
from mediajobs.providers.jogg import (
    AspectRatio,
    AvatarType,
    JoggAdapter,
    JoggOptions,
    ScriptStyle,
    VideoLength,
)

PRODUCT_ID = "NTIzMzc0NjI5"
VIDEO_ID = "OTg3NjU0MzIx"


@dataclass
class ScriptedJogg:
    """Answers by ``METHOD path``; records every request with its JSON body."""

    answers: dict[str, Callable[[httpx.Request], httpx.Response]] = field(default_factory=dict)
    seen: list[tuple[str, str, Any]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.seen.append((request.method, request.url.path, body))
        return self.answers[f"{request.method} {request.url.path}"](request)


def ok(data: Any = None) -> Callable[[httpx.Request], httpx.Response]:
    body: dict[str, Any] = {"code": 0, "msg": "Success"}
    if data is not None:
        body["data"] = data
    return lambda _request: httpx.Response(200, json=body)


def product_answer(**fields: Any) -> dict[str, Any]:
    return {"product_id": PRODUCT_ID, "url": "", "name": "", "description": "", "media": [], **fields}


def adapter_for(jogg: ScriptedJogg) -> JoggAdapter:
    return JoggAdapter(
        "https://api.jogg.test", "the-key", "secret", retry=NO_RETRY, transport=httpx.MockTransport(jogg)
    )


def request_for(product: ProductInput, options: JoggOptions | None = None) -> StartRequest:
    return StartRequest(product=product, options=options or JoggOptions(), webhook_url="https://hooks.test/j")


def completed_product() -> ProviderTask:
    return ProviderTask(
        provider=ProviderName.JOGG,
        stage="product",
        task_id=PRODUCT_ID,
        state=TaskState.COMPLETED,
        provider_status="created",
    )


# -- start: the product stage -------------------------------------------------------------------------


def test_given_a_page_url_only_when_started_then_one_product_is_created_from_the_url() -> None:
    jogg = ScriptedJogg({"POST /v2/product": ok(product_answer())})

    task = adapter_for(jogg).start(request_for(ProductInput(page_url="https://shop.test/p/1")))

    assert jogg.seen == [("POST", "/v2/product", {"url": "https://shop.test/p/1"})]
    assert task.stage == "product"
    assert task.task_id == PRODUCT_ID
    assert task.state is TaskState.COMPLETED


def test_given_a_page_url_with_details_when_started_then_the_product_is_updated_with_them() -> None:
    jogg = ScriptedJogg({"POST /v2/product": ok(product_answer()), "PUT /v2/product": ok()})
    product = ProductInput(
        page_url="https://shop.test/p/1",
        image_url="https://cdn.test/a.png",
        title="Aurora",
        description="Cold for 24 h",
        target_audience="hikers",
    )

    adapter_for(jogg).start(request_for(product))

    assert jogg.seen[1] == (
        "PUT",
        "/v2/product",
        {
            "product_id": PRODUCT_ID,
            "name": "Aurora",
            "description": "Cold for 24 h",
            "target_audience": "hikers",
        },
    )


def test_given_details_without_a_page_when_started_then_the_product_is_created_with_the_image_as_media() -> (
    None
):
    jogg = ScriptedJogg({"POST /v2/product": ok(product_answer())})
    product = ProductInput(image_url="https://cdn.test/shots/a.png", title="Aurora", description="Cold")

    adapter_for(jogg).start(request_for(product))

    assert jogg.seen == [
        (
            "POST",
            "/v2/product",
            {
                "name": "Aurora",
                "description": "Cold",
                "media": [{"type": 1, "url": "https://cdn.test/shots/a.png", "name": "a.png"}],
            },
        )
    ]


def test_given_neither_page_nor_title_when_started_then_it_fails_without_calling_jogg() -> None:
    jogg = ScriptedJogg()

    with pytest.raises(PermanentProviderError) as caught:
        adapter_for(jogg).start(request_for(ProductInput(image_url="https://cdn.test/a.png")))

    assert caught.value.kind is ErrorKind.BAD_REQUEST
    assert caught.value.provider_code == "missing_name"
    assert jogg.seen == []


def test_given_any_call_then_the_api_key_travels_in_x_api_key() -> None:
    keys: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("x-api-key"))
        return httpx.Response(200, json={"code": 0, "msg": "Success", "data": {"status": "pending"}})

    JoggAdapter("https://api.jogg.test", "the-key", "s", transport=httpx.MockTransport(answer)).fetch(
        "video", "v"
    )

    assert keys == ["the-key"]


# -- advance: the video stage ---------------------------------------------------------------------------


def test_given_a_completed_product_when_advanced_then_the_documented_video_body_is_sent() -> None:
    jogg = ScriptedJogg(
        {"POST /v2/create_video_from_product": ok({"video_id": VIDEO_ID, "status": "processing"})}
    )
    options = JoggOptions(
        aspect_ratio=AspectRatio.PORTRAIT,
        length=VideoLength.SECONDS_30,
        caption=True,
        video_name="Aurora launch",
        avatar_id=127,
        avatar_type=AvatarType.CUSTOM,
        voice_id="en-US-ChristopherNeural",
        music_id=13,
        script_style=ScriptStyle.TOP_3_REASONS,
        language="german",
        visual_style="Simple Product Switch",
        override_script="Buy it.",
    )

    task = adapter_for(jogg).advance(completed_product(), request_for(ProductInput(title="x"), options))

    assert jogg.seen[0][2] == {
        "product_id": PRODUCT_ID,
        "visual_style": "Simple Product Switch",
        "video_spec": {"aspect_ratio": "portrait", "length": "30", "caption": True, "name": "Aurora launch"},
        "avatar": {"id": 127, "type": 1},
        "voice": {"id": "en-US-ChristopherNeural"},
        "audio": {"music_id": 13},
        "script": {"style": "Top 3 reasons", "language": "german"},
        "override_script": "Buy it.",
        "webhook_url": "https://hooks.test/j",
    }
    assert task is not None
    assert (task.stage, task.task_id, task.state) == ("video", VIDEO_ID, TaskState.RUNNING)


def test_given_default_options_when_advanced_then_voice_and_audio_are_sent_empty() -> None:
    jogg = ScriptedJogg(
        {"POST /v2/create_video_from_product": ok({"video_id": VIDEO_ID, "status": "processing"})}
    )

    adapter_for(jogg).advance(completed_product(), request_for(ProductInput(title="x")))

    body = jogg.seen[0][2]
    assert body["voice"] == {}
    assert body["audio"] == {}
    assert body["video_spec"] == {"aspect_ratio": "landscape", "length": "15"}
    assert body["avatar"] == {"id": 1, "type": 0}
    assert body["script"] == {"style": "Storytime", "language": "english"}


def test_given_a_completed_video_when_advanced_then_there_is_no_next_stage() -> None:
    video = ProviderTask(
        provider=ProviderName.JOGG,
        stage="video",
        task_id=VIDEO_ID,
        state=TaskState.COMPLETED,
        provider_status="completed",
    )

    assert adapter_for(ScriptedJogg()).advance(video, request_for(ProductInput(title="x"))) is None


def test_given_a_product_task_not_completed_when_advanced_then_it_refuses() -> None:
    pending = completed_product().model_copy(update={"state": TaskState.PENDING})

    with pytest.raises(ValueError, match="cannot advance"):
        adapter_for(ScriptedJogg()).advance(pending, request_for(ProductInput(title="x")))


# -- fetch ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("pending", TaskState.PENDING),
        ("processing", TaskState.RUNNING),
    ],
)
def test_given_an_unfinished_video_when_fetched_then_its_state_is_normalized(
    status: str, state: TaskState
) -> None:
    jogg = ScriptedJogg(
        {
            f"GET /v2/product_video/{VIDEO_ID}": ok(
                {"title": "", "video_url": "", "cover_url": "", "status": status}
            )
        }
    )

    task = adapter_for(jogg).fetch("video", VIDEO_ID)

    assert task.state is state
    assert task.provider_status == status
    assert task.outputs == ()


def test_given_a_completed_video_when_fetched_then_video_cover_and_credits_are_read() -> None:
    data = {
        "title": "Aurora",
        "video_url": "https://cdn.jogg.test/v.mp4",
        "cover_url": "https://cdn.jogg.test/c.jpg",
        "status": "completed",
        "created_at": 1_700_000_000,
        "deducted_credit": 2,
    }
    jogg = ScriptedJogg({f"GET /v2/product_video/{VIDEO_ID}": ok(data)})

    task = adapter_for(jogg).fetch("video", VIDEO_ID)

    assert task.state is TaskState.COMPLETED
    assert [(o.kind, o.url) for o in task.outputs] == [
        (OutputKind.VIDEO, "https://cdn.jogg.test/v.mp4"),
        (OutputKind.COVER, "https://cdn.jogg.test/c.jpg"),
    ]
    assert task.credits_used == 2.0
    assert task.error_code is None


def test_given_a_failed_video_when_fetched_then_the_reason_is_kept() -> None:
    jogg = ScriptedJogg(
        {f"GET /v2/product_video/{VIDEO_ID}": ok({"status": "failed", "error_message": "avatar unavailable"})}
    )

    task = adapter_for(jogg).fetch("video", VIDEO_ID)

    assert task.state is TaskState.FAILED
    assert task.error_code == "generation_failed"
    assert task.error_message == "avatar unavailable"


def test_given_a_failed_video_without_a_reason_when_fetched_then_a_reason_is_still_given() -> None:
    jogg = ScriptedJogg({f"GET /v2/product_video/{VIDEO_ID}": ok({"status": "failed"})})

    task = adapter_for(jogg).fetch("video", VIDEO_ID)

    assert task.error_message
    assert "without a reason" in task.error_message


def test_given_a_completed_video_without_a_url_when_fetched_then_it_is_an_invalid_response() -> None:
    jogg = ScriptedJogg({f"GET /v2/product_video/{VIDEO_ID}": ok({"status": "completed", "video_url": ""})})

    with pytest.raises(PermanentProviderError) as caught:
        adapter_for(jogg).fetch("video", VIDEO_ID)

    assert caught.value.kind is ErrorKind.INVALID_RESPONSE


def test_given_a_product_id_when_fetched_then_the_product_is_completed_without_a_call() -> None:
    jogg = ScriptedJogg()

    task = adapter_for(jogg).fetch("product", PRODUCT_ID)

    assert task == completed_product()
    assert jogg.seen == []


def test_given_an_unknown_stage_when_fetched_then_it_refuses() -> None:
    with pytest.raises(ValueError, match="no stage"):
        adapter_for(ScriptedJogg()).fetch("image", "x")
