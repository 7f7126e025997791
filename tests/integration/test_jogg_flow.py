"""JoggAI end to end over loopback: JoggAdapter against the JoggAI sandbox, webhooks, real media."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import av
import httpx
import pytest
from local.sandboxes.common import EndpointFaults, Faults, RunningServer
from local.sandboxes.jogg import JoggSandbox, JoggSettings
from PIL import Image

from mediajobs.errors import ErrorKind, PermanentProviderError, ProviderError, RetryableProviderError
from mediajobs.providers.base import OutputKind, ProductInput, ProviderTask, StartRequest, TaskState
from mediajobs.providers.http import NO_RETRY
from mediajobs.providers.jogg import (
    AspectRatio,
    AudioConfig,
    AvatarConfig,
    CreateProductRequest,
    CreateVideoFromProductRequest,
    JoggAdapter,
    JoggOptions,
    MediaType,
    ProductMediaInput,
    ScriptConfig,
    ScriptStyle,
    UpdateProductRequest,
    VideoLength,
    VideoSpec,
    VoiceConfig,
)
from tests.support.servers import Delivery, MediaHost, WebhookReceiver

SCALE = 0.1
FAST = {"pending_seconds": 0.2, "processing_seconds": 0.3, "length_scale": SCALE}


@dataclass
class Jogg:
    sandbox: JoggSandbox
    running: RunningServer
    adapter: JoggAdapter

    def configure(self, **settings: Any) -> None:
        answer = httpx.post(f"{self.running.base_url}/_sandbox/config", json=settings)
        answer.raise_for_status()

    def raw(self, method: str, path: str, body: Any = None, key: str = "sandbox-key") -> dict[str, Any]:
        answer = httpx.request(
            method, f"{self.running.base_url}{path}", json=body, headers={"x-api-key": key}
        )
        assert answer.status_code == 200
        result: dict[str, Any] = answer.json()
        return result


def start_jogg(**settings: Any) -> Jogg:
    sandbox = JoggSandbox(JoggSettings.model_validate(FAST | settings))
    running = sandbox.serve()
    adapter = JoggAdapter(running.base_url, "sandbox-key", "sandbox-webhook-secret", retry=NO_RETRY)
    return Jogg(sandbox, running, adapter)


def stop_jogg(jogg: Jogg) -> None:
    jogg.adapter.close()
    jogg.running.stop()


@pytest.fixture
def jogg() -> Iterator[Jogg]:
    """A sandbox of its own, for tests that run jobs or change settings."""
    started = start_jogg()
    yield started
    stop_jogg(started)


@pytest.fixture(scope="module")
def shared() -> Iterator[Jogg]:
    """One sandbox for the tests that only send requests and read the answers."""
    started = start_jogg()
    yield started
    stop_jogg(started)


def video_request(product_id: str, **spec: Any) -> CreateVideoFromProductRequest:
    webhook_url = spec.pop("webhook_url", None)
    return CreateVideoFromProductRequest(
        product_id=product_id,
        video_spec=VideoSpec(**({"length": VideoLength.SECONDS_15} | spec)),
        avatar=AvatarConfig(id=1),
        voice=VoiceConfig(),
        audio=AudioConfig(),
        script=ScriptConfig(style=ScriptStyle.DISCOVERY, language="english"),
        webhook_url=webhook_url,
    )


def wait_final(adapter: JoggAdapter, video_id: str, timeout: float = 15.0) -> ProviderTask:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = adapter.fetch("video", video_id)
        if task.state.final:
            return task
        time.sleep(0.05)
    raise AssertionError(f"video {video_id} did not finish in {timeout}s")


def output(task: ProviderTask, kind: OutputKind) -> str:
    return next(o.url for o in task.outputs if o.kind is kind)


def video_facts(data: bytes) -> tuple[str, int, int, float]:
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        duration = float(container.duration or 0) / 1_000_000
        return stream.codec_context.name, stream.width, stream.height, duration


def image_of(url: str) -> Image.Image:
    answer = httpx.get(url)
    assert answer.status_code == 200
    image = Image.open(io.BytesIO(answer.content))
    image.load()
    return image


def signed_deliveries(receiver: WebhookReceiver, count: int = 1) -> list[Delivery]:
    return receiver.wait_for(lambda got: len(got) >= count, timeout=15)


# -- the documented flow ------------------------------------------------------------------------------


def test_given_a_product_page_when_the_whole_flow_runs_then_a_portrait_video_and_cover_are_delivered(
    jogg: Jogg, media_host: MediaHost, webhook_receiver: WebhookReceiver
) -> None:
    product = jogg.adapter.create_product(CreateProductRequest(url=media_host.url("page.html")))
    assert product.name == "Aurora Water Bottle"
    assert product.description == "A 750 ml insulated bottle, cold for 24 hours."
    assert product.media is not None
    assert product.media[0].url == media_host.url("product.jpg")
    assert product.media[0].type == 1

    jogg.adapter.update_product(
        UpdateProductRequest(product_id=product.product_id, name="Aurora Bottle 2", target_audience="hikers")
    )
    created = jogg.adapter.create_video(
        video_request(
            product.product_id, aspect_ratio=AspectRatio.PORTRAIT, webhook_url=webhook_receiver.url("jogg")
        )
    )
    assert created.status.value == "processing"

    delivery = signed_deliveries(webhook_receiver)[0]
    notice = jogg.adapter.parse_webhook(delivery.headers, delivery.body)
    assert notice.task_id == created.video_id
    assert notice.task is not None
    assert notice.task.state is TaskState.COMPLETED
    assert json.loads(delivery.body)["event"] == "generated_product_video_success"

    fetched = jogg.adapter.fetch("video", created.video_id)
    assert fetched.state is TaskState.COMPLETED
    assert fetched.credits_used == 1.0
    assert jogg.adapter.get_product_video(created.video_id).title == "Aurora Bottle 2"

    video = httpx.get(output(fetched, OutputKind.VIDEO))
    assert video.headers["content-type"] == "video/mp4"
    codec, width, height, duration = video_facts(video.content)
    assert (codec, width, height) == ("h264", 360, 640)
    assert duration == pytest.approx(15 * SCALE, abs=0.3)

    cover = image_of(output(fetched, OutputKind.COVER))
    assert (cover.format, cover.size) == ("JPEG", (360, 640))


def test_given_a_page_and_a_title_when_started_and_advanced_then_a_square_30_second_class_video_is_made(
    jogg: Jogg, media_host: MediaHost, webhook_receiver: WebhookReceiver
) -> None:
    request = StartRequest(
        product=ProductInput(
            page_url=media_host.url("page.html"), title="Aurora Max", target_audience="runners"
        ),
        options=JoggOptions(aspect_ratio=AspectRatio.SQUARE, length=VideoLength.SECONDS_30),
        webhook_url=webhook_receiver.url("jogg"),
    )

    product_task = jogg.adapter.start(request)
    assert product_task.state is TaskState.COMPLETED
    assert jogg.sandbox.products[product_task.task_id].name == "Aurora Max"
    assert jogg.sandbox.products[product_task.task_id].target_audience == "runners"

    video_task = jogg.adapter.advance(jogg.adapter.fetch("product", product_task.task_id), request)
    assert video_task is not None
    assert video_task.stage == "video"

    final = wait_final(jogg.adapter, video_task.task_id)
    assert final.state is TaskState.COMPLETED
    assert final.credits_used == 2.0
    assert jogg.adapter.advance(final, request) is None
    codec, width, height, duration = video_facts(httpx.get(output(final, OutputKind.VIDEO)).content)
    assert (codec, width, height) == ("h264", 480, 480)
    assert duration == pytest.approx(30 * SCALE, abs=0.3)


def test_given_only_details_and_an_image_when_started_then_the_video_is_made_from_that_image(
    jogg: Jogg, media_host: MediaHost
) -> None:
    request = StartRequest(
        product=ProductInput(image_url=media_host.url("product.png"), title="Bottle", description="Blue"),
        options=JoggOptions(),
    )

    product_task = jogg.adapter.start(request)
    stored = jogg.sandbox.products[product_task.task_id]
    assert (stored.url, stored.name) == (None, "Bottle")
    assert stored.media[0]["url"] == media_host.url("product.png")

    video_task = jogg.adapter.advance(product_task, request)
    assert video_task is not None
    final = wait_final(jogg.adapter, video_task.task_id)
    codec, width, height, duration = video_facts(httpx.get(output(final, OutputKind.VIDEO)).content)
    assert (codec, width, height) == ("h264", 640, 360)
    assert duration > 0
    assert image_of(output(final, OutputKind.COVER)).size == (640, 360)


def test_given_an_image_url_as_the_page_when_a_product_is_created_then_the_image_is_its_media(
    shared: Jogg, media_host: MediaHost
) -> None:
    product = shared.adapter.create_product(CreateProductRequest(url=media_host.url("product.webp")))

    assert product.media is not None
    assert product.media[0].url == media_host.url("product.webp")
    assert product.name == "product"


def test_given_a_new_video_when_polled_then_it_goes_pending_processing_completed(
    jogg: Jogg, media_host: MediaHost
) -> None:
    product = jogg.adapter.create_product(
        CreateProductRequest(
            name="Bottle", media=[ProductMediaInput(type=MediaType.IMAGE, url=media_host.url("product.png"))]
        )
    )
    video_id = jogg.adapter.create_video(video_request(product.product_id)).video_id
    seen: list[str] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (not seen or seen[-1] != "completed"):
        status = jogg.adapter.fetch("video", video_id).provider_status
        if not seen or seen[-1] != status:
            seen.append(status)
        time.sleep(0.03)

    assert seen == ["pending", "processing", "completed"]


# -- errors as JoggAI answers them ----------------------------------------------------------------------


def test_given_a_wrong_api_key_when_called_then_an_http_200_with_10105_is_unauthorized(shared: Jogg) -> None:
    adapter = JoggAdapter(shared.running.base_url, "wrong", "s", retry=NO_RETRY)

    with pytest.raises(PermanentProviderError) as caught:
        adapter.get_product_video("x")

    assert (caught.value.kind, caught.value.provider_code) == (ErrorKind.UNAUTHORIZED, "10105")
    assert caught.value.http_status == 200


def test_given_api_access_switched_off_when_called_then_18025_is_forbidden(jogg: Jogg) -> None:
    jogg.configure(api_permission=False)

    with pytest.raises(PermanentProviderError) as caught:
        jogg.adapter.create_product(CreateProductRequest(name="x"))

    assert (caught.value.kind, caught.value.provider_code) == (ErrorKind.FORBIDDEN, "18025")


def test_given_an_unknown_video_when_fetched_then_10104_is_not_found(shared: Jogg) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        shared.adapter.fetch("video", "bm9wZQ==")

    assert (caught.value.kind, caught.value.provider_code) == (ErrorKind.NOT_FOUND, "10104")


def test_given_an_unknown_product_when_updated_then_10104_is_not_found(shared: Jogg) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        shared.adapter.update_product(UpdateProductRequest(product_id="bm9wZQ==", name="x"))

    assert (caught.value.kind, caught.value.provider_code) == (ErrorKind.NOT_FOUND, "10104")


def test_given_an_unknown_product_when_a_video_is_asked_then_10104_is_not_found(shared: Jogg) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        shared.adapter.create_video(video_request("bm9wZQ=="))

    assert (caught.value.kind, caught.value.provider_code) == (ErrorKind.NOT_FOUND, "10104")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda body: body["video_spec"].update(length="45"), "video_spec.length"),
        (lambda body: body["video_spec"].update(aspect_ratio="vertical"), "video_spec.aspect_ratio"),
        (lambda body: body["script"].update(style="Hype"), "script.style"),
        (lambda body: body["avatar"].update(type=7), "avatar.type"),
        (lambda body: body["audio"].update(music_id=-1), "audio.music_id"),
        (lambda body: body.pop("avatar"), "avatar"),
        (lambda body: body["script"].pop("language"), "script.language"),
        (lambda body: body.update(webhook_url="ftp://x"), "webhook_url"),
    ],
)
def test_given_an_invalid_video_request_when_sent_then_40000_names_the_field(
    shared: Jogg, media_host: MediaHost, change: Any, field: str
) -> None:
    product = shared.raw("POST", "/v2/product", {"url": media_host.url("page.html")})["data"]
    body = video_request(product["product_id"]).model_dump(mode="json", exclude_none=True)
    change(body)

    answer = shared.raw("POST", "/v2/create_video_from_product", body)

    assert answer["code"] == 40000
    assert field in answer["msg"]


def test_given_a_product_without_url_or_name_when_created_then_40000_names_name(shared: Jogg) -> None:
    answer = shared.raw("POST", "/v2/product", {"description": "only this"})

    assert answer["code"] == 40000
    assert "name" in answer["msg"]


@pytest.mark.parametrize(
    ("page", "says"),
    [("missing.html", "HTTP 404"), ("not-an-image.txt", "neither a title nor a product image")],
)
def test_given_a_page_that_gives_no_product_when_created_then_it_is_a_bad_request(
    shared: Jogg, media_host: MediaHost, page: str, says: str
) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        shared.adapter.create_product(CreateProductRequest(url=media_host.url(page)))

    assert (caught.value.kind, caught.value.provider_code) == (ErrorKind.BAD_REQUEST, "40000")
    assert says in caught.value.provider_message


def test_given_an_unreachable_page_when_created_then_the_msg_says_so(
    shared: Jogg,
) -> None:
    answer = shared.raw("POST", "/v2/product", {"url": "http://127.0.0.1:9/nothing"})

    assert answer["code"] == 40000
    assert "could not be fetched" in answer["msg"]


def test_given_too_few_credits_when_a_longer_video_is_asked_then_18020_is_insufficient_credits(
    jogg: Jogg, media_host: MediaHost
) -> None:
    jogg.configure(credits=1)
    product = jogg.adapter.create_product(CreateProductRequest(url=media_host.url("page.html")))

    with pytest.raises(PermanentProviderError) as caught:
        jogg.adapter.create_video(video_request(product.product_id, length=VideoLength.SECONDS_30))

    assert (caught.value.kind, caught.value.provider_code) == (ErrorKind.INSUFFICIENT_CREDITS, "18020")
    assert jogg.adapter.create_video(video_request(product.product_id)).video_id


# -- fault knobs, expiry and rate limits ---------------------------------------------------------------


def test_given_injected_job_failure_when_the_video_ends_then_it_is_failed_with_the_reason_and_webhook(
    jogg: Jogg, media_host: MediaHost, webhook_receiver: WebhookReceiver
) -> None:
    jogg.configure(faults={"job_failure_rate": 1.0, "failed_reason": "render farm on fire"})
    product = jogg.adapter.create_product(CreateProductRequest(url=media_host.url("page.html")))

    video_id = jogg.adapter.create_video(
        video_request(product.product_id, webhook_url=webhook_receiver.url("jogg"))
    ).video_id

    delivery = signed_deliveries(webhook_receiver)[0]
    payload = json.loads(delivery.body)
    assert payload["event"] == "generated_product_video_failed"
    notice = jogg.adapter.parse_webhook(delivery.headers, delivery.body)
    assert notice.task is not None
    assert notice.task.state is TaskState.FAILED
    fetched = jogg.adapter.fetch("video", video_id)
    assert (fetched.state, fetched.provider_status) == (TaskState.FAILED, "failed")
    assert fetched.error_message == "render farm on fire"
    assert fetched.credits_used == 0
    assert jogg.sandbox.credits_spent == 0


def test_given_an_image_that_is_not_an_image_when_rendered_then_the_video_fails_with_a_clear_reason(
    jogg: Jogg, media_host: MediaHost
) -> None:
    product = jogg.adapter.create_product(
        CreateProductRequest(
            name="Bad",
            media=[ProductMediaInput(type=MediaType.IMAGE, url=media_host.url("not-an-image.txt"))],
        )
    )

    final = wait_final(jogg.adapter, jogg.adapter.create_video(video_request(product.product_id)).video_id)

    assert final.state is TaskState.FAILED
    assert final.error_message is not None
    assert "product image could not be used" in final.error_message


def test_given_an_injected_server_error_when_the_status_is_read_then_it_is_a_retryable_server_error(
    jogg: Jogg,
) -> None:
    jogg.configure(faults={"endpoints": {"product_video": {"server_error": 1.0}}})

    with pytest.raises(RetryableProviderError) as caught:
        jogg.adapter.fetch("video", "anything")

    assert (caught.value.kind, caught.value.provider_code) == (ErrorKind.SERVER_ERROR, "50000")
    assert caught.value.http_status == 500


def test_given_a_short_output_ttl_when_it_passes_then_the_video_url_answers_404(
    media_host: MediaHost,
) -> None:
    jogg = start_jogg(output_ttl_seconds=0.5)
    try:
        product = jogg.adapter.create_product(CreateProductRequest(url=media_host.url("page.html")))
        final = wait_final(
            jogg.adapter, jogg.adapter.create_video(video_request(product.product_id)).video_id
        )
        url = output(final, OutputKind.VIDEO)
        assert httpx.get(url).status_code == 200

        expires_at = jogg.sandbox.file_expiry(url)
        assert expires_at is not None
        time.sleep(max(0.0, expires_at - time.time()) + 0.05)

        assert httpx.get(url).status_code == 404
    finally:
        jogg.adapter.close()
        jogg.running.stop()


def test_given_a_post_rate_limit_when_exceeded_then_posts_get_429_and_reads_do_not(
    media_host: MediaHost,
) -> None:
    jogg = start_jogg(rate_limit_per_minute=2)
    try:
        first = jogg.adapter.create_product(CreateProductRequest(url=media_host.url("page.html")))
        jogg.adapter.create_product(CreateProductRequest(name="second"))

        with pytest.raises(RetryableProviderError) as caught:
            jogg.adapter.create_product(CreateProductRequest(name="third"))

        assert caught.value.kind is ErrorKind.RATE_LIMITED
        assert caught.value.retry_after is not None
        assert 0 < caught.value.retry_after <= 60
        for _ in range(3):
            jogg.adapter.update_product(UpdateProductRequest(product_id=first.product_id, name="still fine"))
            with pytest.raises(ProviderError) as unknown:
                jogg.adapter.fetch("video", "bm9wZQ==")
            assert unknown.value.kind is ErrorKind.NOT_FOUND
    finally:
        jogg.adapter.close()
        jogg.running.stop()


def test_given_injected_faults_then_the_request_log_names_the_endpoint_and_fault(jogg: Jogg) -> None:
    jogg.configure(faults=Faults(endpoints={"create_product": EndpointFaults(server_error=1.0)}).model_dump())

    with pytest.raises(RetryableProviderError):
        jogg.adapter.create_product(CreateProductRequest(name="x"))

    log = httpx.get(f"{jogg.running.base_url}/_sandbox/requests").json()["requests"]
    assert [(r["endpoint"], r["status"], r["fault"]) for r in log] == [
        ("create_product", 500, "injected_5xx")
    ]
