"""Creatify over real HTTP: the adapter drives the sandbox through the documented flow.

Media is checked for real: the preview decodes as a JPEG of the aspect ratio's size, videos are
H.264 MP4s of the requested aspect ratio with a positive duration.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import av
import httpx
import pytest
from local.sandboxes.creatify import CreatifySandbox, CreatifySettings
from PIL import Image

from mediajobs.errors import ErrorKind, PermanentProviderError, RetryableProviderError
from mediajobs.providers.base import OutputKind, ProductInput, ProviderTask, StartRequest, TaskState
from mediajobs.providers.creatify import (
    AspectRatio,
    CreatifyAdapter,
    CreatifyOptions,
    GenImageRequest,
    GenVideoRequest,
    ProductToVideo,
    RegenImageRequest,
    RegenVideoRequest,
)
from mediajobs.providers.http import NO_RETRY
from tests.support.servers import Delivery, MediaHost, WebhookReceiver

FAST: dict[str, Any] = {
    "initializing_seconds": 0.1,
    "image_generating_seconds": 0.2,
    "video_generating_seconds": 0.2,
    "video_seconds": 1.0,
    "webhook_retry_seconds": 0.1,
}
AUTH = {"X-API-ID": "sandbox", "X-API-KEY": "sandbox-key"}

SandboxFactory = Callable[..., CreatifySandbox]
AdapterFactory = Callable[..., CreatifyAdapter]


@pytest.fixture
def make_sandbox() -> Iterator[SandboxFactory]:
    running = []

    def make(**overrides: Any) -> CreatifySandbox:
        sandbox = CreatifySandbox(CreatifySettings.model_validate(FAST | overrides))
        running.append(sandbox.serve())
        return sandbox

    yield make
    for server in running:
        server.stop()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[CreatifySandbox]:
    """One default sandbox for the tests that do not change its settings (stopping one costs ~0.5 s)."""
    shared = CreatifySandbox(CreatifySettings.model_validate(FAST))
    running = shared.serve()
    yield shared
    running.stop()


@pytest.fixture
def connect() -> Iterator[AdapterFactory]:
    adapters: list[CreatifyAdapter] = []

    def make(sandbox: CreatifySandbox, api_key: str = "sandbox-key") -> CreatifyAdapter:
        adapters.append(CreatifyAdapter(sandbox.base_url, "sandbox", api_key, retry=NO_RETRY))
        return adapters[-1]

    yield make
    for adapter in adapters:
        adapter.close()


@pytest.fixture
def adapter(sandbox: CreatifySandbox, connect: AdapterFactory) -> CreatifyAdapter:
    return connect(sandbox)


def wait_status(
    adapter: CreatifyAdapter, task_id: object, *statuses: str, timeout: float = 15
) -> ProductToVideo:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = adapter.get(str(task_id))
        if task.status in statuses:
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not reach {statuses}; last status {task.status}")


def wait_final(adapter: CreatifyAdapter, stage: str, task_id: str, timeout: float = 15) -> ProviderTask:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = adapter.fetch(stage, task_id)
        if task.state.final:
            return task
        time.sleep(0.05)
    raise AssertionError(f"{stage} task {task_id} did not finish; last state {task.state}")


def callback_for(receiver: WebhookReceiver, task_id: object, status: str) -> Delivery:
    def matches(delivery: Delivery) -> bool:
        body = json.loads(delivery.body)
        return bool(body["id"] == str(task_id) and body["status"] == status)

    deliveries = receiver.wait_for(lambda got: any(matches(d) for d in got), timeout=15)
    return next(d for d in deliveries if matches(d))


def download(url: str) -> bytes:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return response.content


def assert_jpeg(url: str, size: tuple[int, int]) -> None:
    image = Image.open(io.BytesIO(download(url)))
    assert image.format == "JPEG"
    assert image.size == size


def assert_h264(url: str, size: tuple[int, int]) -> None:
    with av.open(io.BytesIO(download(url)), mode="r") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == size
        assert container.duration is not None
        assert container.duration > 0


def start_request(image_url: str, options: CreatifyOptions, webhook_url: str | None = None) -> StartRequest:
    return StartRequest(product=ProductInput(image_url=image_url), options=options, webhook_url=webhook_url)


# -- the documented flow ----------------------------------------------------------------------------


def test_given_a_product_image_when_running_the_documented_flow_then_every_step_yields_real_media(
    adapter: CreatifyAdapter, media_host: MediaHost, webhook_receiver: WebhookReceiver
) -> None:
    hook = webhook_receiver.url("creatify/job-token")

    # Step 1: gen_image, callback on image_generated, re-fetch because Creatify signs nothing
    created = adapter.gen_image(GenImageRequest(product_url=media_host.url("product.jpg"), webhook_url=hook))
    assert created.status == "initializing"
    delivery = callback_for(webhook_receiver, created.id, "image_generated")
    notice = adapter.parse_webhook(delivery.headers, delivery.body)
    assert (notice.task_id, notice.task) == (str(created.id), None)
    original = adapter.get(notice.task_id)
    assert original.status == "image_generated"
    assert original.generated_photo_url is not None
    assert_jpeg(original.generated_photo_url, (960, 540))

    # Step 1.2: regen_image makes a new task pointing at its source
    regen = adapter.regen_image(original.id, RegenImageRequest(image_prompt="update image", webhook_url=hook))
    assert regen.id != original.id
    assert (regen.regen_source_id, regen.regen_type) == (str(original.id), "regen_image")
    callback_for(webhook_receiver, regen.id, "image_generated")
    regen = adapter.get(regen.id)
    assert regen.generated_photo_url is not None
    assert regen.generated_photo_url != original.generated_photo_url
    assert_jpeg(regen.generated_photo_url, (960, 540))

    # Step 2: gen_video on the regenerated task keeps its id and its preview
    video = adapter.gen_video(regen.id, GenVideoRequest(video_prompt="product example", webhook_url=hook))
    assert video.id == regen.id
    callback_for(webhook_receiver, regen.id, "video_generated")
    video = adapter.get(regen.id)
    assert video.generated_photo_url == regen.generated_photo_url
    assert video.generated_video_url is not None
    assert_h264(video.generated_video_url, (640, 360))

    # Step 2.2: regen_video makes another new task from that preview
    again = adapter.regen_video(video.id, RegenVideoRequest(video_prompt="", webhook_url=hook))
    assert again.id not in {original.id, regen.id}
    assert (again.regen_source_id, again.regen_type) == (str(regen.id), "regen_video")
    callback_for(webhook_receiver, again.id, "video_generated")
    again = adapter.get(again.id)
    assert again.generated_video_url is not None
    assert again.generated_video_url != video.generated_video_url
    assert_h264(again.generated_video_url, (640, 360))


def test_given_a_callback_when_received_then_its_body_is_the_full_task_in_the_guides_field_order(
    adapter: CreatifyAdapter, media_host: MediaHost, webhook_receiver: WebhookReceiver
) -> None:
    created = adapter.gen_image(
        GenImageRequest(product_url=media_host.url("product.png"), webhook_url=webhook_receiver.url())
    )

    body = json.loads(callback_for(webhook_receiver, created.id, "image_generated").body)

    assert list(body)[:5] == ["id", "type", "failed_reason", "regen_source_id", "regen_type"]
    assert ProductToVideo.model_validate(body).generated_photo_url is not None
    assert body["motion_style"] == ""


# -- the generic adapter path -----------------------------------------------------------------------


def test_given_a_portrait_job_when_started_fetched_and_advanced_then_preview_and_video_are_portrait(
    adapter: CreatifyAdapter, media_host: MediaHost
) -> None:
    request = start_request(
        media_host.url("product.webp"), CreatifyOptions(aspect_ratio=AspectRatio.PORTRAIT_9X16)
    )

    image = wait_final(adapter, "image", adapter.start(request).task_id)
    assert image.state is TaskState.COMPLETED
    video_task = adapter.advance(image, request)
    assert video_task is not None
    video = wait_final(adapter, "video", video_task.task_id)
    assert adapter.advance(video, request) is None

    assert video.state is TaskState.COMPLETED
    outputs = {output.kind: output.url for output in video.outputs}
    assert_jpeg(outputs[OutputKind.PREVIEW], (540, 960))
    assert_h264(outputs[OutputKind.VIDEO], (360, 640))


def test_given_stop_after_image_when_the_image_completes_then_the_job_ends_with_the_preview(
    adapter: CreatifyAdapter, media_host: MediaHost
) -> None:
    request = start_request(
        media_host.url("product.png"),
        CreatifyOptions(aspect_ratio=AspectRatio.SQUARE_1X1, stop_after="image"),
    )

    image = wait_final(adapter, "image", adapter.start(request).task_id)

    assert adapter.advance(image, request) is None
    assert [output.kind for output in image.outputs] == [OutputKind.PREVIEW]
    assert_jpeg(image.outputs[0].url, (720, 720))


def test_given_several_tasks_when_listed_by_ids_then_the_known_ones_come_back_in_one_request(
    adapter: CreatifyAdapter, sandbox: CreatifySandbox, media_host: MediaHost
) -> None:
    first = adapter.gen_image(GenImageRequest(product_url=media_host.url("product.png")))
    second = adapter.gen_image(
        GenImageRequest(product_url=media_host.url("product.jpg"), aspect_ratio=AspectRatio.SQUARE_1X1)
    )

    tasks = adapter.get_many([first.id, second.id, uuid4()])

    assert [task.id for task in tasks] == [first.id, second.id]
    assert [r.endpoint for r in sandbox.requests][-1] == "product_to_video_list"


def test_given_more_than_100_ids_when_listing_raw_then_the_sandbox_answers_a_drf_field_error(
    sandbox: CreatifySandbox,
) -> None:
    ids = ",".join(str(uuid4()) for _ in range(101))

    response = httpx.get(f"{sandbox.base_url}/api/product_to_videos/", params={"ids": ids}, headers=AUTH)

    assert response.status_code == 400
    assert response.json() == {"ids": ["Ensure this field has no more than 100 elements."]}


# -- callbacks ----------------------------------------------------------------------------------------


def test_given_repeated_callbacks_per_status_when_delivered_then_they_share_one_event_id(
    make_sandbox: SandboxFactory,
    media_host: MediaHost,
    webhook_receiver: WebhookReceiver,
    connect: AdapterFactory,
) -> None:
    sandbox = make_sandbox(callbacks_per_status=2)
    adapter = connect(sandbox)
    created = adapter.gen_image(
        GenImageRequest(product_url=media_host.url("product.png"), webhook_url=webhook_receiver.url())
    )

    deliveries = webhook_receiver.wait_for(lambda got: len(got) >= 2)

    notices = [adapter.parse_webhook(d.headers, d.body) for d in deliveries]
    assert {n.task_id for n in notices} == {str(created.id)}
    assert len({n.event_id for n in notices}) == 1


# -- sandbox behaviour: validation, auth, state rules -------------------------------------------------


def test_given_a_product_url_over_200_characters_when_posted_then_a_drf_field_error_is_returned(
    sandbox: CreatifySandbox,
) -> None:
    body = {"product_url": "https://shop.example/" + "p" * 200}

    response = httpx.post(f"{sandbox.base_url}/api/product_to_videos/gen_image/", json=body, headers=AUTH)

    assert response.status_code == 400
    assert response.json() == {"product_url": ["Ensure this field has no more than 200 characters."]}


def test_given_a_webhook_url_over_200_characters_when_posted_then_a_drf_field_error_is_returned(
    sandbox: CreatifySandbox,
) -> None:
    body = {"product_url": "https://shop.example/p.png", "webhook_url": "https://hook.example/" + "h" * 200}

    response = httpx.post(f"{sandbox.base_url}/api/product_to_videos/gen_image/", json=body, headers=AUTH)

    assert response.status_code == 400
    assert response.json() == {"webhook_url": ["Ensure this field has no more than 200 characters."]}


@pytest.mark.parametrize(
    ("field", "value"), [("aspect_ratio", "4x3"), ("type", "product_x"), ("motion_style", "run")]
)
def test_given_an_undocumented_enum_value_when_posted_then_a_drf_choice_error_is_returned(
    sandbox: CreatifySandbox, field: str, value: str
) -> None:
    body = {"product_url": "https://shop.example/p.png", field: value}

    response = httpx.post(f"{sandbox.base_url}/api/product_to_videos/gen_image/", json=body, headers=AUTH)

    assert response.status_code == 400
    assert response.json() == {field: [f'"{value}" is not a valid choice.']}


def test_given_a_product_url_that_is_not_a_url_when_submitted_then_the_adapter_raises_bad_request(
    adapter: CreatifyAdapter,
) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        adapter.gen_image(GenImageRequest(product_url="product.png"))

    assert (caught.value.kind, caught.value.http_status) == (ErrorKind.BAD_REQUEST, 400)
    assert caught.value.provider_message == "product_url: Enter a valid URL."


def test_given_no_credentials_when_calling_then_a_drf_401_is_returned(sandbox: CreatifySandbox) -> None:
    response = httpx.get(f"{sandbox.base_url}/api/product_to_videos/{uuid4()}/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_given_a_wrong_api_key_when_calling_then_the_adapter_raises_unauthorized(
    sandbox: CreatifySandbox, connect: AdapterFactory
) -> None:
    adapter = connect(sandbox, api_key="wrong-key")

    with pytest.raises(PermanentProviderError) as caught:
        adapter.get(str(uuid4()))

    assert caught.value.kind is ErrorKind.UNAUTHORIZED
    assert caught.value.provider_message == "Incorrect authentication credentials."


def test_given_an_unknown_task_when_fetching_then_the_adapter_raises_not_found(
    adapter: CreatifyAdapter,
) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        adapter.fetch("image", str(uuid4()))

    assert caught.value.kind is ErrorKind.NOT_FOUND


def test_given_an_image_still_generating_when_asking_for_its_video_then_a_400_is_returned(
    adapter: CreatifyAdapter, media_host: MediaHost
) -> None:
    created = adapter.gen_image(GenImageRequest(product_url=media_host.url("product.png")))

    with pytest.raises(PermanentProviderError) as caught:
        adapter.gen_video(created.id, GenVideoRequest())

    assert caught.value.kind is ErrorKind.BAD_REQUEST
    assert "image_generated" in caught.value.provider_message


def test_given_an_image_still_generating_when_regenerating_it_then_a_400_is_returned(
    adapter: CreatifyAdapter, media_host: MediaHost
) -> None:
    created = adapter.gen_image(GenImageRequest(product_url=media_host.url("product.png")))

    with pytest.raises(PermanentProviderError) as caught:
        adapter.regen_image(created.id, RegenImageRequest(image_prompt="brighter"))

    assert caught.value.kind is ErrorKind.BAD_REQUEST
    assert "regenerated" in caught.value.provider_message


def test_given_a_task_without_a_video_when_regenerating_its_video_then_a_400_is_returned(
    adapter: CreatifyAdapter, media_host: MediaHost
) -> None:
    created = adapter.gen_image(GenImageRequest(product_url=media_host.url("product.png")))
    wait_status(adapter, created.id, "image_generated")

    with pytest.raises(PermanentProviderError) as caught:
        adapter.regen_video(created.id, RegenVideoRequest())

    assert caught.value.kind is ErrorKind.BAD_REQUEST
    assert "video_generated" in caught.value.provider_message


@pytest.mark.parametrize(
    ("name", "reason_part"),
    [("not-an-image.txt", "not a decodable image"), ("missing.png", "HTTP 404")],
)
def test_given_a_product_url_that_is_not_a_usable_image_when_generating_then_the_task_fails_with_why(
    adapter: CreatifyAdapter, media_host: MediaHost, name: str, reason_part: str
) -> None:
    created = adapter.gen_image(GenImageRequest(product_url=media_host.url(name)))

    task = wait_final(adapter, "image", str(created.id))

    assert task.state is TaskState.FAILED
    assert task.error_message is not None
    assert "product_url" in task.error_message
    assert reason_part in task.error_message


# -- sandbox behaviour: expiry and fault knobs ----------------------------------------------------------


def test_given_a_short_output_ttl_when_it_passes_then_the_preview_url_answers_404(
    make_sandbox: SandboxFactory, media_host: MediaHost, connect: AdapterFactory
) -> None:
    sandbox = make_sandbox(output_ttl_seconds=0.6)
    adapter = connect(sandbox)
    created = adapter.gen_image(GenImageRequest(product_url=media_host.url("product.png")))
    url = wait_status(adapter, created.id, "image_generated").generated_photo_url
    assert url is not None
    assert httpx.get(url).status_code == 200

    time.sleep(0.7)

    assert httpx.get(url).status_code == 404


def test_given_server_errors_on_the_status_endpoint_when_fetching_then_a_retryable_error_is_raised(
    make_sandbox: SandboxFactory, connect: AdapterFactory
) -> None:
    sandbox = make_sandbox(faults={"endpoints": {"product_to_video_status": {"server_error": 1.0}}})
    adapter = connect(sandbox)

    with pytest.raises(RetryableProviderError) as caught:
        adapter.fetch("image", str(uuid4()))

    assert (caught.value.kind, caught.value.http_status) == (ErrorKind.SERVER_ERROR, 500)
    assert caught.value.provider_message == "Internal server error (injected fault)"


def test_given_every_job_fails_when_generating_the_image_then_a_failed_callback_carries_the_reason(
    make_sandbox: SandboxFactory,
    media_host: MediaHost,
    webhook_receiver: WebhookReceiver,
    connect: AdapterFactory,
) -> None:
    sandbox = make_sandbox(faults={"job_failure_rate": 1.0, "failed_reason": "Image model overloaded"})
    adapter = connect(sandbox)
    created = adapter.gen_image(
        GenImageRequest(product_url=media_host.url("product.png"), webhook_url=webhook_receiver.url())
    )

    body = json.loads(callback_for(webhook_receiver, created.id, "failed").body)
    task = adapter.fetch("image", str(created.id))

    assert body["failed_reason"] == "Image model overloaded"
    assert (task.state, task.error_message) == (TaskState.FAILED, "Image model overloaded")


def test_given_jobs_start_failing_after_the_image_when_generating_the_video_then_the_video_stage_fails(
    make_sandbox: SandboxFactory, connect: AdapterFactory, media_host: MediaHost
) -> None:
    sandbox = make_sandbox()
    adapter = connect(sandbox)
    created = adapter.gen_image(GenImageRequest(product_url=media_host.url("product.png")))
    image = wait_status(adapter, created.id, "image_generated")
    httpx.post(
        f"{sandbox.base_url}/_sandbox/config", json={"faults": {"job_failure_rate": 1.0}}
    ).raise_for_status()

    adapter.gen_video(created.id, GenVideoRequest())
    task = wait_final(adapter, "video", str(created.id))

    assert task.state is TaskState.FAILED
    assert task.error_message == sandbox.settings.faults.failed_reason
    assert adapter.get(created.id).generated_photo_url == image.generated_photo_url


def test_given_a_rate_limit_when_exceeded_then_the_adapter_raises_rate_limited_with_the_delay(
    make_sandbox: SandboxFactory, connect: AdapterFactory
) -> None:
    sandbox = make_sandbox(rate_limit_per_minute=2)
    adapter = connect(sandbox)
    for _ in range(2):
        with pytest.raises(PermanentProviderError):
            adapter.get(str(uuid4()))

    with pytest.raises(RetryableProviderError) as caught:
        adapter.get(str(uuid4()))

    assert (caught.value.kind, caught.value.http_status) == (ErrorKind.RATE_LIMITED, 429)
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 60
