"""Every answer the local front makes itself is the API's JSON error envelope, never HTML."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from local.http_front import MAX_BODY_BYTES
from local.stack import LocalStack


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    assert set(document) == {"error"}
    assert document["error"]["code"] == code
    assert isinstance(document["error"]["message"], str)
    assert document["error"]["message"]
    return document


def raw_exchange(stack: LocalStack, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (no client would send them) and read the whole answer."""
    address = urlsplit(stack.api_url)
    with socket.create_connection((address.hostname or "127.0.0.1", address.port or 80), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.fixture
def anonymous(stack: LocalStack) -> httpx.Client:
    return httpx.Client(base_url=stack.api_url, timeout=30)


def test_given_no_such_route_when_requested_then_404_route_not_found(anonymous: httpx.Client) -> None:
    # When a path no route of the template matches is requested
    response = anonymous.get("/no/such/route")

    # Then the front answers the envelope with route_not_found
    assert_envelope(response, 404, "route_not_found")


def test_given_too_many_headers_when_sent_then_431_headers_too_large(anonymous: httpx.Client) -> None:
    # When a request carries more headers than the server takes
    headers = [(f"X-Filler-{i}", "x") for i in range(120)]
    response = anonymous.get("/v1/health", headers=headers)

    # Then 431 headers_too_large, as JSON
    assert_envelope(response, 431, "headers_too_large")


def test_given_one_huge_header_when_sent_then_431_headers_too_large(anonymous: httpx.Client) -> None:
    # When one header line is longer than the server reads
    response = anonymous.get("/v1/health", headers={"X-Huge": "a" * 70_000})

    # Then 431 headers_too_large, as JSON
    assert_envelope(response, 431, "headers_too_large")


def test_given_a_body_over_the_limit_when_announced_then_413_body_too_large(stack: LocalStack) -> None:
    # When a request announces a body over API Gateway's 10 MB payload limit
    status, headers, body = raw_exchange(
        stack,
        b"POST /v1/jobs HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {MAX_BODY_BYTES + 1}\r\nConnection: close\r\n\r\n".encode(),
    )

    # Then 413 body_too_large, without the function ever seeing it
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "body_too_large"


def test_given_a_body_at_the_limit_then_it_reaches_the_function(anonymous: httpx.Client) -> None:
    # When a body just under the limit is sent (without a key)
    response = anonymous.post("/v1/jobs", content=b"{" + b" " * (MAX_BODY_BYTES - 2) + b"}")

    # Then the API function answered it (its own 401), not the front
    assert_envelope(response, 401, "unauthorized")


def test_given_a_uri_too_long_when_sent_then_414_uri_too_long(stack: LocalStack) -> None:
    # When the request line is longer than the server reads
    status, headers, body = raw_exchange(
        stack, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n"
    )

    # Then 414 uri_too_long, as JSON
    assert status == 414
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "uri_too_long"


def test_given_a_garbled_request_line_when_sent_then_400_bad_request(stack: LocalStack) -> None:
    # When the request line is not HTTP
    status, headers, body = raw_exchange(stack, b"THIS IS NOT HTTP\r\n\r\n")

    # Then 400 bad_request, as JSON, not the server's HTML page
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "bad_request"


def test_given_the_sample_image_when_fetched_then_it_is_the_png_the_stack_prints(stack: LocalStack) -> None:
    # When the sample URL the stack prints is fetched
    response = httpx.get(stack.sample_url(), timeout=10)

    # Then it is the repository's sample product PNG
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_given_a_chunked_body_over_the_limit_when_sent_then_413_body_too_large(
    anonymous: httpx.Client,
) -> None:
    # Given a body with no Content-Length (chunked) that grows past the limit
    def chunks() -> Iterator[bytes]:
        piece = b" " * (1024 * 1024)
        for _ in range(MAX_BODY_BYTES // len(piece) + 1):
            yield piece

    # When it is sent
    response = anonymous.post("/v1/jobs", content=chunks(), headers={"Content-Type": "application/json"})

    # Then the front stops reading and answers 413 body_too_large
    assert_envelope(response, 413, "body_too_large")


def test_given_a_small_chunked_body_then_the_function_gets_all_of_it(stack: LocalStack) -> None:
    # Given a key and a job body sent chunked (no Content-Length), in pieces
    body = json.dumps({"provider": "prodvisual", "product": {}, "options": {"style": "lifestyle"}}).encode()
    pieces = iter([body[:10], body[10:]])

    # When it is posted
    response = httpx.post(
        f"{stack.api_url}/v1/jobs",
        content=pieces,
        headers={"Authorization": f"Bearer {stack.api_key}", "Content-Type": "application/json"},
        timeout=30,
    )

    # Then the function read the whole body: its validation names the missing image, not bad JSON
    document = assert_envelope(response, 422, "validation_error")
    assert "image_url" in document["error"]["message"]
