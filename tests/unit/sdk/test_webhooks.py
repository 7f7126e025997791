"""Webhook verification against deliveries signed by the service's own signing code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mediajobs.notifications.signing import event_body, generate_secret, signature_headers, webhook_id
from mediajobs_client import WebhookVerificationError, webhooks
from mediajobs_client.client import Client

SENT_AT = datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC)
DATA = {"job_id": "job-1", "provider": "prodvisual", "status": "succeeded", "outputs": []}


def delivery(secrets: list[str], at: datetime = SENT_AT) -> tuple[str, dict[str, str]]:
    body = event_body("job.succeeded", at, DATA)
    return body, signature_headers(webhook_id("job.succeeded", "job-1"), body, secrets, at)


def test_a_delivery_signed_by_mediajobs_is_accepted_and_parsed() -> None:
    secret = generate_secret()
    body, headers = delivery([secret])

    event = webhooks.verify(body.encode(), headers, secret, now=SENT_AT.timestamp() + 5)

    assert event.type == "job.succeeded"
    assert event.data == DATA
    assert event.webhook_id == headers["webhook-id"]
    assert event.timestamp == SENT_AT


def test_header_names_are_matched_in_any_case() -> None:
    secret = generate_secret()
    body, headers = delivery([secret])
    shouting = {name.upper(): value for name, value in headers.items()}

    assert webhooks.verify(body, shouting, secret, now=SENT_AT.timestamp()).type == "job.succeeded"


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = generate_secret(), generate_secret()
    body, headers = delivery([new, old])

    for secret in (old, new):
        assert webhooks.verify(body, headers, secret, now=SENT_AT.timestamp()).data == DATA


def test_a_tampered_body_is_rejected() -> None:
    secret = generate_secret()
    body, headers = delivery([secret])
    tampered = json.dumps(json.loads(body) | {"type": "job.failed"}, separators=(",", ":"))

    with pytest.raises(WebhookVerificationError, match="no webhook-signature matches"):
        webhooks.verify(tampered, headers, secret, now=SENT_AT.timestamp())


def test_another_secret_is_rejected() -> None:
    body, headers = delivery([generate_secret()])

    with pytest.raises(WebhookVerificationError):
        webhooks.verify(body, headers, generate_secret(), now=SENT_AT.timestamp())


def test_a_delivery_older_than_the_tolerance_is_rejected_even_with_a_good_signature() -> None:
    secret = generate_secret()
    body, headers = delivery([secret], at=SENT_AT - timedelta(minutes=10))

    with pytest.raises(WebhookVerificationError, match="from now"):
        webhooks.verify(body, headers, secret, now=SENT_AT.timestamp())


def test_a_delivery_without_signature_headers_is_rejected() -> None:
    secret = generate_secret()
    body, headers = delivery([secret])
    del headers["webhook-signature"]

    with pytest.raises(WebhookVerificationError, match="webhook-signature"):
        webhooks.verify(body, headers, secret, now=SENT_AT.timestamp())


def test_the_client_verifies_with_its_configured_secret() -> None:
    secret = generate_secret()
    body, headers = delivery([secret], at=datetime.now(UTC))

    with Client("https://api.mediajobs.test", "key", webhook_secret=secret) as client:
        assert client.webhooks.verify(body, headers).type == "job.succeeded"
