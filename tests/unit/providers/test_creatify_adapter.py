"""CreatifyAdapter without a network: requests it sends, states it reports, callbacks it accepts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from pydantic import BaseModel

from mediajobs.errors import ErrorKind, PermanentProviderError, WebhookVerificationError
from mediajobs.providers.base import (
    OutputKind,
    OutputRef,
    ProductInput,
    ProviderName,
    ProviderTask,
    StartRequest,
    TaskState,
)
from mediajobs.providers.creatify import (
    STATE_TABLE,
    AspectRatio,
    CreatifyAdapter,
    CreatifyOptions,
    ProductToVideoStatus,
    RegenImageRequest,
    RegenVideoRequest,
)
from mediajobs.providers.http import NO_RETRY

FIXTURES = Path(__file__).parents[2] / "fixtures" / "provider_docs" / "creatify"
BASE = "https://api.creatify.test"
TASK_ID = "7e5e8a6f-d0d5-4736-b390-03e696ffc969"
PHOTO = "https://cdn.example/p.jpg"
VIDEO = "https://cdn.example/v.mp4"
HOOK = "https://hooks.example/creatify/tok"


def record(status: str = "initializing", **fields: Any) -> dict[str, Any]:
    return {
        "id": TASK_ID,
        "type": "product_anyshot",
        "product_url": "https://shop.example/p.png",
        "aspect_ratio": "16x9",
        "motion_style": "",
        "status": status,
        "generated_video_url": None,
        "generated_photo_url": None,
        "created_at": "2025-05-30T04:11:05.449603-07:00",
        "updated_at": "2025-05-30T04:11:05.751592-07:00",
        "webhook_url": None,
        "failed_reason": None,
        "regen_type": None,
        "regen_source_id": None,
    } | fields


class Recorder:
    """A MockTransport that records requests and answers from a queue (or a fixed answer)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: list[httpx.Response] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        return self.answers.pop(0)

    def reply(self, body: Any, status: int = 200) -> None:
        self.answers.append(httpx.Response(status, json=body))

    @property
    def last_json(self) -> Any:
        return json.loads(self.requests[-1].content)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def adapter(recorder: Recorder) -> Iterator[CreatifyAdapter]:
    instance = CreatifyAdapter(
        BASE, "my-id", "my-key", retry=NO_RETRY, transport=httpx.MockTransport(recorder)
    )
    yield instance
    instance.close()


def start_request(
    options: BaseModel | None = None, image_url: str | None = "https://shop.example/p.png"
) -> StartRequest:
    return StartRequest(
        product=ProductInput(image_url=image_url), options=options or CreatifyOptions(), webhook_url=HOOK
    )


def completed(stage: str) -> ProviderTask:
    return ProviderTask(
        provider=ProviderName.CREATIFY,
        stage=stage,
        task_id=TASK_ID,
        state=TaskState.COMPLETED,
        provider_status="image_generated" if stage == "image" else "video_generated",
    )


# -- start ---------------------------------------------------------------------------------------


def test_given_credentials_when_calling_then_both_auth_headers_are_sent(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record())

    adapter.get(TASK_ID)

    sent = recorder.requests[0]
    assert (sent.headers["X-API-ID"], sent.headers["X-API-KEY"]) == ("my-id", "my-key")


def test_given_a_product_image_and_options_when_starting_then_gen_image_gets_them(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record())
    options = CreatifyOptions(
        aspect_ratio=AspectRatio.PORTRAIT_9X16, image_prompt="on a marble table", video_prompt="slow spin"
    )

    adapter.start(start_request(options))

    sent = recorder.requests[0]
    assert (sent.method, sent.url.path) == ("POST", "/api/product_to_videos/gen_image/")
    assert recorder.last_json == {
        "product_url": "https://shop.example/p.png",
        "webhook_url": HOOK,
        "type": "product_anyshot",
        "aspect_ratio": "9x16",
        "image_prompt": "on a marble table",
        "video_prompt": "slow spin",
    }


def test_given_gen_image_accepted_when_starting_then_the_image_stage_is_pending(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record("initializing"))

    task = adapter.start(start_request())

    assert (task.stage, task.task_id, task.state, task.provider_status) == (
        "image",
        TASK_ID,
        TaskState.PENDING,
        "initializing",
    )


def test_given_no_product_image_when_starting_then_a_bad_request_is_raised_without_calling(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        adapter.start(start_request(image_url=None))

    assert (caught.value.kind, caught.value.provider_code) == (
        ErrorKind.BAD_REQUEST,
        "product_image_required",
    )
    assert recorder.requests == []


def test_given_an_image_url_over_200_characters_when_starting_then_it_fails_before_any_request(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    long_url = "https://bucket.s3.amazonaws.com/p.png?X-Amz-Signature=" + "f" * 200

    with pytest.raises(PermanentProviderError) as caught:
        adapter.start(start_request(image_url=long_url))

    assert caught.value.kind is ErrorKind.BAD_REQUEST
    assert "product_url" in caught.value.provider_message
    assert recorder.requests == []


def test_given_options_of_another_provider_when_starting_then_they_are_rejected(
    adapter: CreatifyAdapter,
) -> None:
    class OtherOptions(BaseModel):
        style: str = "studio"

    with pytest.raises(PermanentProviderError) as caught:
        adapter.start(start_request(OtherOptions()))

    assert caught.value.provider_code == "invalid_options"


# -- fetch -----------------------------------------------------------------------------------------

EXPECTED_STATES = {
    ("image", "initializing"): TaskState.PENDING,
    ("image", "image_generating"): TaskState.RUNNING,
    ("image", "image_generated"): TaskState.COMPLETED,
    ("image", "video_generating"): TaskState.COMPLETED,
    ("image", "video_generated"): TaskState.COMPLETED,
    ("image", "failed"): TaskState.FAILED,
    ("video", "initializing"): TaskState.PENDING,
    ("video", "image_generating"): TaskState.RUNNING,
    ("video", "image_generated"): TaskState.PENDING,
    ("video", "video_generating"): TaskState.RUNNING,
    ("video", "video_generated"): TaskState.COMPLETED,
    ("video", "failed"): TaskState.FAILED,
}


def test_given_the_state_table_then_it_covers_every_status_in_both_stages() -> None:
    covered = {(stage, status.value) for stage, table in STATE_TABLE.items() for status in table}

    assert covered == set(EXPECTED_STATES)
    assert {status.value for status in ProductToVideoStatus} == {status for _, status in EXPECTED_STATES}


@pytest.mark.parametrize(("stage", "status"), EXPECTED_STATES)
def test_given_a_creatify_status_when_fetching_a_stage_then_it_maps_to_the_expected_state(
    adapter: CreatifyAdapter, recorder: Recorder, stage: str, status: str
) -> None:
    recorder.reply(record(status, generated_photo_url=PHOTO, generated_video_url=VIDEO))

    task = adapter.fetch(stage, TASK_ID)

    assert task.state is EXPECTED_STATES[(stage, status)]
    assert task.provider_status == status
    assert recorder.requests[0].url.path == f"/api/product_to_videos/{TASK_ID}/"


def test_given_a_generated_image_when_fetching_the_image_stage_then_the_preview_is_its_output(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record("image_generated", generated_photo_url=PHOTO))

    task = adapter.fetch("image", TASK_ID)

    assert task.outputs == (OutputRef(kind=OutputKind.PREVIEW, url=PHOTO),)


def test_given_a_generated_video_when_fetching_the_video_stage_then_preview_and_video_are_outputs(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record("video_generated", generated_photo_url=PHOTO, generated_video_url=VIDEO))

    task = adapter.fetch("video", TASK_ID)

    assert task.outputs == (
        OutputRef(kind=OutputKind.PREVIEW, url=PHOTO),
        OutputRef(kind=OutputKind.VIDEO, url=VIDEO),
    )


def test_given_a_running_video_when_fetching_then_no_outputs_are_reported_yet(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record("video_generating", generated_photo_url=PHOTO))

    task = adapter.fetch("video", TASK_ID)

    assert task.outputs == ()


def test_given_video_generated_without_a_video_url_when_fetching_then_the_stage_is_still_running(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    # exactly the guide's regen_video callback body
    recorder.reply(json.loads((FIXTURES / "guide-callback-regen-video-generated.json").read_text()))

    task = adapter.fetch("video", "6754f806-59d6-4c22-85ce-6cc030d86b49")

    assert (task.state, task.outputs) == (TaskState.RUNNING, ())


def test_given_a_failed_task_when_fetching_then_the_failed_reason_is_the_error_message(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record("failed", failed_reason="The product image could not be recognised"))

    task = adapter.fetch("image", TASK_ID)

    assert (task.state, task.error_code, task.error_message) == (
        TaskState.FAILED,
        "failed",
        "The product image could not be recognised",
    )


def test_given_a_failed_task_without_a_reason_when_fetching_then_a_generic_message_is_given(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record("failed"))

    task = adapter.fetch("video", TASK_ID)

    assert task.error_message == "Creatify reported the task as failed"


def test_given_an_unknown_stage_when_fetching_then_it_is_refused(adapter: CreatifyAdapter) -> None:
    with pytest.raises(ValueError, match="stage"):
        adapter.fetch("render", TASK_ID)


def test_given_a_task_id_that_is_not_a_uuid_when_fetching_then_no_request_is_sent(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        adapter.fetch("image", "../gen_image")

    assert caught.value.provider_code == "invalid_task_id"
    assert recorder.requests == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html>ok</html>", id="not-json"),
        pytest.param(json.dumps(record("queued")).encode(), id="unknown-status"),
    ],
)
def test_given_an_unreadable_success_body_when_fetching_then_invalid_response_is_raised(
    adapter: CreatifyAdapter, recorder: Recorder, body: bytes
) -> None:
    recorder.answers.append(httpx.Response(200, content=body))

    with pytest.raises(PermanentProviderError) as caught:
        adapter.fetch("image", TASK_ID)

    assert caught.value.kind is ErrorKind.INVALID_RESPONSE


# -- advance ---------------------------------------------------------------------------------------


def test_given_a_completed_image_when_advancing_then_gen_video_runs_on_the_same_task(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record("video_generating", generated_photo_url=PHOTO))

    task = adapter.advance(completed("image"), start_request(CreatifyOptions(video_prompt="slow spin")))

    assert task is not None
    assert (task.stage, task.task_id, task.state) == ("video", TASK_ID, TaskState.RUNNING)
    assert recorder.requests[0].url.path == f"/api/product_to_videos/{TASK_ID}/gen_video/"
    assert recorder.last_json == {"video_prompt": "slow spin", "webhook_url": HOOK}


def test_given_gen_video_answers_image_generated_when_advancing_then_the_video_stage_is_pending(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(record("image_generated", generated_photo_url=PHOTO))

    task = adapter.advance(completed("image"), start_request())

    assert task is not None
    assert (task.state, task.outputs) == (TaskState.PENDING, ())


def test_given_stop_after_image_when_advancing_from_the_image_then_the_job_is_done(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    result = adapter.advance(completed("image"), start_request(CreatifyOptions(stop_after="image")))

    assert result is None
    assert recorder.requests == []


def test_given_a_completed_video_when_advancing_then_the_job_is_done(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    assert adapter.advance(completed("video"), start_request()) is None
    assert recorder.requests == []


def test_given_an_unfinished_task_when_advancing_then_it_is_refused(adapter: CreatifyAdapter) -> None:
    running = completed("image").model_copy(update={"state": TaskState.RUNNING})

    with pytest.raises(ValueError, match="running"):
        adapter.advance(running, start_request())


# -- low-level endpoints ---------------------------------------------------------------------------


def test_given_several_ids_when_getting_many_then_one_comma_separated_ids_query_is_sent(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    other = str(uuid4())
    recorder.reply([record("image_generated"), record("initializing", id=other)])

    tasks = adapter.get_many([TASK_ID, other])

    sent = recorder.requests[0]
    assert sent.url.path == "/api/product_to_videos/"
    assert sent.url.params["ids"] == f"{TASK_ID},{other}"
    assert [str(task.id) for task in tasks] == [TASK_ID, other]


def test_given_a_paginated_list_answer_when_getting_many_then_its_results_are_read(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply({"count": 1, "next": None, "previous": None, "results": [record("failed")]})

    tasks = adapter.get_many([TASK_ID])

    assert [task.status for task in tasks] == [ProductToVideoStatus.FAILED]


@pytest.mark.parametrize("count", [0, 101])
def test_given_no_ids_or_more_than_100_when_getting_many_then_it_is_refused_locally(
    adapter: CreatifyAdapter, recorder: Recorder, count: int
) -> None:
    with pytest.raises(ValueError, match="1 to 100"):
        adapter.get_many([str(uuid4()) for _ in range(count)])
    assert recorder.requests == []


def test_given_a_task_when_regenerating_its_image_then_the_new_task_is_returned(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    new_id = str(uuid4())
    recorder.reply(record("initializing", id=new_id, regen_type="regen_image", regen_source_id=TASK_ID))

    task = adapter.regen_image(TASK_ID, RegenImageRequest(image_prompt="update image", webhook_url=HOOK))

    assert recorder.requests[0].url.path == f"/api/product_to_videos/{TASK_ID}/regen_image/"
    assert recorder.last_json == {"image_prompt": "update image", "webhook_url": HOOK}
    assert (str(task.id), task.regen_source_id, task.regen_type) == (new_id, TASK_ID, "regen_image")


def test_given_a_task_when_regenerating_its_video_then_an_empty_prompt_is_sent_as_documented(
    adapter: CreatifyAdapter, recorder: Recorder
) -> None:
    recorder.reply(
        record("video_generating", id=str(uuid4()), regen_type="regen_video", regen_source_id=TASK_ID)
    )

    adapter.regen_video(TASK_ID, RegenVideoRequest(video_prompt="", webhook_url=HOOK))

    assert recorder.requests[0].url.path == f"/api/product_to_videos/{TASK_ID}/regen_video/"
    assert recorder.last_json == {"video_prompt": "", "webhook_url": HOOK}


# -- webhooks ----------------------------------------------------------------------------------------

CALLBACKS = sorted(path.name for path in FIXTURES.glob("guide-callback-*.json"))


@pytest.mark.parametrize("name", CALLBACKS)
def test_given_a_documented_callback_when_parsed_then_it_asks_for_a_refetch_of_its_task(
    adapter: CreatifyAdapter, name: str
) -> None:
    body = (FIXTURES / name).read_bytes()

    notice = adapter.parse_webhook({"content-type": "application/json"}, body)

    assert notice.provider is ProviderName.CREATIFY
    assert notice.task_id == json.loads(body)["id"]
    assert notice.task is None
    assert notice.event_id == hashlib.sha256(body).hexdigest()


def test_given_the_same_callback_twice_when_parsed_then_both_have_the_same_event_id(
    adapter: CreatifyAdapter,
) -> None:
    body = json.dumps(record("image_generated", generated_photo_url=PHOTO)).encode()

    first, second = adapter.parse_webhook({}, body), adapter.parse_webhook({}, body)

    assert first.event_id == second.event_id


def test_given_two_status_changes_of_one_task_when_parsed_then_their_event_ids_differ(
    adapter: CreatifyAdapter,
) -> None:
    image = adapter.parse_webhook({}, json.dumps(record("image_generated")).encode())
    video = adapter.parse_webhook({}, json.dumps(record("video_generated")).encode())

    assert image.task_id == video.task_id
    assert image.event_id != video.event_id


def test_given_a_callback_with_a_status_we_do_not_know_when_parsed_then_the_hint_is_kept(
    adapter: CreatifyAdapter,
) -> None:
    notice = adapter.parse_webhook({}, json.dumps(record("video_uploading")).encode())

    assert notice.task_id == TASK_ID


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"status=image_generated", id="not-json"),
        pytest.param(b'["7e5e8a6f-d0d5-4736-b390-03e696ffc969"]', id="not-an-object"),
        pytest.param(b'{"status": "image_generated"}', id="no-id"),
        pytest.param(b'{"id": "<string>", "status": "image_generated"}', id="id-not-a-uuid"),
        pytest.param(b'{"id": null}', id="null-id"),
    ],
)
def test_given_a_malformed_callback_when_parsed_then_it_is_rejected(
    adapter: CreatifyAdapter, body: bytes
) -> None:
    with pytest.raises(WebhookVerificationError):
        adapter.parse_webhook({}, body)
