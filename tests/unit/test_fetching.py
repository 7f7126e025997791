"""Bounded, vetted downloads, against a Flask server on loopback and a fake resolver (no network)."""

from __future__ import annotations

import gzip
import io
import logging
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Flask, Response, redirect, request
from local.sandboxes.common import RunningServer
from PIL import Image
from werkzeug.serving import make_server
from werkzeug.wrappers import Response as BaseResponse

from mediajobs.errors import MediajobsError
from mediajobs.fetching import (
    PIN_EXTENSION,
    Download,
    FetchError,
    NotAnImageError,
    PinnedNetworkBackend,
    TooLargeError,
    UnsafeUrlError,
    UrlPolicy,
    check_url,
    fetch_image,
    open_stream,
    post_pinned,
    redact,
    safe_client,
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
    "private172.example.com": ["172.20.1.1"],
    "linklocal.example.com": ["169.254.1.1"],
    "ula.example.com": ["fd00::1"],
    "linklocal6.example.com": ["fe80::1"],
    "mixed.example.com": [PUBLIC, "::1"],
    "zero.example.com": ["0.0.0.0"],  # noqa: S104 - an answer of the fake DNS, not a bind address
    "compat.example.com": ["::7f00:1"],
    "nat64.example.com": ["64:ff9b::a9fe:a9fe"],
    "metadata6.example.com": ["fd00:ec2::254"],
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
        self.hosts: list[str] = []
        self.png = _image("PNG", (64, 48))
        self.jpeg = _image("JPEG", (80, 60))
        self.webp = _image("WEBP", (32, 16))
        self.gif = _image("GIF")
        app = Flask("fetch-test")

        @app.before_request
        def record() -> None:
            self.hits.append(request.path)
            self.hosts.append(request.host)

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

# Every spelling below must be refused before any request is sent. 6to4 (2002::/16) and NAT64
# (64:ff9b::/96) addresses are refused when the IPv4 address inside them would be; the deprecated
# IPv4-compatible form (::a.b.c.d) is refused whatever it embeds; Teredo (2001::/32) always.
UNSAFE_URLS = [
    # schemes other than http(s), and URLs that are not absolute
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
    "dict://127.0.0.1:11211/",
    "ws://cdn.example.com/",
    # loopback: other addresses of 127/8, case and trailing dots, upper-case scheme
    "http://127.0.0.2/",
    "HTTP://127.0.0.1/",
    "http://LOCALHOST/",
    "http://localhost./",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    # private ranges at their edges
    "http://172.31.255.254/",
    "http://192.168.255.255/",
    "http://private172.example.com/",
    # the metadata service: decimal, octal, hex, mixed and short forms, IPv6 wrappings
    "http://0251.0376.0251.0376/",  # refused by the URL parser (octal with a leading 0)
    "http://0xA9FEA9FE/",
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://169.254.43518/",
    "http://169.16689662/",
    "http://0xA9.254.0251.0376/",
    "http://0xa9.0376.43518/",
    "http://169.254.169.254./",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://metadata6.example.com/",
    "http://linklocal.example.com/",
    # CGNAT and the unspecified address
    "http://100.64.0.0/",
    "http://0.0.0.0:8080/",
    "http://0x00000000/",
    "http://zero.example.com/",
    # IPv6: link-local and unique-local at their edges, resolved names, IPv4-compatible forms
    "http://[febf::1]/",
    "http://[fdff:ffff::1]/",
    "http://ula.example.com/",
    "http://linklocal6.example.com/",
    "http://[::127.0.0.1]/",
    "http://[::7f00:1]/",
    "http://[::10.0.0.1]/",
    "http://compat.example.com/",
    "http://[::ffff:0:0]/",
    # NAT64, 6to4 and Teredo addresses that reach inside
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::169.254.169.254]/",
    "http://nat64.example.com/",
    "http://[2002:7f00:1::]/",
    "http://[2002:a9fe:a9fe::]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    # userinfo, fragment and query tricks
    "http://example.com@127.0.0.1/",
    "http://example.com:80@169.254.169.254/",
    "http://127.0.0.1#@example.com/",
    "http://127.0.0.1?@example.com/",
    # a name with one public and one loopback address, and with a trailing dot
    "http://mixed.example.com/",
    "https://internal.example.com./",
]


def test_the_ssrf_list_has_at_least_40_distinct_spellings() -> None:
    assert len(set(UNSAFE_URLS)) == len(UNSAFE_URLS) >= 40
    print(f"SSRF spellings refused: {len(UNSAFE_URLS)}")


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_check_url_refuses_unsafe_urls(url: str) -> None:
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
        ("http://example.com@127.0.0.1/", "credentials"),
        ("http://[::7f00:1]/", "deprecated IPv4-compatible IPv6 address (IPv4 127.0.0.1 inside IPv6)"),
        ("http://[2002:a9fe:a9fe::]/", "metadata service (IPv4 169.254.169.254 inside IPv6)"),
        ("http://mixed.example.com/", "'mixed.example.com' (::1): a loopback address"),
    ],
)
def test_check_url_says_why_a_url_is_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrlError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_url(url, SAFE)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://2852039166/",
        "http://0xA9FEA9FE/",
        "http://0xa9.0xfe.0xa9.0xfe/",
        "http://169.254.43518/",
        "http://169.16689662/",
        "http://0xa9.0376.43518/",
        "http://169.254.169.254./",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::169.254.169.254]/",
        "http://[fd00:ec2::254]/",
        "http://metadata.example.com/",
    ],
)
def test_every_spelling_of_the_metadata_service_is_named_as_such(url: str) -> None:
    with pytest.raises(UnsafeUrlError, match="the cloud instance metadata service"):
        check_url(url, replace(SAFE, allow_loopback=True))


@pytest.mark.parametrize(
    ("url", "address"),
    [("http://[64:ff9b::808:808]/", "64:ff9b::808:808"), ("http://[2002:808:808::]/", "2002:808:808::")],
)
def test_nat64_and_6to4_addresses_of_a_public_ipv4_address_are_allowed(url: str, address: str) -> None:
    assert [str(a) for a in check_url(url, SAFE).addresses] == [address]


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


def test_the_request_line_httpx_logs_shows_no_query(
    server: Server, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    # Given httpx logging at INFO, as on Lambda, where it writes one line per request
    with caplog.at_level(logging.INFO, logger="httpx"):
        # When a presigned URL is downloaded
        url = server.url("/bytes/10?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=s3cr3t")
        with open_stream(client, url, LOOPBACK_OK, max_bytes=100, timeout=5) as download:
            download.read()

    # Then the line names the host and path only
    lines = [record.getMessage() for record in caplog.records if record.name == "httpx"]
    assert lines == [f'HTTP Request: GET {server.url("/bytes/10")} "HTTP/1.1 200 OK"']


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


# --- connections go to the vetted address (no DNS rebinding window) ---------------------------------


class SequenceResolver:
    """A resolver whose answers change between calls, like a rebinding DNS server."""

    def __init__(self, *rounds: list[str]) -> None:
        self.rounds = list(rounds)
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.rounds[min(len(self.asked), len(self.rounds)) - 1]


def http_answer(status: str = "200 OK", body: bytes = b"", headers: tuple[str, ...] = ()) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class SpyStream(httpcore.NetworkStream):
    """One fake connection: records what is written and TLS, answers from the script."""

    def __init__(self, spy: SpyBackend, answer: bytes) -> None:
        self.spy = spy
        self.answer = answer

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        chunk, self.answer = self.answer[:max_bytes], self.answer[max_bytes:]
        return chunk

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.spy.sent += buffer

    def close(self) -> None:
        pass

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        self.spy.tls_hostnames.append(server_hostname)
        return self


class SpyBackend(httpcore.NetworkBackend):
    """Stands in for sockets: where each connection went, what was sent, one scripted answer each."""

    def __init__(self, *answers: bytes, unreachable: frozenset[str] = frozenset()) -> None:
        self.answers = list(answers)
        self.unreachable = unreachable
        self.attempts: list[tuple[str, int]] = []
        self.connections: list[tuple[str, int]] = []
        self.tls_hostnames: list[str | None] = []
        self.sent = b""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        self.attempts.append((host, port))
        if host in self.unreachable:
            raise httpcore.ConnectError(f"{host} is unreachable")
        self.connections.append((host, port))
        return SpyStream(self, self.answers.pop(0))

    def header(self, name: str) -> list[str]:
        """Every value of header ``name`` in the requests sent."""
        prefix = f"{name.lower()}:"
        lines = self.sent.decode("latin-1").split("\r\n")
        return [line.split(":", 1)[1].strip() for line in lines if line.lower().startswith(prefix)]


def test_a_rebinding_host_is_connected_to_the_address_that_was_vetted() -> None:
    # Given a name that resolves to a public address first and to loopback the next time
    resolver = SequenceResolver([PUBLIC], ["127.0.0.1"])
    spy = SpyBackend(http_answer(body=b"img"))
    policy = UrlPolicy(resolver=resolver)

    # When it is downloaded
    with (
        safe_client(policy, network_backend=spy) as http,
        open_stream(http, "https://rebind-once.example.com/a.png", policy, max_bytes=100) as download,
    ):
        body = download.read()

    # Then the name was resolved once and the one connection went to the vetted address,
    # with the Host header and TLS server name of the original host
    assert resolver.asked == ["rebind-once.example.com"]
    assert spy.connections == [(PUBLIC, 443)]
    assert spy.header("host") == ["rebind-once.example.com"]
    assert spy.tls_hostnames == ["rebind-once.example.com"]
    assert body == b"img"


def test_a_safe_client_vets_and_pins_a_request_by_itself() -> None:
    # Given a rebinding name and a safe client used directly (no open_stream)
    resolver = SequenceResolver([PUBLIC], ["127.0.0.1"])
    spy = SpyBackend(http_answer(body=b"ok"))

    # When a request is sent
    with safe_client(UrlPolicy(resolver=resolver), network_backend=spy) as http:
        answer = http.get("http://rebind-once.example.com:8080/x?sig=1")

    # Then the transport resolved the name once and connected to what it vetted
    assert (answer.status_code, answer.content) == (200, b"ok")
    assert resolver.asked == ["rebind-once.example.com"]
    assert spy.connections == [(PUBLIC, 8080)]
    assert spy.header("host") == ["rebind-once.example.com:8080"]
    assert spy.tls_hostnames == []


def test_a_safe_client_refuses_an_unsafe_url_before_connecting() -> None:
    spy = SpyBackend(http_answer())
    with (
        safe_client(SAFE, network_backend=spy) as http,
        pytest.raises(UnsafeUrlError, match="metadata service"),
    ):
        http.get("http://0xA9FEA9FE/latest/meta-data/")
    assert spy.attempts == []


def test_a_redirect_from_a_public_host_to_the_metadata_service_is_refused() -> None:
    # Given a public host that redirects to the metadata service
    spy = SpyBackend(
        http_answer("302 Found", headers=("Location: http://169.254.169.254/latest/meta-data/",))
    )

    # When it is fetched
    with (
        safe_client(SAFE, network_backend=spy) as http,
        pytest.raises(UnsafeUrlError, match="metadata service"),
    ):
        open_only(http, "https://cdn.example.com/out.png", SAFE, max_bytes=100)

    # Then only the public host was connected to
    assert spy.attempts == [(PUBLIC, 443)]


def test_a_vetted_address_of_another_host_is_not_used_for_a_request() -> None:
    # Given a request that carries the vetting of a public host but names an internal one
    spy = SpyBackend(http_answer())
    vetted = check_url("https://cdn.example.com/", SAFE)
    with safe_client(SAFE, network_backend=spy) as http:
        request = http.build_request(
            "GET", "https://internal.example.com/", extensions={PIN_EXTENSION: vetted}
        )

        # When it is sent, then the transport vets the URL it really names and refuses it
        with pytest.raises(UnsafeUrlError, match="private network"):
            http.send(request)
    assert spy.attempts == []


def test_the_pinned_backend_connects_nowhere_outside_a_vetted_request() -> None:
    spy = SpyBackend(http_answer())
    with pytest.raises(httpcore.ConnectError, match="no vetted address"):
        PinnedNetworkBackend(spy).connect_tcp("cdn.example.com", 443)
    assert spy.attempts == []


def test_a_host_with_several_addresses_is_tried_on_its_vetted_addresses_only() -> None:
    # Given a name with two public addresses, the first of which does not answer
    policy = UrlPolicy(resolver=SequenceResolver([PUBLIC, "93.184.215.15"], ["127.0.0.1"]))
    spy = SpyBackend(http_answer(body=b"img"), unreachable=frozenset({PUBLIC}))

    # When it is fetched
    with safe_client(policy, network_backend=spy) as http:
        fetched = http.get("https://two.example.com/a.png")

    # Then the second vetted address was used, never a new resolution
    assert fetched.content == b"img"
    assert spy.attempts == [(PUBLIC, 443), ("93.184.215.15", 443)]


def test_a_plain_client_never_opens_the_connection_itself(server: Server, client: httpx.Client) -> None:
    # Given a name no real DNS knows, vetted to the loopback server once and to a private
    # address afterwards, and a plain httpx client (which would resolve the name again)
    resolver = SequenceResolver(["127.0.0.1"], ["10.9.9.9"])
    policy = UrlPolicy(allow_loopback=True, resolver=resolver)

    # When it is fetched through that client
    fetched = fetch_image(client, f"http://shop.invalid:{server.port}/image.png", policy, max_bytes=100_000)

    # Then the connection went to the vetted address and the server saw the original Host
    assert fetched.data == server.png
    assert resolver.asked == ["shop.invalid"]
    assert server.hosts[-1] == f"shop.invalid:{server.port}"


def test_post_pinned_posts_to_the_vetted_address_and_returns_the_status() -> None:
    # Given a webhook URL whose name rebinds to loopback after it was vetted
    resolver = SequenceResolver([PUBLIC], ["127.0.0.1"])
    spy = SpyBackend(http_answer("204 No Content"))

    # When an event is posted
    with safe_client(network_backend=spy) as http:
        status = post_pinned(
            http,
            "https://hooks.example.com/in?token=abc",
            UrlPolicy(resolver=resolver),
            content=b'{"type":"job.succeeded"}',
            headers={"content-type": "application/json"},
            timeout=5,
        )

    # Then it went once, to the vetted address, with the body, and its status is returned
    assert status == 204
    assert spy.connections == [(PUBLIC, 443)]
    assert spy.header("host") == ["hooks.example.com"]
    assert spy.sent.endswith(b'{"type":"job.succeeded"}')


def test_post_pinned_does_not_follow_a_redirect() -> None:
    spy = SpyBackend(http_answer("307 Temporary Redirect", headers=("Location: http://127.0.0.1/",)))
    with safe_client(network_backend=spy) as http:
        status = post_pinned(http, "https://cdn.example.com/hook", SAFE, content=b"{}", headers={}, timeout=5)
    assert status == 307
    assert spy.attempts == [(PUBLIC, 443)]


def test_post_pinned_refuses_an_unsafe_url_before_connecting() -> None:
    spy = SpyBackend(http_answer())
    with (
        safe_client(network_backend=spy) as http,
        pytest.raises(UnsafeUrlError, match="credentials"),
    ):
        post_pinned(http, "https://example.com@127.0.0.1/", SAFE, content=b"{}", headers={}, timeout=5)
    assert spy.attempts == []


def test_post_pinned_reports_a_connection_failure_without_the_query() -> None:
    spy = SpyBackend(unreachable=frozenset({PUBLIC}))
    with safe_client(network_backend=spy) as http, pytest.raises(FetchError) as caught:
        post_pinned(
            http, "https://cdn.example.com/hook?token=s3cr3t", SAFE, content=b"{}", headers={}, timeout=5
        )
    assert str(caught.value) == "could not POST to https://cdn.example.com/hook: ConnectError"
    assert caught.value.retryable


def test_a_safe_client_keeps_no_cookies() -> None:
    spy = SpyBackend(http_answer(headers=("Set-Cookie: session=abc; Path=/",)), http_answer(body=b"second"))
    with safe_client(SAFE, network_backend=spy) as http:
        http.get("https://cdn.example.com/a")
        http.get("https://cdn.example.com/b")
        assert not http.cookies
    assert spy.header("cookie") == []


# --- TLS: SNI and the certificate check stay on the host name ---------------------------------------


class TlsServer:
    """An HTTPS server on loopback with a certificate for ``shop.test`` only, recording SNI."""

    def __init__(self, directory: Path) -> None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fetch-test CA")])
        now = datetime.now(UTC)
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.test")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("shop.test")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_file, key_file = directory / "leaf.pem", directory / "leaf.key"
        cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.client_context = ssl.create_default_context(
            cadata=ca.public_bytes(serialization.Encoding.PEM).decode()
        )
        self.server_names: list[str | None] = []
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(cert_file, key_file)
        server_context.sni_callback = self._record_server_name
        app = Flask("fetch-tls-test")
        self.png = _image("PNG", (8, 8))

        @app.get("/image.png")
        def image() -> Response:
            return Response(self.png, mimetype="image/png")

        self.server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=server_context)
        self.port = self.server.server_port
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        self.running = RunningServer(self.server, thread, f"https://127.0.0.1:{self.port}")

    def _record_server_name(self, _sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        self.server_names.append(name)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    running = TlsServer(tmp_path_factory.mktemp("tls"))
    yield running
    running.running.stop()


TLS_NAMES = UrlPolicy(
    allow_loopback=True, resolver=lambda host, port: ["127.0.0.1"] if host.endswith(".test") else []
)


def test_tls_is_verified_against_the_host_name_not_the_pinned_address(tls_server: TlsServer) -> None:
    # Given a certificate for shop.test only (not for 127.0.0.1, where the name is pinned)
    with safe_client(TLS_NAMES, verify=tls_server.client_context) as http:
        # When the image is fetched by name
        fetched = fetch_image(http, f"https://shop.test:{tls_server.port}/image.png", TLS_NAMES)

    # Then the handshake named shop.test and its certificate was accepted
    assert fetched.data == tls_server.png
    assert tls_server.server_names[-1] == "shop.test"


def test_a_certificate_for_another_name_is_refused_on_the_pinned_address(tls_server: TlsServer) -> None:
    # Given another name pinned to the same address, whose certificate the server does not have
    with (
        safe_client(TLS_NAMES, verify=tls_server.client_context) as http,
        pytest.raises(FetchError, match=r"certificate is not valid for 'alias\.test'"),
    ):
        # When it is fetched, then the certificate check fails for that name
        fetch_image(http, f"https://alias.test:{tls_server.port}/image.png", TLS_NAMES)
