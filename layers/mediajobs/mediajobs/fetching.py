"""Bounded downloads from URLs that clients and providers hand us.

A product image URL comes from a client and a provider output URL from a provider: neither is
trusted. Before every request (and every redirect hop) :func:`check_url` vets the URL: http(s)
only, no credentials, and a host that neither is nor resolves to an address inside our own network
(loopback, private, link-local, CGNAT, the cloud metadata service, multicast, reserved, and the
IPv6 and numeric spellings of those). Bodies are read in chunks with a byte limit, so a hostile
or broken server cannot make a function hold more than it asked for.

:func:`check_url` returns the addresses it vetted so that connections can later be pinned to them
(closing the gap between this check and the resolution httpx does itself when it connects).
Error messages name the host and path of a URL, never its query: provider output URLs are
presigned and their signatures must not reach logs or job records.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote

import httpx

from mediajobs.errors import MediajobsError
from mediajobs.media_probe import ImageInfo, describe_bytes, sniff_image

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

DEFAULT_CHUNK_SIZE: Final = 64 * 1024
DEFAULT_MAX_IMAGE_BYTES: Final = 20 * 1024 * 1024
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_CGNAT: Final = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64: Final = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_METADATA: Final = frozenset(
    {ipaddress.IPv4Address("169.254.169.254"), ipaddress.IPv6Address("fd00:ec2::254")}
)
_HOST_CHARACTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
_NUMBER: Final = re.compile(r"0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*")


def default_timeout() -> httpx.Timeout:
    return httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0)


class UnsafeUrlError(MediajobsError):
    """The URL may not be fetched: wrong scheme, credentials, or a host inside our network."""


class FetchError(MediajobsError):
    """The download failed: an HTTP error status, a timeout, or a broken connection."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def retryable(self) -> bool:
        """Transport failures, 408, 429 and 5xx may succeed later; other statuses will not."""
        return self.status is None or self.status in {408, 429} or self.status >= 500


class TooLargeError(MediajobsError):
    """The body is larger than the caller allowed."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class NotAnImageError(MediajobsError):
    """The body is not a JPEG, PNG or WebP image."""


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, as text (what httpx would try when connecting)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class UrlPolicy:
    """Which URLs may be fetched. ``allow_loopback`` is for the local stack and tests only."""

    allow_loopback: bool = False
    allowed_schemes: frozenset[str] = frozenset({"http", "https"})
    max_redirects: int = 3
    resolver: Resolver = field(default=resolve_host, compare=False, repr=False)


@dataclass(frozen=True)
class VettedUrl:
    """A URL that passed :func:`check_url`, with the addresses its host resolved to."""

    url: httpx.URL
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def redact(url: httpx.URL | str) -> str:
    """``scheme://host[:port]/path`` of a URL: no credentials, query or fragment."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except httpx.InvalidURL:
        return "<invalid URL>"
    return str(parsed.copy_with(username=None, password=None, query=None, fragment=None))


def check_url(url: str | httpx.URL, policy: UrlPolicy) -> VettedUrl:
    """Vet ``url`` against ``policy`` and return it with the addresses its host resolves to.

    Raises :class:`UnsafeUrlError` if the URL must not be fetched, and :class:`FetchError` if its
    host does not resolve. Every resolved address is checked, not just the first.
    """
    text = str(url)
    if any(ch.isspace() or ord(ch) < 0x20 or ch in "\\\x7f" for ch in text):
        raise UnsafeUrlError("the URL contains whitespace, control characters or backslashes")
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise UnsafeUrlError(f"not a valid URL: {exc}") from exc
    if parsed.scheme not in policy.allowed_schemes:
        allowed = ", ".join(sorted(policy.allowed_schemes))
        raise UnsafeUrlError(f"URL scheme {parsed.scheme or '(none)'!r} is not allowed (only {allowed})")
    if parsed.userinfo:
        raise UnsafeUrlError("URLs with credentials (user:password@) are not allowed")
    host = parsed.host
    if not host:
        raise UnsafeUrlError("the URL has no host")
    port = parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 0)
    literal = _literal_address(host)
    if literal is not None:
        _refuse_if_unsafe(literal, host, policy)
        return VettedUrl(url=parsed, host=host, port=port, addresses=(literal,))
    if not set(host.lower()) <= _HOST_CHARACTERS or ".." in host or host.startswith((".", "-")):
        raise UnsafeUrlError(f"{host!r} is not a valid host name")
    addresses = _resolve(host, port, policy)
    for address in addresses:
        _refuse_if_unsafe(address, host, policy)
    return VettedUrl(url=parsed, host=host, port=port, addresses=addresses)


def _resolve(host: str, port: int, policy: UrlPolicy) -> tuple[IPAddress, ...]:
    try:
        texts = policy.resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"could not resolve host {host!r}: {exc}") from exc
    addresses: list[IPAddress] = []
    for text in texts:
        try:
            addresses.append(ipaddress.ip_address(text.split("%", 1)[0]))
        except ValueError as exc:
            raise UnsafeUrlError(f"host {host!r} resolved to {text!r}, which is not an address") from exc
    if not addresses:
        raise FetchError(f"host {host!r} resolved to no addresses")
    return tuple(addresses)


def _literal_address(host: str) -> IPAddress | None:
    """The address a host names directly, including inet_aton spellings (2130706433, 0x7f.1, 0177.0.0.1)."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(unquote(host).split("%", 1)[0])
        except ValueError as exc:
            raise UnsafeUrlError(f"{host!r} is not a valid IPv6 address") from exc
    return _inet_aton(host.removesuffix("."))


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """Parse ``host`` the way the C resolver does for numeric hosts: 1 to 4 parts, any base."""
    parts = host.lower().split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER.fullmatch(part) for part in parts):
        return None  # a name: the resolver decides, and every address it gives is checked
    numbers = [_number(part) for part in parts]
    *leading, last = numbers
    if any(number > 0xFF for number in leading) or last >= 1 << (8 * (5 - len(numbers))):
        raise UnsafeUrlError(f"{host!r} is a malformed numeric address")
    value = last
    for index, number in enumerate(leading):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _number(part: str) -> int:
    if part.startswith("0x"):
        return int(part[2:] or "0", 16)
    if part.startswith("0") and len(part) > 1:
        return int(part[1:], 8)
    return int(part)


def _refuse_if_unsafe(address: IPAddress, host: str, policy: UrlPolicy) -> None:
    reason = _unsafe_reason(address, policy)
    if reason is not None:
        shown = host if host == str(address) else f"{host!r} ({address})"
        raise UnsafeUrlError(f"refusing to fetch from {shown}: {reason}")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address really reaches: mapped, 6to4 and NAT64 forms."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _unsafe_reason(address: IPAddress, policy: UrlPolicy) -> str | None:  # noqa: PLR0911
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = _unsafe_reason(embedded, policy)
            return None if reason is None else f"{reason} (IPv4 {embedded} inside IPv6)"
    if address in _METADATA:
        return "the cloud instance metadata service"
    if address.is_loopback:
        return None if policy.allow_loopback else "a loopback address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_link_local:
        return "a link-local address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a carrier-grade NAT (100.64.0.0/10) address"
    if address.is_private:
        return "a private network address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public internet address"
    return None


class Download:
    """An open response: status, headers and a body that may be read once, within ``max_bytes``."""

    def __init__(
        self, response: httpx.Response, *, max_bytes: int, deadline: float | None, where: str
    ) -> None:
        self._response = response
        self._max_bytes = max_bytes
        self._deadline = deadline
        self._where = where
        self.final_url = str(response.url)
        self.status = response.status_code
        self.content_type: str | None = response.headers.get("content-type")
        self.content_length = _content_length(response)
        self.bytes_read = 0

    def iter_bytes(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        """The body in chunks of about ``chunk_size``; :class:`TooLargeError` past ``max_bytes``."""
        try:
            for chunk in self._response.iter_bytes(chunk_size):
                self.bytes_read += len(chunk)
                if self.bytes_read > self._max_bytes:
                    raise TooLargeError(
                        f"{self._where} sent more than the {self._max_bytes} bytes allowed",
                        limit=self._max_bytes,
                    )
                if self._deadline is not None and time.monotonic() > self._deadline:
                    raise FetchError(f"downloading {self._where} took too long")
                yield chunk
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out reading {self._where}: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"the download of {self._where} broke off: {type(exc).__name__}: {exc}") from exc
        if self.content_length is not None and self.bytes_read != self.content_length:
            raise FetchError(
                f"{self._where} announced {self.content_length} bytes but sent {self.bytes_read}"
            )

    def read(self) -> bytes:
        """The whole body (bounded by ``max_bytes``)."""
        return b"".join(self.iter_bytes())


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


@contextmanager
def open_stream(
    client: httpx.Client,
    url: str,
    policy: UrlPolicy,
    *,
    max_bytes: int,
    timeout: httpx.Timeout | float | None = None,
    total_timeout: float | None = None,
) -> Iterator[Download]:
    """GET ``url`` and yield the open :class:`Download`, following redirects one vetted hop at a time.

    ``timeout`` bounds each network operation (default: 5 s connect, 30 s read); ``total_timeout``,
    if given, bounds the whole download. The client's own headers go to every hop, so pass a client
    that carries no credentials. A non-2xx answer raises :class:`FetchError` with its status; a
    ``Content-Length`` over ``max_bytes`` raises :class:`TooLargeError` before the body is read.
    """
    deadline = None if total_timeout is None else time.monotonic() + total_timeout
    current: httpx.URL | str = url
    for _hop in range(policy.max_redirects + 1):
        vetted = check_url(current, policy)
        response = _send(client, vetted.url, timeout if timeout is not None else default_timeout())
        if response.is_redirect:
            response.close()
            try:
                current = vetted.url.join(response.headers["location"])
            except httpx.InvalidURL as exc:
                raise UnsafeUrlError(f"{redact(vetted.url)} redirected to an invalid URL: {exc}") from exc
            continue
        try:
            download = _accept(response, max_bytes=max_bytes, deadline=deadline)
            yield download
        finally:
            response.close()
        return
    raise FetchError(f"more than {policy.max_redirects} redirects, the last to {redact(current)}")


def _send(client: httpx.Client, url: httpx.URL, timeout: httpx.Timeout | float) -> httpx.Response:
    where = redact(url)
    request = client.build_request("GET", url, headers={"Accept-Encoding": "identity"}, timeout=timeout)
    try:
        return client.send(request, stream=True, follow_redirects=False)
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out fetching {where}: {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"could not fetch {where}: {type(exc).__name__}: {exc}") from exc


def _accept(response: httpx.Response, *, max_bytes: int, deadline: float | None) -> Download:
    where = redact(response.url)
    if not response.is_success:
        raise FetchError(f"{where} answered HTTP {response.status_code}", status=response.status_code)
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in {"", "identity"}:
        # a compressed body could expand far beyond max_bytes in a single decoded chunk
        raise FetchError(f"{where} sent a {encoding!r}-encoded body although identity was asked for")
    download = Download(response, max_bytes=max_bytes, deadline=deadline, where=where)
    if download.content_length is not None and download.content_length > max_bytes:
        raise TooLargeError(
            f"{where} is {download.content_length} bytes, more than the {max_bytes} allowed",
            limit=max_bytes,
        )
    return download


@dataclass(frozen=True)
class FetchedImage:
    """A downloaded image and what its header says."""

    data: bytes = field(repr=False)
    info: ImageInfo
    final_url: str


def fetch_image(
    client: httpx.Client,
    url: str,
    policy: UrlPolicy,
    *,
    max_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
    timeout: httpx.Timeout | float | None = None,
) -> FetchedImage:
    """Download an image (bounded) and check from its bytes that it is a JPEG, PNG or WebP.

    Raises :class:`NotAnImageError` saying what was found instead, whatever the server called it.
    """
    with open_stream(client, url, policy, max_bytes=max_bytes, timeout=timeout) as download:
        data = download.read()
        content_type = download.content_type
        final_url = download.final_url
    info = sniff_image(data)
    if info is None:
        served_as = f"served as {content_type}" if content_type else "served without a content type"
        raise NotAnImageError(
            f"{redact(final_url)} is not a JPEG, PNG or WebP image: it is {describe_bytes(data)}"
            f" ({served_as}, {len(data)} bytes)"
        )
    return FetchedImage(data=data, info=info, final_url=final_url)
