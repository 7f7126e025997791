"""Bounded, vetted downloads, against a Flask server on loopback and a fake resolver (no network)."""

from __future__ import annotations

import gzip
import io
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from flask import Flask, Response, redirect, request
from local.sandboxes.common import RunningServer
from PIL import Image
from werkzeug.serving import make_server
from werkzeug.wrappers import Response as BaseResponse

from mediajobs.errors import MediajobsError
from mediajobs.fetching import (
    Download,
    FetchError,
    NotAnImageError,
    TooLargeError,
    UnsafeUrlError,
    UrlPolicy,
    check_url,
    fetch_image,
    open_stream,
    redact,
)

PUBLIC = "93.184.215.14"
NAMES = {
    "localhost": ["127.0.0.1", "::1"],
    "cdn.example.com": [PUBLIC],
    "v6.example.com": ["2606:4700::1111"],
    "internal.example.com": ["10.0.0.5"],
    "metadata.example.com": ["169.254.169.254"],
    "loop.example.com": ["127.0.0.1"],
    "loop6.example.com": ["::1"],
    "rebind.example.com": [PUBLIC, "192.168.1.20"],
    "mapped.example.com": ["::ffff:10.1.2.3"],
    "cgnat.example.com": ["100.100.100.100"],
}


def fake_resolver(host: str, port: int) -> list[str]:
    """Stands in for DNS: unit tests never leave the machine."""
    try:
        return NAMES[host.lower().rstrip(".")]
    except KeyError:
        raise OSError(f"unknown host {host}") from None


SAFE = UrlPolicy(resolver=fake_resolver)
LOOPBACK_OK = UrlPolicy(allow_loopback=True)


def _image(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt)
    return out.getvalue()


class Server:
    """A loopback server with the answers the tests need."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.png = _image("PNG", (64, 48))
        self.jpeg = _image("JPEG", (80, 60))
        self.webp = _image("WEBP", (32, 16))
        self.gif = _image("GIF")
        app = Flask("fetch-test")

        @app.before_request
        def record() -> None:
            self.hits.append(request.path)

        @app.get("/image.<ext>")
        def image(ext: str) -> Response:
            data = {"png": self.png, "jpg": self.jpeg, "webp": self.webp, "gif": self.gif}[ext]
            return Response(data, mimetype="application/octet-stream" if ext == "webp" else f"image/{ext}")

        @app.get("/page.html")
        def page() -> Response:
            return Response("<!doctype html><html><body>Buy now</body></html>", mimetype="text/html")

        @app.get("/bytes/<int:size>")
        def sized(size: int) -> Response:
            return Response(b"x" * size, mimetype="application/octet-stream")

        @app.get("/stream/<int:size>")
        def streamed(size: int) -> Response:
            def body() -> Iterator[bytes]:
                sent = 0
                while sent < size:
                    piece = min(64 * 1024, size - sent)
                    sent += piece
                    yield b"y" * piece

            return Response(body(), mimetype="application/octet-stream")  # no Content-Length

        @app.get("/status/<int:code>")
        def status(code: int) -> Response:
            return Response(f"status {code}", status=code)

        @app.get("/hop/<int:left>")
        def hop(left: int) -> BaseResponse:
            target = "/image.png" if left == 0 else f"/hop/{left - 1}"
            return redirect(target, 302)

        @app.get("/absolute-hop")
        def absolute_hop() -> BaseResponse:
            return redirect(f"http://localhost:{self.port}/image.jpg", 307)

        @app.get("/redirect")
        def redirect_to() -> BaseResponse:
            return redirect(request.args["to"], 302)

        @app.get("/slow")
        def slow() -> Response:
            time.sleep(1.0)
            return Response(self.png, mimetype="image/png")

        @app.get("/gzip")
        def gzipped() -> Response:
            response = Response(gzip.compress(self.png), mimetype="image/png")
            response.headers["Content-Encoding"] = "gzip"
            return response

        @app.get("/short")
        def short() -> Response:
            def body() -> Iterator[bytes]:
                yield self.png[:40]

            response = Response(body(), mimetype="image/png")
            response.headers["Content-Length"] = str(len(self.png))
            return response

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        self.running = RunningServer(self.server, thread, f"http://127.0.0.1:{self.port}")

    def url(self, path: str) -> str:
        return f"{self.running.base_url}{path}"


def open_only(client: httpx.Client, url: str, policy: UrlPolicy, **options: Any) -> None:
    """Open a stream that is expected to fail before it yields."""
    with open_stream(client, url, policy, **options):
        pytest.fail("the stream must not open")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.running.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http


# --- check_url ----------------------------------------------------------------------------------

UNSAFE_URLS = [
    "ftp://cdn.example.com/a.png",
    "file:///etc/passwd",
    "gopher://cdn.example.com/",
    "data:image/png;base64,iVBORw0KGgo=",
    "javascript:alert(1)",
    "cdn.example.com/a.png",
    "http:///a.png",
    "http://user:secret@cdn.example.com/a.png",
    "http://user@cdn.example.com/a.png",
    "http://127.0.0.1:80@cdn.example.com/a.png",
    "http://cdn.example.com\\@127.0.0.1/a.png",
    "http://cdn.example.com /a.png",
    "http://127.0.0.1/",
    "http://127.8.9.10/",
    "http://localhost/",
    "http://loop.example.com/",
    "http://loop6.example.com/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.1/",
    "http://0x7f000001/",
    "http://127.1/",
    "http://127.0.0.1./",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://10.0.0.1/",
    "http://10.1/",
    "http://172.16.5.4/",
    "http://192.168.0.1/",
    "http://0xc0.0xa8.0.1/",
    "http://internal.example.com/",
    "http://rebind.example.com/",
    "http://mapped.example.com/",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.example.com/",
    "http://2852039166/",
    "http://[fd00:ec2::254]/",
    "http://169.254.10.20/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://cgnat.example.com/",
    "http://224.0.0.251/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.2.10/",
    "http://198.18.0.1/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:c0a8:1::]/",
    "http://[2001:db8::1]/",
    "http://%31%32%37.0.0.1/",
    "http://127\uff0e0\uff0e0\uff0e1/",
    "http://256.0.0.1/",
]


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_check_url_refuses_unsafe_urls(url: str) -> None:
    assert len(UNSAFE_URLS) >= 25
    with pytest.raises(UnsafeUrlError) as caught:
        check_url(url, SAFE)
    assert isinstance(caught.value, MediajobsError)
    assert str(caught.value)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://cdn.example.com/", "scheme 'ftp' is not allowed"),
        ("http://user:pw@cdn.example.com/", "credentials"),
        ("http:///x", "no host"),
        ("http://2130706433/", "loopback"),
        ("http://169.254.169.254/", "metadata"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://[::ffff:10.0.0.1]/", "private network address (IPv4 10.0.0.1 inside IPv6)"),
        ("http://rebind.example.com/", "192.168.1.20"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
    ],
)
def test_check_url_says_why_a_url_is_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrlError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_url(url, SAFE)


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("https://cdn.example.com/out/a.png?X-Amz-Signature=abc", [PUBLIC]),
        ("http://v6.example.com:8080/a.mp4", ["2606:4700::1111"]),
        ("https://8.8.8.8/a.png", ["8.8.8.8"]),
        ("https://[2606:4700:4700::1111]/a.png", ["2606:4700:4700::1111"]),
    ],
)
def test_check_url_returns_the_vetted_addresses_of_a_public_url(url: str, addresses: list[str]) -> None:
    vetted = check_url(url, SAFE)
    assert [str(address) for address in vetted.addresses] == addresses
    assert str(vetted.url) == url


def test_check_url_reports_an_unresolvable_host_as_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="could not resolve host"):
        check_url("https://nowhere.example.com/a.png", SAFE)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://2130706433/",
        "http://localhost/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_loopback_is_allowed_only_when_the_policy_says_so(url: str) -> None:
    with pytest.raises(UnsafeUrlError, match="loopback"):
        check_url(url, UrlPolicy())
    assert all(address.is_loopback for address in check_url(url, LOOPBACK_OK).addresses)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[fc00::1]/",
    ],
)
def test_allowing_loopback_allows_nothing_else(url: str) -> None:
    with pytest.raises(UnsafeUrlError):
        check_url(url, replace(SAFE, allow_loopback=True))


def test_redact_drops_credentials_query_and_fragment() -> None:
    assert redact("https://u:p@cdn.example.com/a/b.png?X-Amz-Signature=s3cr3t#frag") == (
        "https://cdn.example.com/a/b.png"
    )


# --- open_stream ------------------------------------------------------------------------------


def test_a_loopback_server_is_refused_by_the_default_policy(server: Server, client: httpx.Client) -> None:
    hits_before = len(server.hits)
    with pytest.raises(UnsafeUrlError, match="loopback"):
        fetch_image(client, server.url("/image.png"), UrlPolicy(), max_bytes=1_000_000)
    assert len(server.hits) == hits_before  # refused before any request was sent


def test_open_stream_yields_status_headers_and_body(server: Server, client: httpx.Client) -> None:
    with open_stream(client, server.url("/bytes/5000"), LOOPBACK_OK, max_bytes=10_000, timeout=5) as download:
        body = b"".join(download.iter_bytes(1024))
        assert (download.status, download.content_type, download.content_length) == (
            200,
            "application/octet-stream",
            5000,
        )
    assert body == b"x" * 5000
    assert download.final_url == server.url("/bytes/5000")


def test_open_stream_reports_no_length_for_a_chunked_body(server: Server, client: httpx.Client) -> None:
    with open_stream(
        client, server.url("/stream/3000"), LOOPBACK_OK, max_bytes=10_000, timeout=5
    ) as download:
        assert download.content_length is None
        assert download.read() == b"y" * 3000


def test_open_stream_follows_relative_redirects_within_the_limit(
    server: Server, client: httpx.Client
) -> None:
    with open_stream(client, server.url("/hop/2"), LOOPBACK_OK, max_bytes=100_000, timeout=5) as download:
        assert download.read() == server.png
    assert download.final_url == server.url("/image.png")


def test_open_stream_refuses_more_redirects_than_the_policy_allows(
    server: Server, client: httpx.Client
) -> None:
    hits_before = len(server.hits)
    with pytest.raises(FetchError, match="more than 3 redirects"):
        open_only(client, server.url("/hop/3"), LOOPBACK_OK, max_bytes=100_000, timeout=5)
    assert server.hits[hits_before:] == ["/hop/3", "/hop/2", "/hop/1", "/hop/0"]


def test_open_stream_checks_every_redirect_hop_again(server: Server, client: httpx.Client) -> None:
    # Given a policy whose resolver records the hosts it is asked about
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    policy = UrlPolicy(allow_loopback=True, resolver=resolver)

    # When a redirect sends the download to another host name
    with open_stream(client, server.url("/absolute-hop"), policy, max_bytes=100_000, timeout=5) as download:
        data = download.read()

    # Then the new host was vetted before it was fetched
    assert asked == ["localhost"]
    assert data == server.jpeg


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/internal",
        "http://[::ffff:192.168.0.1]/",
        "file:///etc/passwd",
        "http://user:pw@127.0.0.1/image.png",
        "http://0x0a.1/",
    ],
)
def test_a_redirect_to_an_unsafe_url_is_refused(server: Server, client: httpx.Client, target: str) -> None:
    url = str(httpx.URL(server.url("/redirect"), params={"to": target}))
    with pytest.raises(UnsafeUrlError):
        open_only(client, url, LOOPBACK_OK, max_bytes=100_000, timeout=5)


def test_a_redirect_from_a_public_host_to_loopback_is_refused() -> None:
    # Given a public host (answered by a mock transport) that redirects to loopback
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://127.0.0.1:9/image.png"})

    # When it is fetched with loopback not allowed
    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as mocked,
        pytest.raises(UnsafeUrlError, match="loopback"),
    ):
        open_only(mocked, "https://cdn.example.com/out.png", SAFE, max_bytes=10, timeout=5)

    # Then the first hop was fetched and the second was refused before any request
    assert sent == ["https://cdn.example.com/out.png"]


@pytest.mark.parametrize(
    ("code", "retryable"), [(404, False), (403, False), (429, True), (500, True), (503, True)]
)
def test_open_stream_raises_fetch_error_for_non_2xx(
    server: Server, client: httpx.Client, code: int, retryable: bool
) -> None:
    with pytest.raises(FetchError, match=f"HTTP {code}") as caught:
        open_only(client, server.url(f"/status/{code}"), LOOPBACK_OK, max_bytes=1000, timeout=5)
    assert caught.value.status == code
    assert caught.value.retryable is retryable


def test_a_declared_length_over_the_limit_is_refused_before_reading(
    server: Server, client: httpx.Client
) -> None:
    with pytest.raises(TooLargeError, match="5001 bytes, more than the 5000 allowed") as caught:
        open_only(client, server.url("/bytes/5001"), LOOPBACK_OK, max_bytes=5000, timeout=5)
    assert caught.value.limit == 5000


def test_a_body_without_length_stops_once_over_the_limit(server: Server, client: httpx.Client) -> None:
    received: list[int] = []

    def drain(download: Download) -> None:
        received.extend(len(chunk) for chunk in download.iter_bytes(16 * 1024))

    download_cm = open_stream(
        client, server.url("/stream/2000000"), LOOPBACK_OK, max_bytes=300_000, timeout=5
    )
    with download_cm as download, pytest.raises(TooLargeError, match="more than the 300000 bytes allowed"):
        drain(download)
    assert sum(received) <= 300_000
    assert download.bytes_read < 300_000 + 64 * 1024 + 1


def test_a_body_of_exactly_the_limit_is_fine(server: Server, client: httpx.Client) -> None:
    with open_stream(
        client, server.url("/stream/300000"), LOOPBACK_OK, max_bytes=300_000, timeout=5
    ) as download:
        assert len(download.read()) == 300_000


def test_a_timeout_becomes_a_fetch_error(server: Server, client: httpx.Client) -> None:
    with pytest.raises(FetchError, match="timed out") as caught:
        open_only(client, server.url("/slow"), LOOPBACK_OK, max_bytes=100_000, timeout=0.2)
    assert caught.value.retryable


def test_a_refused_connection_becomes_a_fetch_error(client: httpx.Client) -> None:
    idle = make_server("127.0.0.1", 0, Flask("idle"))
    port = idle.server_port
    idle.server_close()  # nothing listens on this port any more
    with pytest.raises(FetchError, match=r"could not fetch http://127\.0\.0\.1"):
        open_only(client, f"http://127.0.0.1:{port}/a.png", LOOPBACK_OK, max_bytes=10, timeout=2)


def test_a_body_shorter_than_its_length_becomes_a_fetch_error(server: Server, client: httpx.Client) -> None:
    download_cm = open_stream(client, server.url("/short"), LOOPBACK_OK, max_bytes=100_000, timeout=5)
    with download_cm as download, pytest.raises(FetchError, match=r"broke off|announced"):
        download.read()


def test_a_compressed_body_is_refused(server: Server, client: httpx.Client) -> None:
    with pytest.raises(FetchError, match="gzip"):
        open_only(client, server.url("/gzip"), LOOPBACK_OK, max_bytes=100_000, timeout=5)


def test_errors_never_show_the_query_of_a_presigned_url(server: Server, client: httpx.Client) -> None:
    with pytest.raises(FetchError) as caught:
        open_only(
            client, server.url("/status/404?X-Amz-Signature=s3cr3t"), LOOPBACK_OK, max_bytes=10, timeout=5
        )
    assert "s3cr3t" not in str(caught.value)
    assert "/status/404" in str(caught.value)


# --- fetch_image ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fmt", "size"),
    [("/image.png", "png", (64, 48)), ("/image.jpg", "jpeg", (80, 60)), ("/image.webp", "webp", (32, 16))],
)
def test_fetch_image_returns_bytes_and_what_they_are(
    server: Server, client: httpx.Client, path: str, fmt: str, size: tuple[int, int]
) -> None:
    fetched = fetch_image(client, server.url(path), LOOPBACK_OK, max_bytes=1_000_000)
    assert (fetched.info.format, fetched.info.width, fetched.info.height) == (fmt, *size)
    assert fetched.info.content_type == f"image/{fmt}"
    assert Image.open(io.BytesIO(fetched.data)).size == size
    assert fetched.final_url == server.url(path)


def test_fetch_image_follows_redirects(server: Server, client: httpx.Client) -> None:
    fetched = fetch_image(client, server.url("/hop/1"), LOOPBACK_OK, max_bytes=1_000_000)
    assert fetched.data == server.png
    assert fetched.final_url == server.url("/image.png")


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("/page.html", r"an HTML page \(served as text/html; charset=utf-8"),
        ("/image.gif", r"a GIF image \(served as image/gif"),
        ("/bytes/100", r"text \(served as application/octet-stream, 100 bytes\)"),
        ("/bytes/0", "an empty file"),
    ],
)
def test_fetch_image_says_what_it_found_instead_of_an_image(
    server: Server, client: httpx.Client, path: str, found: str
) -> None:
    with pytest.raises(NotAnImageError, match=found) as caught:
        fetch_image(client, server.url(path), LOOPBACK_OK, max_bytes=1_000_000)
    assert isinstance(caught.value, MediajobsError)


def test_fetch_image_is_bounded(server: Server, client: httpx.Client) -> None:
    with pytest.raises(TooLargeError):
        fetch_image(client, server.url("/stream/500000"), LOOPBACK_OK, max_bytes=100_000)
