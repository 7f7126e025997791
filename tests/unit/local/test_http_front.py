"""local.http_front without a server: route matching, the 2.0 event, response mapping."""

from __future__ import annotations

import base64
import json

import pytest
from local.cfn import HttpRoute
from local.http_front import (
    MalformedResponseError,
    RouteMatch,
    build_event,
    is_text_content_type,
    match_route,
    to_response,
)
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

ROUTES = [
    HttpRoute("GET", "/items/{item_id}", "Param"),
    HttpRoute("GET", "/items/special", "Exact"),
    HttpRoute("ANY", "/items/special", "AnyExact"),
    HttpRoute("GET", "/files/{path+}", "Greedy"),
    HttpRoute("GET", "/files/{name}", "FileParam"),
    HttpRoute("POST", "/v1/webhooks/{provider}", "Webhook"),
    HttpRoute("POST", "/v1/webhooks/creatify/{token}", "Creatify"),
    HttpRoute("GET", "/{proxy+}", "CatchAll"),
]


@pytest.mark.parametrize(
    ("method", "path", "function", "params"),
    [
        ("GET", "/items/special", "Exact", {}),
        ("DELETE", "/items/special", "AnyExact", {}),
        ("GET", "/items/42", "Param", {"item_id": "42"}),
        ("GET", "/items/a%20b", "Param", {"item_id": "a b"}),
        ("GET", "/files/a.png", "FileParam", {"name": "a.png"}),
        ("GET", "/files/dir/a.png", "Greedy", {"path": "dir/a.png"}),
        ("POST", "/v1/webhooks/jogg", "Webhook", {"provider": "jogg"}),
        ("POST", "/v1/webhooks/creatify/tok", "Creatify", {"token": "tok"}),
        ("GET", "/anything/else", "CatchAll", {"proxy": "anything/else"}),
    ],
)
def test_match_route_prefers_the_most_specific(
    method: str, path: str, function: str, params: dict[str, str]
) -> None:
    match = match_route(ROUTES, method, path)
    assert match is not None
    assert (match.route.function, match.path_parameters) == (function, params)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/items/42"), ("GET", "/"), ("POST", "/v1/webhooks"), ("POST", "/v1/webhooks/a/b/c")],
)
def test_no_match(method: str, path: str) -> None:
    assert match_route(ROUTES, method, path) is None


def test_default_route_comes_last() -> None:
    routes = [HttpRoute("ANY", "$default", "Default"), HttpRoute("GET", "/a", "A")]
    match_a = match_route(routes, "GET", "/a")
    match_other = match_route(routes, "GET", "/b")
    assert match_a is not None
    assert match_a.route.function == "A"
    assert match_other is not None
    assert match_other.route.function == "Default"
    assert match_other.route.route_key == "$default"


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("text/plain", True),
        ("application/vnd.api+json", True),
        ("application/xml", True),
        ("application/octet-stream", False),
        ("image/png", False),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
        (None, False),
    ],
)
def test_text_content_types(content_type: str | None, text: bool) -> None:
    assert is_text_content_type(content_type) is text


def _request(**kwargs: object) -> Request:
    builder = EnvironBuilder(base_url="http://127.0.0.1:3000", **kwargs)  # type: ignore[arg-type]
    environ = builder.get_environ()
    environ["REMOTE_ADDR"] = "127.0.0.1"
    return Request(environ)


def test_build_event_shape() -> None:
    request = _request(
        path="/items/42",
        method="GET",
        query_string="a=1&a=2&b=",
        headers=[("X-Custom", "one"), ("Cookie", "s=1; t=2"), ("User-Agent", "ua/1")],
    )
    match = RouteMatch(HttpRoute("GET", "/items/{item_id}", "Fn"), {"item_id": "42"})
    event = build_event(request, match, request_id="req-1", now=1_700_000_000.5)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{item_id}"
    assert event["rawPath"] == "/items/42"
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["cookies"] == ["s=1", "t=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-custom"] == "one"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert event["headers"]["x-forwarded-proto"] == "http"
    assert all(key == key.lower() for key in event["headers"])
    assert event["pathParameters"] == {"item_id": "42"}
    assert "body" not in event
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/items/42",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "ua/1",
    }
    assert context["domainName"] == "127.0.0.1:3000"
    assert context["routeKey"] == "GET /items/{item_id}"
    assert context["stage"] == "$default"
    assert context["requestId"] == "req-1"
    assert context["timeEpoch"] == 1_700_000_000_500
    assert context["time"] == "14/Nov/2023:22:13:20 +0000"


def test_build_event_bodies() -> None:
    match = RouteMatch(HttpRoute("POST", "/x", "Fn"), {})
    text = build_event(_request(path="/x", method="POST", json={"a": "é"}), match)
    assert json.loads(text["body"]) == {"a": "é"}
    assert text["isBase64Encoded"] is False
    binary = build_event(
        _request(path="/x", method="POST", data=b"\x89PNG\x00", content_type="image/png"), match
    )
    assert base64.b64decode(binary["body"]) == b"\x89PNG\x00"
    assert binary["isBase64Encoded"] is True
    assert "pathParameters" not in binary
    assert "queryStringParameters" not in binary


def test_structured_response() -> None:
    response = to_response(
        {
            "statusCode": 201,
            "headers": {"x-a": "1", "content-type": "text/plain"},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": "created",
        }
    )
    assert response.status_code == 201
    assert response.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2"]
    assert response.headers["Content-Type"] == "text/plain"
    assert response.get_data() == b"created"


def test_base64_response_is_decoded() -> None:
    response = to_response(
        {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}
    )
    assert response.get_data() == b"\x00\x01"
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("result", "body"),
    [
        ({"message": "hi"}, b'{"message": "hi"}'),
        ("plain text", b"plain text"),
        (42, b"42"),
        ([1, 2], b"[1, 2]"),
        (None, b""),
    ],
)
def test_bare_results_are_inferred(result: object, body: bytes) -> None:
    response = to_response(result)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.get_data() == body


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "abc"},
        {"statusCode": 700},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "cookies": "a=1"},
        {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True},
    ],
)
def test_malformed_responses(result: object) -> None:
    with pytest.raises(MalformedResponseError):
        to_response(result)
