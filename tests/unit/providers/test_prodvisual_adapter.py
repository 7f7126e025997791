"""ProdVisual adapter over a mock transport: requests it sends, tasks it returns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mediajobs.errors import ErrorKind, PermanentProviderError
from mediajobs.providers.base import OutputKind, ProductInput, StartRequest, TaskState
from mediajobs.providers.prodvisual import (
    BatchRequest,
    GenerationItem,
    Platform,
    ProdVisualAdapter,
    ProdVisualOptions,
)
from tests.unit.providers.test_prodvisual_models import load_example

API_KEY = "pv_test_unit"


class Recorder:
    """A mock provider that answers ``reply`` and keeps every request it saw."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.reply: httpx.Response = httpx.Response(200, json={})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.reply

    @property
    def last_json(self) -> Any:
        return json.loads(self.requests[-1].content)


@pytest.fixture
def provider() -> Recorder:
    return Recorder()


@pytest.fixture
def adapter(provider: Recorder) -> Iterator[ProdVisualAdapter]:
    adapter = ProdVisualAdapter(
        "https://api.prodvisual.test", API_KEY, transport=httpx.MockTransport(provider)
    )
    yield adapter
    adapter.close()


def _start_request(
    webhook_url: str | None = None, image_url: str | None = "https://shop.example/p.png"
) -> StartRequest:
    return StartRequest(
        product=ProductInput(image_url=image_url),
        options=ProdVisualOptions(style="lifestyle", platform=Platform.AMAZON, format=None),
        webhook_url=webhook_url,
    )


def test_given_start_when_called_then_posts_generate_with_bearer_key_and_options(
    adapter: ProdVisualAdapter, provider: Recorder
) -> None:
    provider.reply = httpx.Response(200, json=load_example("generate-response.json"))

    adapter.start(_start_request(webhook_url="https://hooks.example/pv"))

    sent = provider.requests[-1]
    assert (sent.method, sent.url.path) == ("POST", "/v1/generate")
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert provider.last_json == {
        "image_url": "https://shop.example/p.png",
        "style": "lifestyle",
        "platform": "amazon",
        "webhook_url": "https://hooks.example/pv",
    }


def test_given_synchronous_completed_answer_when_started_then_task_is_completed_with_image(
    adapter: ProdVisualAdapter, provider: Recorder
) -> None:
    provider.reply = httpx.Response(200, json=load_example("generate-response.json"))

    task = adapter.start(_start_request())

    assert task.state is TaskState.COMPLETED
    assert task.task_id == "gen_7kX2mP9qR4"
    assert task.stage == "generate"
    assert task.credits_used == 1
    (output,) = task.outputs
    assert output.kind is OutputKind.IMAGE
    assert output.url == "https://cdn.prodvisual.com/output/gen_7kX2mP9qR4.png"
    assert output.expires_at is not None


def test_given_pending_answer_when_started_then_task_is_pending_without_outputs(
    adapter: ProdVisualAdapter, provider: Recorder
) -> None:
    provider.reply = httpx.Response(200, json={"id": "gen_a", "status": "pending", "credits_used": 1})

    task = adapter.start(_start_request(webhook_url="https://hooks.example/pv"))

    assert (task.state, task.provider_status, task.outputs) == (TaskState.PENDING, "pending", ())


def test_given_product_without_image_when_started_then_bad_request_and_no_call(
    adapter: ProdVisualAdapter, provider: Recorder
) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        adapter.start(_start_request(image_url=None))

    assert caught.value.kind is ErrorKind.BAD_REQUEST
    assert provider.requests == []


@pytest.mark.parametrize(
    ("status", "state"),
    [("pending", TaskState.PENDING), ("processing", TaskState.RUNNING), ("completed", TaskState.COMPLETED)],
)
def test_given_generation_status_when_fetched_then_state_is_normalized(
    adapter: ProdVisualAdapter, provider: Recorder, status: str, state: TaskState
) -> None:
    provider.reply = httpx.Response(200, json={"id": "gen_a", "status": status})

    task = adapter.fetch("generate", "gen_a")

    assert task.state is state
    assert provider.requests[-1].url.path == "/v1/generations/gen_a"


def test_given_failed_generation_without_reason_when_fetched_then_generic_failure_code(
    adapter: ProdVisualAdapter, provider: Recorder
) -> None:
    provider.reply = httpx.Response(200, json={"id": "gen_a", "status": "failed"})

    task = adapter.fetch("generate", "gen_a")

    assert task.state is TaskState.FAILED
    assert task.error_code == "generation_failed"
    assert task.error_message


def test_given_unknown_stage_when_fetched_then_value_error(adapter: ProdVisualAdapter) -> None:
    with pytest.raises(ValueError, match="generate"):
        adapter.fetch("video", "gen_a")


def test_given_completed_generate_task_when_advanced_then_there_is_no_next_stage(
    adapter: ProdVisualAdapter, provider: Recorder
) -> None:
    provider.reply = httpx.Response(200, json=load_example("generate-response.json"))
    task = adapter.start(_start_request())

    assert adapter.advance(task, _start_request()) is None


def test_given_batch_over_fifty_items_when_sent_then_bad_request_before_any_call(
    adapter: ProdVisualAdapter, provider: Recorder
) -> None:
    item = GenerationItem(image_url="https://shop.example/p.png", style="mockup")
    oversized = BatchRequest.model_construct(items=[item] * 51, webhook_url=None)

    with pytest.raises(PermanentProviderError) as caught:
        adapter.generate_batch(oversized)

    assert caught.value.kind is ErrorKind.BAD_REQUEST
    assert caught.value.provider_code == "invalid_request"
    assert provider.requests == []


def test_given_base_url_with_v1_suffix_when_called_then_path_is_not_doubled(provider: Recorder) -> None:
    provider.reply = httpx.Response(200, json=load_example("credits-response.json"))
    adapter = ProdVisualAdapter(
        "https://api.prodvisual.test/v1/", API_KEY, transport=httpx.MockTransport(provider)
    )

    adapter.credits()

    assert provider.requests[-1].url.path == "/v1/account/credits"


def test_given_answer_without_ratelimit_headers_when_called_then_last_rate_limit_is_none(
    adapter: ProdVisualAdapter, provider: Recorder
) -> None:
    provider.reply = httpx.Response(200, json=load_example("credits-response.json"))

    adapter.credits()

    assert adapter.last_rate_limit is None
