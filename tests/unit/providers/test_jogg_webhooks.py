"""JoggAI webhook deliveries: X-Webhook-Signature is verified before anything is read."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mediajobs.errors import ErrorKind, PermanentProviderError, WebhookVerificationError
from mediajobs.providers.base import OutputKind, TaskState
from mediajobs.providers.jogg import JoggAdapter
from mediajobs.signing import sign_hex

SECRET = "whsec-jogg-test"
VIDEO_ID = "OTg3NjU0MzIx"


def delivery(event: str = "generated_product_video_success", **data: Any) -> bytes:
    fields: dict[str, Any] = {
        "video_id": VIDEO_ID,
        "status": "completed",
        "title": "Aurora",
        "video_url": "https://cdn.jogg.test/v.mp4",
        "cover_url": "https://cdn.jogg.test/c.jpg",
        "deducted_credit": 1,
        "error_message": "",
    }
    fields.update(data)
    return json.dumps(
        {"event_id": "evt_1", "event": event, "timestamp": 1_700_000_000, "data": fields}
    ).encode()


@pytest.fixture
def adapter() -> JoggAdapter:
    return JoggAdapter("https://api.jogg.test", "key", SECRET)


def test_given_a_signed_success_when_parsed_then_the_completed_task_comes_with_it(
    adapter: JoggAdapter,
) -> None:
    body = delivery()

    notice = adapter.parse_webhook({"X-Webhook-Signature": sign_hex(SECRET, body)}, body)

    assert notice.task_id == VIDEO_ID
    assert notice.event_id == "evt_1"
    assert notice.task is not None
    assert notice.task.state is TaskState.COMPLETED
    assert [o.kind for o in notice.task.outputs] == [OutputKind.VIDEO, OutputKind.COVER]
    assert notice.task.credits_used == 1.0


def test_given_a_signed_failure_when_parsed_then_the_failed_task_carries_the_reason(
    adapter: JoggAdapter,
) -> None:
    body = delivery(
        "generated_product_video_failed",
        status="failed",
        video_url="",
        cover_url="",
        error_message="no avatar",
    )

    notice = adapter.parse_webhook({"X-Webhook-Signature": sign_hex(SECRET, body)}, body)

    assert notice.task is not None
    assert notice.task.state is TaskState.FAILED
    assert notice.task.error_message == "no avatar"


def test_given_a_lowercase_header_name_when_parsed_then_it_is_found(adapter: JoggAdapter) -> None:
    body = delivery()

    notice = adapter.parse_webhook({"x-webhook-signature": sign_hex(SECRET, body)}, body)

    assert notice.task_id == VIDEO_ID


def test_given_a_tampered_body_when_parsed_then_it_is_rejected(adapter: JoggAdapter) -> None:
    body = delivery()
    signature = sign_hex(SECRET, body)
    tampered = body.replace(b"v.mp4", b"x.mp4")

    with pytest.raises(WebhookVerificationError, match="does not match"):
        adapter.parse_webhook({"X-Webhook-Signature": signature}, tampered)


def test_given_a_signature_under_another_secret_when_parsed_then_it_is_rejected(adapter: JoggAdapter) -> None:
    body = delivery()

    with pytest.raises(WebhookVerificationError, match="does not match"):
        adapter.parse_webhook({"X-Webhook-Signature": sign_hex("someone-else", body)}, body)


def test_given_no_signature_header_when_parsed_then_it_is_rejected(adapter: JoggAdapter) -> None:
    with pytest.raises(WebhookVerificationError, match="missing"):
        adapter.parse_webhook({"Content-Type": "application/json"}, delivery())


@pytest.mark.parametrize("header", ["not-hex", "abc123", "z" * 64, "sha1=" + "a" * 40])
def test_given_a_malformed_signature_header_when_parsed_then_it_is_rejected(
    adapter: JoggAdapter, header: str
) -> None:
    with pytest.raises(WebhookVerificationError, match="not a hex"):
        adapter.parse_webhook({"X-Webhook-Signature": header}, delivery())


def test_given_a_signed_body_that_is_not_a_delivery_when_parsed_then_it_is_an_invalid_response(
    adapter: JoggAdapter,
) -> None:
    body = b'{"hello": "world"}'

    with pytest.raises(PermanentProviderError) as caught:
        adapter.parse_webhook({"X-Webhook-Signature": sign_hex(SECRET, body)}, body)

    assert caught.value.kind is ErrorKind.INVALID_RESPONSE


def test_given_a_signed_delivery_of_another_event_when_parsed_then_no_task_is_trusted(
    adapter: JoggAdapter,
) -> None:
    body = delivery("generated_avatar_video_success")

    notice = adapter.parse_webhook({"X-Webhook-Signature": sign_hex(SECRET, body)}, body)

    assert notice.task is None
    assert notice.task_id == VIDEO_ID
