"""The HTTP front: requests become 2.0 events (shaped like SAM's), responses go back as HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from local.http_front import HttpFront

from tests.integration.local.conftest import FIXTURES, LocalStack

# `sam local generate-event apigateway http-api-proxy` (aws-sam-cli 1.170.0), stored as is
SAM_EVENT: dict[str, Any] = json.loads(Path(FIXTURES / "sam-http-api-proxy-event.json").read_text())
# keys SAM's sample has that API Gateway sends only with stage variables, mTLS or an authorizer
OPTIONAL_TOP = {"stageVariables"}
OPTIONAL_CONTEXT = {"authentication", "authorizer"}


@pytest.fixture(scope="module")
def front(local_stack: LocalStack) -> Iterator[HttpFront]:
    provisioned = local_stack.provisioned

    def invoke(function_id: str, event: dict[str, Any]) -> Any:
        return local_stack.runtime.invoke(provisioned.function_name(function_id), event)

    server = HttpFront(provisioned.routes, invoke, "127.0.0.1", 0)
    yield server
    server.stop()


@pytest.fixture
def http(front: HttpFront) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=front.base_url, timeout=10) as client:
        yield client


def test_event_matches_sams_shape(http: httpx.Client, front: HttpFront) -> None:
    response = http.put(
        "/items/42",
        params=[("tag", "a"), ("tag", "b"), ("q", "x y")],
        json={"name": "bottle"},
        headers=[("Cookie", "session=1; theme=dark"), ("X-Multi", "one"), ("X-Multi", "two")],
    )
    assert response.status_code == 201
    event = response.json()["event"]
    assert set(event) == set(SAM_EVENT) - OPTIONAL_TOP
    assert set(event["requestContext"]) == set(SAM_EVENT["requestContext"]) - OPTIONAL_CONTEXT
    assert set(event["requestContext"]["http"]) == set(SAM_EVENT["requestContext"]["http"])
    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "PUT /items/{item_id}"
    assert event["rawPath"] == "/items/42"
    assert event["pathParameters"] == {"item_id": "42"}
    assert event["rawQueryString"] == "tag=a&tag=b&q=x+y"
    assert event["queryStringParameters"] == {"tag": "a,b", "q": "x y"}
    assert event["cookies"] == ["session=1", "theme=dark"]
    assert event["headers"]["x-multi"] == "one,two"
    assert event["headers"]["content-type"] == "application/json"
    assert json.loads(event["body"]) == {"name": "bottle"}
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "$default"
    assert context["domainName"] == f"127.0.0.1:{front.port}"
    assert context["http"]["method"] == "PUT"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["http"]["userAgent"].startswith("python-httpx/")
    assert response.headers["apigw-requestid"] == context["requestId"]


def test_path_parameters_binary_body_and_structured_response(http: httpx.Client) -> None:
    response = http.get("/items/42")
    assert response.status_code == 201
    assert response.headers["x-handled-by"].endswith("HttpFunction")
    assert response.headers.get_list("set-cookie") == ["session=abc; Path=/", "theme=dark"]
    event = response.json()["event"]
    assert event["pathParameters"] == {"item_id": "42"}
    assert event["routeKey"] == "GET /items/{item_id}"
    assert "body" not in event


def test_exact_route_beats_parameter_and_bare_string(http: httpx.Client) -> None:
    response = http.get("/items/special")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text == "special"


def test_bare_object_is_json(http: httpx.Client) -> None:
    response = http.get("/items")
    assert response.status_code == 200
    assert response.json() == {"items": [], "module": "_local_lambda.HttpFunction.app"}


def test_greedy_route_and_base64_response(http: httpx.Client) -> None:
    response = http.put(
        "/files/a/b/c.bin", content=b"\x00\xff", headers={"content-type": "application/octet-stream"}
    )
    assert response.status_code == 200
    assert response.content == b"\x00\x01binary"
    assert response.headers["content-type"] == "application/octet-stream"


def test_not_found_and_function_errors(http: httpx.Client) -> None:
    for method, path in [("GET", "/nope"), ("DELETE", "/items"), ("GET", "/items/1/2")]:
        response = http.request(method, path)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "route_not_found", (method, path)
    for path in ("/items/boom", "/items/malformed"):
        response = http.get(path)
        assert response.status_code == 500, path
        assert response.json()["error"]["code"] == "internal_error", path
