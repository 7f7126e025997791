"""Webhook ids, secrets, signatures and the event body: what a client verifies and reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from mediajobs.api.schemas import JobView, Links, OutputView, ProgressView
from mediajobs.jobs.models import JobStatus
from mediajobs.notifications.models import InvalidWebhookSettingsError
from mediajobs.notifications.signing import (
    check_secret,
    event_body,
    generate_secret,
    job_event_data,
    parse_retry_delays,
    signature_headers,
    webhook_id,
)
from mediajobs.providers.base import OutputKind, ProviderName

JOB_ID = "0123456789abcdef0123456789abcdef"
BODY = '{"type":"job.succeeded","timestamp":"2026-11-22T10:00:00.000000Z","data":{}}'


def now() -> datetime:
    return datetime.now(UTC)


def test_given_one_event_when_its_id_is_made_twice_then_it_is_the_same_msg_id() -> None:
    assert webhook_id("job.succeeded", JOB_ID) == webhook_id("job.succeeded", JOB_ID)
    assert webhook_id("job.succeeded", JOB_ID).startswith("msg_")
    assert len(webhook_id("job.succeeded", JOB_ID)) == 28


def test_given_another_final_status_or_job_when_the_id_is_made_then_it_differs() -> None:
    ids = {
        webhook_id("job.succeeded", JOB_ID),
        webhook_id("job.failed", JOB_ID),
        webhook_id("job.succeeded", "f" * 32),
    }

    assert len(ids) == 3


def test_given_one_secret_when_a_body_is_signed_then_standardwebhooks_verifies_it() -> None:
    secret = generate_secret()
    headers = signature_headers("msg_1", BODY, [secret], now())

    assert Webhook(secret).verify(BODY, headers)["type"] == "job.succeeded"
    assert headers["webhook-id"] == "msg_1"


@pytest.mark.parametrize("which", [0, 1])
def test_given_two_secrets_when_a_body_is_signed_then_either_secret_alone_verifies_it(which: int) -> None:
    secrets = [generate_secret(), generate_secret()]
    headers = signature_headers("msg_1", BODY, secrets, now())

    assert headers["webhook-signature"].count("v1,") == 2
    assert Webhook(secrets[which]).verify(BODY, headers)


def test_given_a_signature_when_the_body_changes_then_verification_fails() -> None:
    secret = generate_secret()
    headers = signature_headers("msg_1", BODY, [secret], now())

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("succeeded", "failed"), headers)


def test_given_a_moment_with_microseconds_when_signed_then_the_header_is_its_whole_second() -> None:
    moment = datetime(2026, 11, 22, 10, 0, 0, 999_999, tzinfo=UTC)

    headers = signature_headers("msg_1", BODY, [generate_secret()], moment)

    assert headers["webhook-timestamp"] == str(int(datetime(2026, 11, 22, 10, 0, tzinfo=UTC).timestamp()))


def test_given_no_secret_when_signing_then_it_refuses() -> None:
    with pytest.raises(Exception, match="no secret"):
        signature_headers("msg_1", BODY, [], now())


def test_a_generated_secret_is_a_valid_whsec_secret() -> None:
    secret = generate_secret()

    assert secret.startswith("whsec_")
    assert check_secret(secret) == secret
    assert generate_secret() != secret


@pytest.mark.parametrize("bad", ["", "whsec_", "secret", "whsec_short", "whsec_" + "!" * 40])
def test_given_a_malformed_secret_when_checked_then_it_is_refused(bad: str) -> None:
    with pytest.raises(InvalidWebhookSettingsError):
        check_secret(bad)


def test_the_event_body_has_type_timestamp_and_data() -> None:
    moment = datetime(2026, 11, 22, 10, 0, 0, 5, tzinfo=UTC)

    body = json.loads(event_body("job.failed", moment, {"job_id": JOB_ID}))

    assert body == {
        "type": "job.failed",
        "timestamp": "2026-11-22T10:00:00.000005Z",
        "data": {"job_id": JOB_ID},
    }


def test_the_job_event_data_is_the_job_view_without_presigned_urls() -> None:
    at = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    output = OutputView(
        kind=OutputKind.IMAGE,
        stage="generate",
        content_type="image/png",
        bytes=10,
        sha256="0" * 64,
        download_url="https://bucket.s3.amazonaws.com/outputs/x.png?X-Amz-Signature=abc",
        download_url_expires_at=at + timedelta(minutes=15),
    )
    view = JobView(
        job_id=JOB_ID,
        provider=ProviderName.PRODVISUAL,
        status=JobStatus.SUCCEEDED,
        stage="generate",
        created_at=at,
        updated_at=at,
        deadline_at=at,
        progress=ProgressView(stage="generate", stage_index=1, stage_count=1, provider_status="completed"),
        provider_jobs=[],
        credits_used=None,
        timeline=[],
        outputs=[output],
        metadata={"sku": "A-1"},
        links=Links(self=f"/v1/jobs/{JOB_ID}"),
    )

    data = job_event_data(view.model_dump(mode="json"))

    assert "X-Amz-Signature" not in json.dumps(data)
    assert set(data["outputs"][0]) == set(output.model_dump()) - {"download_url", "download_url_expires_at"}
    assert data["metadata"] == {"sku": "A-1"}
    assert data["status"] == "succeeded"


@pytest.mark.parametrize(("text", "delays"), [("5,30,120", (5, 30, 120)), (" 1, 1 ,2 ", (1, 1, 2)), ("", ())])
def test_the_retry_schedule_is_parsed_from_its_setting(text: str, delays: tuple[int, ...]) -> None:
    assert parse_retry_delays(text) == delays
