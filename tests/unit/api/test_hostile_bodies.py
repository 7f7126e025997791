"""Hostile request bodies and headers answer our envelope, never a 500; tenants have a request rate.

The bodies go through the real resolvers (``mediajobs.api.app``, ``mediajobs.webhook_api``) as API
Gateway events from events/; the rate limiter runs on a moto table created from template.yaml.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from moto import mock_aws

from mediajobs import webhook_api
from mediajobs.api.app import build_app
from mediajobs.api.auth import ApiCaller
from mediajobs.api.bodies import MAX_BODY_BYTES, MAX_JSON_DEPTH, nesting_depth_exceeds, parse_json
from mediajobs.api.context import ApiServices
from mediajobs.api.ratelimit import RateLimitedError, TenantRateLimiter
from tests.support.aws import MOCK_CONFIG, REGION, create_from_template
from tests.unit.api.conftest import Answer, sample_event, send, with_json_body

REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"  # requestContext.requestId of the sample events
DEEP_ARRAY = "[" * 100_000 + "]" * 100_000  # 200 KB: the body that used to answer 500


class FakeAuth:
    def caller_for(self, authorization: str | None) -> ApiCaller | None:
        tenant = {"Bearer local-dev-key": "tenant-a", "Bearer other-key": "tenant-b"}.get(authorization or "")
        return ApiCaller(tenant, "0123456789ab") if tenant else None


class Unused:
    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(f"a refused request reached services().{self._name}.{attribute}")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def api(limiter: TenantRateLimiter | None = None) -> APIGatewayHttpResolver:
    services = ApiServices(
        **{f.name: FakeAuth() if f.name == "auth" else Unused(f.name) for f in fields(ApiServices)}
    )
    return build_app(lambda: services, limiter=lambda: limiter)


def post_job(app: APIGatewayHttpResolver, body: str, **headers: str) -> Answer:
    event = with_json_body(sample_event("api_create_job_prodvisual.json"), body)
    event["headers"].update(headers)
    return send(app, event)


def assert_envelope(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    error = answer.json["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["request_id"] == REQUEST_ID


# -- the parse ------------------------------------------------------------------------------------


def test_given_brackets_inside_strings_when_scanning_then_they_do_not_count_as_nesting() -> None:
    text = json.dumps({"title": "[" * 10_000, "items": [[1, 2], {"a": "}}}"}]})

    assert not nesting_depth_exceeds(text)
    assert parse_json(text)["title"] == "[" * 10_000


def test_given_the_depth_limit_exactly_when_parsing_then_accepted_and_one_more_is_refused() -> None:
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    one_more = '{"a":' + at_limit + "}"

    assert not nesting_depth_exceeds(at_limit)
    assert parse_json(at_limit) is not None
    assert nesting_depth_exceeds(one_more)


def test_given_a_wide_but_shallow_document_when_scanning_then_not_too_deep() -> None:
    wide = json.dumps([{"product": {"image_url": "https://x.test/a.png", "tags": [1, 2]}}] * 500)

    assert not nesting_depth_exceeds(wide)


# -- the client API ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("100,000 nested arrays", DEEP_ARRAY),
        ("100,000 nested objects", '{"a":' * 100_000 + "1" + "}" * 100_000),
        ("a deep product", '{"provider":"prodvisual","product":' + "[" * 5000 + "]" * 5000 + "}"),
        ("an integer of 100,000 digits", '{"provider":"prodvisual","n":' + "9" * 100_000 + "}"),
        ("NaN", '{"provider":"prodvisual","options":{"quality":NaN}}'),
        ("a float beyond range", '{"provider":"prodvisual","options":{"quality":1e999}}'),
        ("unbalanced", "[" * 40 + "}" * 40),
        ("truncated", '{"provider": "prodvisual", "product": {'),
    ],
)
def test_given_a_malformed_body_of_any_shape_when_creating_a_job_then_400_malformed_json(
    name: str, body: str
) -> None:
    answer = post_job(api(), body)

    assert_envelope(answer, 400, "malformed_json")


def test_given_a_body_over_the_limit_when_creating_a_job_then_413_before_it_is_parsed() -> None:
    body = '{"provider":"prodvisual","pad":"' + "x" * MAX_BODY_BYTES + '"}'

    answer = post_job(api(), body)

    assert_envelope(answer, 413, "body_too_large")
    assert str(MAX_BODY_BYTES) in answer.json["error"]["message"]


def test_given_a_deep_body_without_a_key_when_creating_a_job_then_401_first() -> None:
    answer = post_job(api(), DEEP_ARRAY, authorization="")

    assert_envelope(answer, 401, "unauthorized")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", "provider=prodvisual"),
        ("application/x-www-form-urlencoded", "provider=prodvisual&product=%5B"),
        (
            "multipart/form-data; boundary=xyz",
            "--xyz\r\nContent-Disposition: form-data\r\n\r\n[[[\r\n--xyz--",
        ),
        ("multipart/form-data", "--\r\n"),
        ("application/json-seq", "{}"),
    ],
)
def test_given_a_body_that_is_not_json_when_creating_a_job_then_415_in_our_envelope(
    content_type: str, body: str
) -> None:
    answer = post_job(api(), body, **{"content-type": content_type})

    assert_envelope(answer, 415, "unsupported_media_type")
    assert "statusCode" not in answer.json


def test_given_a_body_that_is_not_base64_when_flagged_base64_then_400_in_our_envelope() -> None:
    event = sample_event("api_create_job_prodvisual.json")
    event["body"], event["isBase64Encoded"] = "%%%not base64%%%", True

    answer = send(api(), event)

    assert answer.status == 400
    assert answer.json["error"]["request_id"] == REQUEST_ID


def test_given_a_validation_error_when_answered_then_it_carries_the_request_id() -> None:
    answer = post_job(api(), json.dumps({"provider": "prodvisual", "product": {}}))

    assert_envelope(answer, 422, "validation_error")


# -- the provider webhooks --------------------------------------------------------------------------


def webhook(body: bytes, event_file: str = "webhook_prodvisual.json") -> Answer:
    app = webhook_api.build_app(lambda: Unused("webhooks"))  # type: ignore[arg-type,return-value]
    event = sample_event(event_file)
    event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return send(app, event)


@pytest.mark.parametrize(
    "event_file", ["webhook_prodvisual.json", "webhook_jogg.json", "webhook_creatify.json"]
)
@pytest.mark.parametrize(
    "body", [DEEP_ARRAY.encode(), b'{"a":' * 20_000 + b"}" * 20_000, b'{"event": ', b"\xff\xfe"]
)
def test_given_a_malformed_webhook_body_when_received_then_400_malformed_json_before_anything_else(
    event_file: str, body: bytes
) -> None:
    answer = webhook(body, event_file)

    assert answer.status == 400, answer.text
    assert answer.json["error"]["code"] == "malformed_json"
    assert answer.json["error"]["request_id"] == sample_event(event_file)["requestContext"]["requestId"]


# -- the tenant rate --------------------------------------------------------------------------------


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws(config=MOCK_CONFIG):
        names = create_from_template(["JobsTable"])
        yield boto3.resource("dynamodb", region_name=REGION).Table(names["JobsTable"])


def test_given_two_containers_when_one_tenant_sends_its_burst_then_the_next_request_is_refused_on_either(
    table: Any,
) -> None:
    clock = FakeClock()
    first, second = (TenantRateLimiter(table, per_second=2, burst=4, clock=clock) for _ in range(2))

    for container in (first, second, first, second):
        container.admit("tenant-a")
    with pytest.raises(RateLimitedError) as refused:
        second.admit("tenant-a")

    assert refused.value.status == 429
    assert refused.value.headers == {"Retry-After": "1"}  # one interval (0.5 s), in whole seconds
    first.admit("tenant-b")  # another tenant's budget is its own


def test_given_a_refused_tenant_when_an_interval_passes_then_one_more_request_is_admitted(table: Any) -> None:
    clock = FakeClock()
    limiter = TenantRateLimiter(table, per_second=2, burst=3, clock=clock)
    for _ in range(3):
        limiter.admit("tenant-a")
    with pytest.raises(RateLimitedError):
        limiter.admit("tenant-a")

    clock.now += 0.5
    limiter.admit("tenant-a")

    with pytest.raises(RateLimitedError):
        limiter.admit("tenant-a")


def test_given_a_flooding_tenant_when_calling_the_api_then_429_with_retry_after_and_others_pass(
    table: Any,
) -> None:
    limiter = TenantRateLimiter(table, per_second=1, burst=2, clock=FakeClock())
    app = api(limiter)
    invalid = json.dumps({"provider": "prodvisual", "product": {}})

    answers = [post_job(app, invalid) for _ in range(3)]  # invalid requests count too
    other = post_job(app, invalid, authorization="Bearer other-key")

    assert [a.status for a in answers] == [422, 422, 429]
    assert_envelope(answers[2], 429, "rate_limited")
    assert answers[2].headers["retry-after"] == "1"
    assert other.status == 422
