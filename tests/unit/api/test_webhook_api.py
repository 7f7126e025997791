"""The provider webhook routes, driven with the sample events in events/webhook_*.json."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from mediajobs.errors import ErrorKind, MediajobsError, RetryableProviderError, WebhookVerificationError
from mediajobs.jobs.provider_webhooks import Outcome, UnknownCallbackError
from mediajobs.providers.base import ProviderName
from mediajobs.webhook_api import MAX_BODY_BYTES, build_app
from tests.unit.api.conftest import body_of, sample_event, send, with_path

CREATIFY_TOKEN = "0123456789abcdef0123456789abcdef.sample-callback-token"


class FakeWebhooks:
    """Stands in for ProviderWebhooks: records what the routes pass, answers ``outcome`` or raises."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, dict[str, str], bytes]] = []
        self.hints: list[str | None] = []
        self.outcome = Outcome.RESUMED
        self.error: Exception | None = None

    def _answer(self) -> Outcome:
        if self.error is not None:
            raise self.error
        return self.outcome

    def receive_signed(
        self, provider: ProviderName, headers: Mapping[str, str], body: bytes, hint: str | None = None
    ) -> Outcome:
        self.calls.append(("signed", provider, dict(headers), body))
        self.hints.append(hint)
        return self._answer()

    def receive_creatify(self, token: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        self.calls.append(("creatify", token, dict(headers), body))
        return self._answer()


@pytest.fixture
def webhooks() -> FakeWebhooks:
    return FakeWebhooks()


@pytest.fixture
def app(webhooks: FakeWebhooks) -> APIGatewayHttpResolver:
    return build_app(lambda: webhooks)  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize(
    ("event_file", "provider"),
    [("webhook_jogg.json", ProviderName.JOGG), ("webhook_prodvisual.json", ProviderName.PRODVISUAL)],
)
def test_given_a_signed_delivery_when_received_then_200_with_the_outcome_and_the_raw_body_passed_on(
    app: APIGatewayHttpResolver, webhooks: FakeWebhooks, event_file: str, provider: ProviderName
) -> None:
    event = sample_event(event_file)

    answer = send(app, event)

    assert answer.status == 200
    assert answer.json == {"received": True, "outcome": "resumed"}
    ((kind, name, headers, body),) = webhooks.calls
    assert (kind, name) == ("signed", provider)
    assert body == body_of(event)
    signature_header = "x-webhook-signature" if provider is ProviderName.JOGG else "x-prodvisual-signature"
    assert headers[signature_header] == event["headers"][signature_header]


def test_given_a_job_parameter_in_the_callback_url_when_received_then_it_is_passed_on_as_the_hint(
    app: APIGatewayHttpResolver, webhooks: FakeWebhooks
) -> None:
    event = sample_event("webhook_prodvisual.json")
    event["queryStringParameters"] = {"job": "0" * 32 + ".callkey"}
    event["rawQueryString"] = "job=" + "0" * 32 + ".callkey"

    assert send(app, event).status == 200
    assert webhooks.hints == ["0" * 32 + ".callkey"]


def test_given_a_creatify_callback_when_received_then_200_and_the_url_token_is_passed_on(
    app: APIGatewayHttpResolver, webhooks: FakeWebhooks
) -> None:
    webhooks.outcome = Outcome.RECORDED

    answer = send(app, sample_event("webhook_creatify.json"))

    assert answer.status == 200
    assert answer.json == {"received": True, "outcome": "recorded"}
    assert [(kind, token) for kind, token, _, _ in webhooks.calls] == [("creatify", CREATIFY_TOKEN)]


def test_given_a_base64_encoded_body_when_received_then_the_decoded_bytes_are_passed_on(
    app: APIGatewayHttpResolver, webhooks: FakeWebhooks
) -> None:
    event = sample_event("webhook_prodvisual.json")
    raw = event["body"].encode()
    event["body"] = base64.b64encode(raw).decode()
    event["isBase64Encoded"] = True

    assert send(app, event).status == 200
    assert webhooks.calls[0][3] == raw


@pytest.mark.parametrize("provider", ["acme", "creatify"])
def test_given_an_unknown_provider_when_a_delivery_arrives_then_404_and_nothing_is_acted_on(
    app: APIGatewayHttpResolver, webhooks: FakeWebhooks, provider: str
) -> None:
    event = with_path(sample_event("webhook_jogg.json"), f"/v1/webhooks/{provider}")

    answer = send(app, event)

    assert answer.status == 404
    assert answer.error_code == "unknown_provider"
    assert webhooks.calls == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_given_a_body_that_is_not_json_when_received_then_415(
    app: APIGatewayHttpResolver, webhooks: FakeWebhooks, content_type: str | None
) -> None:
    event = sample_event("webhook_prodvisual.json")
    if content_type is None:
        del event["headers"]["content-type"]
    else:
        event["headers"]["content-type"] = content_type

    answer = send(app, event)

    assert answer.status == 415
    assert answer.error_code == "unsupported_media_type"
    assert webhooks.calls == []


def test_given_a_json_content_type_with_a_charset_when_received_then_accepted(
    app: APIGatewayHttpResolver,
) -> None:
    event = sample_event("webhook_prodvisual.json")
    event["headers"]["content-type"] = "Application/JSON; charset=utf-8"

    assert send(app, event).status == 200


def test_given_an_oversized_body_when_received_then_413(
    app: APIGatewayHttpResolver, webhooks: FakeWebhooks
) -> None:
    event = sample_event("webhook_jogg.json")
    event["body"] = '{"pad": "' + "x" * MAX_BODY_BYTES + '"}'

    answer = send(app, event)

    assert answer.status == 413
    assert answer.error_code == "body_too_large"
    assert webhooks.calls == []


def test_given_an_empty_body_when_received_then_400(
    app: APIGatewayHttpResolver, webhooks: FakeWebhooks
) -> None:
    event = sample_event("webhook_creatify.json")
    event["body"] = ""

    answer = send(app, event)

    assert answer.status == 400
    assert answer.error_code == "empty_body"
    assert webhooks.calls == []


def test_given_a_forged_signature_when_received_then_401_invalid_signature(
    app: APIGatewayHttpResolver, webhooks: FakeWebhooks
) -> None:
    webhooks.error = WebhookVerificationError("signature mismatch")

    answer = send(app, sample_event("webhook_jogg.json"))

    assert answer.status == 401
    assert answer.error_code == "invalid_signature"
    assert "mismatch" not in answer.text


def test_given_an_unknown_creatify_token_when_received_then_404(
    app: APIGatewayHttpResolver, webhooks: FakeWebhooks
) -> None:
    webhooks.error = UnknownCallbackError("no job has this callback token")

    answer = send(app, sample_event("webhook_creatify.json"))

    assert answer.status == 404
    assert answer.error_code == "not_found"


def test_given_the_provider_is_down_during_the_refetch_when_received_then_503_so_it_retries(
    app: APIGatewayHttpResolver, webhooks: FakeWebhooks
) -> None:
    webhooks.error = RetryableProviderError(
        provider="creatify", kind=ErrorKind.SERVER_ERROR, provider_code="502", provider_message="bad gateway"
    )

    answer = send(app, sample_event("webhook_creatify.json"))

    assert answer.status == 503
    assert answer.error_code == "provider_unavailable"


def test_given_a_store_failure_when_received_then_503_service_unavailable(
    app: APIGatewayHttpResolver, webhooks: FakeWebhooks
) -> None:
    webhooks.error = MediajobsError("DynamoDB put_item failed")

    answer = send(app, sample_event("webhook_prodvisual.json"))

    assert answer.status == 503
    assert answer.error_code == "service_unavailable"


def test_given_an_unknown_route_when_called_then_404_json(app: APIGatewayHttpResolver) -> None:
    event = with_path(sample_event("webhook_jogg.json"), "/v1/hooks/jogg")

    answer = send(app, event)

    assert answer.status == 404
    assert answer.error_code == "not_found"
