"""ProdVisual end to end over loopback: the adapter against the sandbox, webhooks, real images."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from local.sandboxes.common import EndpointFaults, Faults, RunningServer
from local.sandboxes.prodvisual import ProdVisualSandbox, ProdVisualSettings
from PIL import Image
from pydantic import ValidationError

from mediajobs.errors import ErrorKind, PermanentProviderError, RetryableProviderError
from mediajobs.providers.base import ProductInput, ProviderTask, StartRequest, TaskState
from mediajobs.providers.http import NO_RETRY
from mediajobs.providers.prodvisual import (
    DOCUMENTED_STYLES,
    BatchRequest,
    GenerateRequest,
    GenerationItem,
    GenerationState,
    OutputFormat,
    ProdVisualAdapter,
    ProdVisualOptions,
    WebhookPayload,
)
from tests.support.servers import Delivery, MediaHost, WebhookReceiver

FAST: dict[str, Any] = {
    "pending_seconds": 0.1,
    "processing_seconds": 0.2,
    "batch_item_seconds": 0.1,
    "webhook_retry_seconds": 0.1,
}


class Running:
    def __init__(self, sandbox: ProdVisualSandbox, server: RunningServer) -> None:
        self.sandbox = sandbox
        self.server = server
        self.adapter = ProdVisualAdapter(server.base_url, sandbox.settings.api_key, retry=NO_RETRY)

    def raw(self, method: str, path: str, *, key: str | None = None, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key or self.sandbox.settings.api_key}"}
        return httpx.request(method, self.server.base_url + path, json=body, headers=headers, timeout=10)


StartSandbox = Callable[..., Running]


def _start(**settings: Any) -> Running:
    sandbox = ProdVisualSandbox(ProdVisualSettings.model_validate(FAST | settings))
    return Running(sandbox, sandbox.serve())


def _stop(running: Running) -> None:
    running.adapter.close()
    running.server.stop()


@pytest.fixture
def start_sandbox() -> Iterator[StartSandbox]:
    """A sandbox of its own with the given settings, for tests that change them."""
    started: list[Running] = []

    def start(**settings: Any) -> Running:
        started.append(_start(**settings))
        return started[-1]

    yield start
    for running in started:
        _stop(running)


@pytest.fixture(scope="module")
def default_sandbox() -> Iterator[Running]:
    running = _start()
    yield running
    _stop(running)


@pytest.fixture
def pv(default_sandbox: Running) -> Running:
    """The module's default-settings sandbox (stopping one takes ~0.5 s), with fresh logs and limits.

    Tests on it compare credits before and after rather than against the starting balance.
    """
    default_sandbox.sandbox.reset()
    return default_sandbox


def _download(url: str) -> Image.Image:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


def _rgba(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    pixel = image.convert("RGBA").getpixel(xy)
    assert isinstance(pixel, tuple)
    return pixel


def _start_request(media_host: MediaHost, webhook_url: str | None = None, **options: Any) -> StartRequest:
    return StartRequest(
        product=ProductInput(image_url=media_host.url("product.png")),
        options=ProdVisualOptions.model_validate({"style": "lifestyle"} | options),
        webhook_url=webhook_url,
    )


def _wait_final(adapter: ProdVisualAdapter, task_id: str, timeout: float = 10.0) -> list[ProviderTask]:
    seen: list[ProviderTask] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen.append(adapter.fetch("generate", task_id))
        if seen[-1].state.final:
            return seen
        time.sleep(0.03)
    raise AssertionError(f"{task_id} not final after {timeout}s: {seen[-1]}")


def _one_delivery(receiver: WebhookReceiver) -> Delivery:
    return receiver.wait_for(lambda deliveries: len(deliveries) >= 1, timeout=10)[0]


# -- the documented flow -------------------------------------------------------------------------


def test_given_no_webhook_when_started_then_completed_at_once_with_requested_webp(
    pv: Running, media_host: MediaHost
) -> None:
    task = pv.adapter.start(
        _start_request(media_host, dimensions="320x240", format="webp", background="transparent", quality=80)
    )

    assert task.state is TaskState.COMPLETED
    assert task.credits_used == 1
    (output,) = task.outputs
    assert output.expires_at is not None
    image = _download(output.url)
    assert (image.format, image.size) == ("WEBP", (320, 240))
    assert _rgba(image, (0, 0))[3] == 0  # the corner is background, left transparent


def test_given_jpeg_with_hex_background_when_generated_then_corner_has_that_colour(
    pv: Running, media_host: MediaHost
) -> None:
    response = pv.adapter.generate(
        GenerateRequest(
            image_url=media_host.url("product.jpg"),
            style="white_bg",
            dimensions="300x200",
            format=OutputFormat.JPEG,
            background="#ff0000",
            quality=95,
        )
    )

    assert response.output_url is not None
    image = _download(response.output_url)
    assert (image.format, image.size) == ("JPEG", (300, 200))
    red, green, blue, _ = _rgba(image, (2, 2))
    assert red > 240
    assert max(green, blue) < 20
    assert response.file_size == len(httpx.get(response.output_url).content)


def test_given_platform_without_dimensions_when_generated_then_platform_preset_size(
    pv: Running, media_host: MediaHost
) -> None:
    task = pv.adapter.start(_start_request(media_host, platform="amazon", format="jpeg"))

    image = _download(task.outputs[0].url)
    assert image.size == (1500, 1500)


def test_given_webhook_url_when_started_then_signed_callback_then_fetch_gives_the_image(
    pv: Running, media_host: MediaHost, webhook_receiver: WebhookReceiver
) -> None:
    started = pv.adapter.start(
        _start_request(
            media_host,
            webhook_receiver.url("pv"),
            dimensions="400x300",
            format="png",
            background="transparent",
        )
    )
    assert started.state is TaskState.PENDING

    delivery = _one_delivery(webhook_receiver)
    notice = pv.adapter.parse_webhook(delivery.headers, delivery.body)
    fetched = pv.adapter.fetch("generate", notice.task_id)

    assert notice.task_id == started.task_id
    assert notice.task is not None
    assert notice.task.state is TaskState.COMPLETED
    assert json.loads(delivery.body)["event"] == "generation.completed"
    assert fetched.state is TaskState.COMPLETED
    assert fetched.outputs[0].url == notice.task.outputs[0].url
    assert fetched.outputs[0].expires_at is not None
    image = _download(fetched.outputs[0].url)
    assert (image.format, image.size, image.mode) == ("PNG", (400, 300), "RGBA")
    assert _rgba(image, (0, 0))[3] == 0


def test_given_async_generation_when_polled_then_pending_processing_completed(
    start_sandbox: StartSandbox, media_host: MediaHost, webhook_receiver: WebhookReceiver
) -> None:
    pv = start_sandbox(pending_seconds=0.2, processing_seconds=0.3)
    started = pv.adapter.start(_start_request(media_host, webhook_receiver.url(), dimensions="64x64"))

    states = [task.provider_status for task in _wait_final(pv.adapter, started.task_id)]

    assert states[0] == "pending"
    assert "processing" in states
    assert states[-1] == "completed"
    assert states.index("processing") > states.index("pending")


def test_given_batch_of_three_when_sent_then_one_batch_webhook_and_every_output_decodes(
    pv: Running, media_host: MediaHost, webhook_receiver: WebhookReceiver
) -> None:
    sources = ["product.png", "product.jpg", "product.webp"]
    batch = pv.adapter.generate_batch(
        BatchRequest(
            items=[
                GenerationItem(image_url=media_host.url(name), style="mockup", dimensions="160x120")
                for name in sources
            ],
            webhook_url=webhook_receiver.url("batch"),
        )
    )
    assert (batch.status, batch.total_items, batch.credits_used) == (GenerationState.PROCESSING, 3, 3)

    delivery = _one_delivery(webhook_receiver)
    notice = pv.adapter.parse_webhook(delivery.headers, delivery.body)
    payload = WebhookPayload.model_validate_json(delivery.body)
    status = pv.adapter.generation(batch.batch_id)

    assert payload.event == "batch.completed"
    assert notice.task_id == batch.batch_id
    assert notice.task is not None
    assert len(notice.task.outputs) == 3
    for output in notice.task.outputs:
        assert _download(output.url).size == (160, 120)
    assert status.status is GenerationState.COMPLETED
    assert status.items is not None
    assert [item.status for item in status.items] == [GenerationState.COMPLETED] * 3
    assert len(webhook_receiver.deliveries) == 1


def test_given_generations_when_credits_read_then_one_credit_per_image_is_gone(
    pv: Running, media_host: MediaHost
) -> None:
    before = pv.adapter.credits()

    pv.adapter.start(_start_request(media_host, dimensions="64x64"))
    pv.adapter.generate_batch(
        BatchRequest(items=[GenerationItem(image_url=media_host.url("product.png"), style="mockup")] * 2)
    )
    after = pv.adapter.credits()

    assert before.credits_remaining - after.credits_remaining == 3
    assert before.credits_used_total is not None
    assert after.credits_used_total == before.credits_used_total + 3


def test_given_styles_when_listed_without_key_then_22_including_the_documented_ones(pv: Running) -> None:
    anonymous = httpx.get(pv.server.base_url + "/v1/styles", timeout=10)
    styles = pv.adapter.styles()

    assert anonymous.status_code == 200
    assert styles.total == len(styles.styles) == 22
    assert set(DOCUMENTED_STYLES) <= {style.id for style in styles.styles}


# -- batch limits --------------------------------------------------------------------------------


def test_given_51_items_when_sent_through_adapter_then_bad_request_without_reaching_provider(
    pv: Running, media_host: MediaHost
) -> None:
    item = GenerationItem(image_url=media_host.url("product.png"), style="mockup")

    with pytest.raises(PermanentProviderError) as caught:
        pv.adapter.generate_batch(BatchRequest.model_construct(items=[item] * 51, webhook_url=None))

    assert caught.value.kind is ErrorKind.BAD_REQUEST
    assert not [record for record in pv.sandbox.requests if record.endpoint == "batch"]


@pytest.mark.parametrize("count", [0, 51])
def test_given_batch_outside_1_to_50_when_posted_raw_then_400_invalid_request(
    pv: Running, media_host: MediaHost, count: int
) -> None:
    items = [{"image_url": media_host.url("product.png"), "style": "mockup"}] * count

    response = pv.raw("POST", "/v1/generate/batch", body={"items": items})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["status"] == 400


# -- limits, credits, expiry ---------------------------------------------------------------------


def test_given_three_per_minute_when_fourth_request_then_429_with_headers_and_retry_after(
    start_sandbox: StartSandbox,
) -> None:
    pv = start_sandbox(rate_limit_per_minute=3)
    remaining = []
    for _ in range(3):
        pv.adapter.credits()
        assert pv.adapter.last_rate_limit is not None
        remaining.append(pv.adapter.last_rate_limit.remaining)

    with pytest.raises(RetryableProviderError) as caught:
        pv.adapter.credits()
    raw = pv.raw("GET", "/v1/account/credits")

    assert remaining == [2, 1, 0]
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.provider_code == "rate_limited"
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 61
    assert raw.status_code == 429
    assert raw.headers["X-RateLimit-Limit"] == "3"
    assert raw.headers["X-RateLimit-Remaining"] == "0"
    assert int(raw.headers["X-RateLimit-Reset"]) > time.time()


def test_given_every_answer_when_received_then_it_carries_ratelimit_headers(pv: Running) -> None:
    ok = pv.raw("GET", "/v1/account/credits")
    denied = pv.raw("GET", "/v1/account/credits", key="pv_test_wrong")

    for response in (ok, denied):
        assert response.headers["X-RateLimit-Limit"] == "60"
        assert "X-RateLimit-Remaining" in response.headers
        assert "X-RateLimit-Reset" in response.headers


def test_given_zero_credits_when_generating_then_402_insufficient_credits(
    start_sandbox: StartSandbox, media_host: MediaHost
) -> None:
    pv = start_sandbox(credits=0)

    with pytest.raises(PermanentProviderError) as caught:
        pv.adapter.start(_start_request(media_host))

    assert caught.value.kind is ErrorKind.INSUFFICIENT_CREDITS
    assert caught.value.provider_code == "insufficient_credits"
    assert caught.value.http_status == 402
    assert "0 credits remaining" in caught.value.provider_message


def test_given_batch_needing_more_credits_than_left_when_sent_then_402_and_nothing_charged(
    start_sandbox: StartSandbox, media_host: MediaHost
) -> None:
    pv = start_sandbox(credits=2)
    item = GenerationItem(image_url=media_host.url("product.png"), style="mockup")

    with pytest.raises(PermanentProviderError) as caught:
        pv.adapter.generate_batch(BatchRequest(items=[item] * 3))

    assert caught.value.kind is ErrorKind.INSUFFICIENT_CREDITS
    assert pv.adapter.credits().credits_remaining == 2


def test_given_short_output_ttl_when_it_passes_then_output_url_is_404(
    start_sandbox: StartSandbox, media_host: MediaHost
) -> None:
    pv = start_sandbox(output_ttl_seconds=0.3)
    task = pv.adapter.start(_start_request(media_host, dimensions="64x64"))
    url = task.outputs[0].url
    assert httpx.get(url).status_code == 200

    time.sleep(0.4)

    assert httpx.get(url).status_code == 404


# -- validation and auth -------------------------------------------------------------------------


def test_given_unknown_style_when_generating_then_bad_request_naming_style(
    pv: Running, media_host: MediaHost
) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        pv.adapter.start(_start_request(media_host, style="watercolour"))

    assert caught.value.kind is ErrorKind.BAD_REQUEST
    assert caught.value.provider_code == "invalid_request"
    assert "style" in caught.value.provider_message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("platform", "tiktok"),
        ("format", "gif"),
        ("quality", 0),
        ("quality", "high"),
        ("dimensions", "big"),
        ("dimensions", "9000x10"),
        ("background", "blue"),
        ("image_url", None),
    ],
)
def test_given_bad_field_when_posted_raw_then_400_naming_the_field(
    pv: Running, media_host: MediaHost, field: str, value: Any
) -> None:
    body = {"image_url": media_host.url("product.png"), "style": "lifestyle", field: value}

    response = pv.raw("POST", "/v1/generate", body=body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert field in response.json()["error"]["message"]


def test_given_transparent_jpeg_when_posted_raw_then_400_naming_background(
    pv: Running, media_host: MediaHost
) -> None:
    body = {
        "image_url": media_host.url("product.png"),
        "style": "lifestyle",
        "format": "jpeg",
        "background": "transparent",
    }

    response = pv.raw("POST", "/v1/generate", body=body)

    assert response.status_code == 400
    assert "background" in response.json()["error"]["message"]


def test_given_wrong_key_when_calling_then_unauthorized(pv: Running) -> None:
    adapter = ProdVisualAdapter(pv.server.base_url, "pv_test_wrong", retry=NO_RETRY)

    with pytest.raises(PermanentProviderError) as caught:
        adapter.credits()
    adapter.close()

    assert caught.value.kind is ErrorKind.UNAUTHORIZED
    assert caught.value.provider_code == "unauthorized"


def test_given_no_authorization_header_when_calling_then_401_in_documented_shape(pv: Running) -> None:
    response = httpx.get(pv.server.base_url + "/v1/account/credits", timeout=10)

    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "unauthorized", "message": "Invalid or missing API key", "status": 401}
    }


def test_given_unknown_generation_id_when_fetched_then_not_found(pv: Running) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        pv.adapter.fetch("generate", "gen_doesnotexist")

    assert caught.value.kind is ErrorKind.NOT_FOUND


# -- bad sources ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["not-an-image.txt", "missing.png"])
def test_given_source_that_is_not_an_image_when_generated_sync_then_422_and_no_charge(
    pv: Running, media_host: MediaHost, name: str
) -> None:
    request = GenerateRequest(image_url=media_host.url(name), style="lifestyle")
    before = pv.adapter.credits().credits_remaining

    with pytest.raises(PermanentProviderError) as caught:
        pv.adapter.generate(request)

    assert caught.value.kind is ErrorKind.INVALID_IMAGE
    assert caught.value.provider_code == "invalid_image"
    assert pv.adapter.credits().credits_remaining == before


def test_given_source_over_the_size_limit_when_generated_sync_then_413_file_too_large(
    start_sandbox: StartSandbox, media_host: MediaHost
) -> None:
    pv = start_sandbox(max_source_bytes=1000)

    with pytest.raises(PermanentProviderError) as caught:
        pv.adapter.start(_start_request(media_host))

    assert caught.value.kind is ErrorKind.TOO_LARGE
    assert caught.value.provider_code == "file_too_large"


def test_given_bad_source_with_webhook_when_generated_then_failed_callback_and_credit_back(
    pv: Running, media_host: MediaHost, webhook_receiver: WebhookReceiver
) -> None:
    request = GenerateRequest(
        image_url=media_host.url("not-an-image.txt"), style="lifestyle", webhook_url=webhook_receiver.url()
    )
    before = pv.adapter.credits().credits_remaining
    started = pv.adapter.generate(request)

    delivery = _one_delivery(webhook_receiver)
    notice = pv.adapter.parse_webhook(delivery.headers, delivery.body)

    assert started.status is GenerationState.PENDING
    assert json.loads(delivery.body)["event"] == "generation.failed"
    assert notice.task is not None
    assert notice.task.state is TaskState.FAILED
    assert notice.task.error_code == "invalid_image"
    assert pv.adapter.credits().credits_remaining == before


def test_given_a_balance_set_for_a_while_when_an_older_generation_is_refunded_then_the_restored_one_gets_it(
    start_sandbox: StartSandbox, media_host: MediaHost, webhook_receiver: WebhookReceiver
) -> None:
    pv = start_sandbox(pending_seconds=0.5)
    before = pv.adapter.credits().credits_remaining
    request = GenerateRequest(
        image_url=media_host.url("not-an-image.txt"), style="lifestyle", webhook_url=webhook_receiver.url()
    )
    pv.adapter.generate(request)  # charged now, refunded when its source turns out not to be an image

    with pv.sandbox.balance(0):
        assert json.loads(_one_delivery(webhook_receiver).body)["event"] == "generation.failed"
        held = pv.adapter.credits().credits_remaining
        body = {"image_url": media_host.url("product.png"), "style": "lifestyle"}
        refused = pv.raw("POST", "/v1/generate", body=body)
    after = pv.adapter.credits().credits_remaining

    assert held == 0
    assert (refused.status_code, refused.json()["error"]["code"]) == (402, "insufficient_credits")
    assert after == before


# -- fault knobs ---------------------------------------------------------------------------------


def test_given_server_error_fault_when_generating_then_retryable_server_error(
    start_sandbox: StartSandbox, media_host: MediaHost
) -> None:
    pv = start_sandbox(faults=Faults(endpoints={"generate": EndpointFaults(server_error=1.0)}))

    with pytest.raises(RetryableProviderError) as caught:
        pv.adapter.start(_start_request(media_host))

    assert caught.value.kind is ErrorKind.SERVER_ERROR
    assert caught.value.http_status == 500
    assert caught.value.provider_code == "server_error"


def test_given_job_failure_fault_when_generated_sync_then_failed_task_with_reason(
    start_sandbox: StartSandbox, media_host: MediaHost
) -> None:
    pv = start_sandbox(faults=Faults(job_failure_rate=1.0, failed_reason="model overloaded"))

    task = pv.adapter.start(_start_request(media_host))

    assert task.state is TaskState.FAILED
    assert (task.error_code, task.error_message) == ("generation_failed", "model overloaded")
    assert task.outputs == ()


def test_given_job_failure_fault_when_generated_async_then_failed_status_and_callback(
    start_sandbox: StartSandbox, media_host: MediaHost, webhook_receiver: WebhookReceiver
) -> None:
    pv = start_sandbox(faults=Faults(job_failure_rate=1.0))
    started = pv.adapter.start(_start_request(media_host, webhook_receiver.url()))

    delivery = _one_delivery(webhook_receiver)
    fetched = pv.adapter.fetch("generate", started.task_id)

    assert json.loads(delivery.body)["event"] == "generation.failed"
    assert fetched.state is TaskState.FAILED
    assert fetched.provider_status == "failed"
    assert fetched.error_message == pv.sandbox.settings.faults.failed_reason


# -- sandbox odds and ends -----------------------------------------------------------------------


def test_given_unknown_api_path_when_called_then_404_in_documented_shape(pv: Running) -> None:
    response = pv.raw("GET", "/v1/nothing-here")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_given_key_without_documented_prefix_when_configured_then_refused() -> None:
    with pytest.raises(ValidationError, match="pv_test_"):
        ProdVisualSettings(api_key="sk_live_123")
