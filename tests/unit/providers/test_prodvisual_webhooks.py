"""ProdVisual webhooks: X-ProdVisual-Signature (hex HMAC-SHA256 of the raw body, keyed with the API key)."""

from __future__ import annotations

import hashlib
import json

import pytest

from mediajobs.errors import ErrorKind, PermanentProviderError, WebhookVerificationError
from mediajobs.providers.base import OutputKind, ProviderName, TaskState
from mediajobs.providers.prodvisual import ProdVisualAdapter
from mediajobs.signing import sign_hex
from tests.unit.providers.test_prodvisual_models import DOCS

API_KEY = "pv_test_webhook_key"
BODY = (DOCS / "webhook-payload-generation-completed.json").read_bytes()


@pytest.fixture
def adapter() -> ProdVisualAdapter:
    return ProdVisualAdapter("https://api.prodvisual.test", API_KEY)


def _signed(body: bytes, key: str = API_KEY) -> dict[str, str]:
    return {"X-ProdVisual-Signature": sign_hex(key, body)}


def test_given_validly_signed_delivery_when_parsed_then_notice_carries_the_task(
    adapter: ProdVisualAdapter,
) -> None:
    notice = adapter.parse_webhook(_signed(BODY), BODY)

    assert notice.provider is ProviderName.PRODVISUAL
    assert notice.task_id == "gen_7kX2mP9qR4"
    assert notice.task is not None
    assert notice.task.state is TaskState.COMPLETED
    assert notice.task.outputs[0].kind is OutputKind.IMAGE
    assert notice.task.outputs[0].url == "https://cdn.prodvisual.com/output/gen_7kX2mP9qR4.png"
    assert notice.task.credits_used == 1


def test_given_delivery_when_parsed_then_event_id_is_sha256_of_the_raw_body(
    adapter: ProdVisualAdapter,
) -> None:
    notice = adapter.parse_webhook(_signed(BODY), BODY)

    assert notice.event_id == hashlib.sha256(BODY).hexdigest()


def test_given_lowercase_header_name_when_parsed_then_it_is_found(adapter: ProdVisualAdapter) -> None:
    notice = adapter.parse_webhook({"x-prodvisual-signature": sign_hex(API_KEY, BODY)}, BODY)

    assert notice.task_id == "gen_7kX2mP9qR4"


def test_given_tampered_body_when_parsed_then_verification_fails(adapter: ProdVisualAdapter) -> None:
    tampered = BODY.replace(b'"credits_used": 1', b'"credits_used": 0')

    with pytest.raises(WebhookVerificationError, match="does not match"):
        adapter.parse_webhook(_signed(BODY), tampered)


def test_given_signature_with_another_key_when_parsed_then_verification_fails(
    adapter: ProdVisualAdapter,
) -> None:
    with pytest.raises(WebhookVerificationError, match="does not match"):
        adapter.parse_webhook(_signed(BODY, key="pv_test_someone_else"), BODY)


def test_given_missing_signature_when_parsed_then_verification_fails(adapter: ProdVisualAdapter) -> None:
    with pytest.raises(WebhookVerificationError, match="missing"):
        adapter.parse_webhook({"Content-Type": "application/json"}, BODY)


@pytest.mark.parametrize("header", ["not-hex", "abc123", sign_hex(API_KEY, BODY)[:-1] + "z"])
def test_given_malformed_signature_when_parsed_then_verification_fails(
    adapter: ProdVisualAdapter, header: str
) -> None:
    with pytest.raises(WebhookVerificationError, match="not a hex"):
        adapter.parse_webhook({"X-ProdVisual-Signature": header}, BODY)


def test_given_signed_body_that_is_not_a_payload_when_parsed_then_invalid_response(
    adapter: ProdVisualAdapter,
) -> None:
    body = b'{"hello": "world"}'

    with pytest.raises(PermanentProviderError) as caught:
        adapter.parse_webhook(_signed(body), body)

    assert caught.value.kind is ErrorKind.INVALID_RESPONSE


def test_given_signed_failed_generation_when_parsed_then_task_failed_with_reason(
    adapter: ProdVisualAdapter,
) -> None:
    payload = {
        "event": "generation.failed",
        "data": {
            "id": "gen_f",
            "status": "failed",
            "output_url": None,
            "credits_used": 0,
            "error": {"code": "invalid_image", "message": "Image format not supported"},
        },
        "timestamp": "2026-03-05T14:32:12Z",
    }
    body = json.dumps(payload).encode()

    notice = adapter.parse_webhook(_signed(body), body)

    assert notice.task is not None
    assert notice.task.state is TaskState.FAILED
    assert (notice.task.error_code, notice.task.error_message) == (
        "invalid_image",
        "Image format not supported",
    )
    assert notice.task.outputs == ()


def test_given_signed_batch_callback_when_parsed_then_every_item_output_is_listed(
    adapter: ProdVisualAdapter,
) -> None:
    items = [
        {
            "id": f"gen_{n}",
            "status": "completed",
            "output_url": f"https://cdn.example/{n}.png",
            "credits_used": 1,
        }
        for n in range(3)
    ]
    payload = {
        "event": "batch.completed",
        "data": {"id": "batch_1", "status": "completed", "credits_used": 3, "items": items},
        "timestamp": "2026-03-05T14:32:12Z",
    }
    body = json.dumps(payload).encode()

    notice = adapter.parse_webhook(_signed(body), body)

    assert notice.task_id == "batch_1"
    assert notice.task is not None
    assert [output.url for output in notice.task.outputs] == [item["output_url"] for item in items]
