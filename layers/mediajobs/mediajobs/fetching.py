"""Bounded downloads from URLs that clients and providers hand us.

A product image URL comes from a client and a provider output URL from a provider: neither is
trusted. Before every request (and every redirect hop) :func:`check_url` vets the URL: http(s)
only, no credentials, and a host that neither is nor resolves to an address inside our own network
(loopback, private, link-local, CGNAT, the cloud metadata service, multicast, reserved, and the
IPv6 and numeric spellings of those). Bodies are read in chunks with a byte limit, so a hostile
or broken server cannot make a function hold more than it asked for.

:func:`check_url` returns the addresses it vetted, and the connection goes to one of those
addresses, never to what the name resolves to a moment later (no DNS rebinding window):
:class:`PinnedTransport` is an ``httpx.HTTPTransport`` whose connection pool has a network backend
that connects to the vetted IP while the request keeps its URL, so the ``Host`` header, the TLS
SNI and the certificate check stay on the original host name. It keeps no idle connections, so
every request connects to the addresses vetted for it. Every outbound request of mediajobs goes
through it: :func:`open_stream` and :func:`fetch_image` (product images, provider outputs) and
:func:`post_pinned` (client webhooks); :func:`safe_client` builds a client that uses it for any
request (vetting the URL itself when the request carries no vetted address).

Error messages name the host and path of a URL, never its query: provider output URLs are
presigned and their signatures must not reach logs or job records (:func:`mediajobs.observability.redact`;
the observability module also redacts the URLs in httpx's own INFO lines).

Size: one module on purpose: the URL policy, the pinned transport and the redirect loop are one
security boundary, and a reader must see all of it to check that no request escapes the vetting.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Final
from urllib.parse import unquote

import httpcore
import httpx

from mediajobs.errors import MediajobsError
from mediajobs.media_probe import ImageInfo, describe_bytes, sniff_image
from mediajobs.observability import redact

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

DEFAULT_CHUNK_SIZE: Final = 64 * 1024
DEFAULT_MAX_IMAGE_BYTES: Final = 20 * 1024 * 1024
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_CGNAT: Final = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64: Final = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
#: ``::a.b.c.d``: the deprecated IPv4-compatible form (``::`` and ``::1`` are not in it)
_IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")
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
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
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
        if embedded is not None and address in _IPV4_COMPATIBLE:
            # never routed to the IPv4 address on purpose: refused whatever it embeds
            return f"a deprecated IPv4-compatible IPv6 address (IPv4 {embedded} inside IPv6)"
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


# --- connections pinned to the vetted addresses ---------------------------------------------------

#: the request extension that carries the :class:`VettedUrl` of a request to :class:`PinnedTransport`
PIN_EXTENSION: Final = "mediajobs.vetted_url"
#: a host that resolves to many addresses gets this many connection attempts, not one per address
MAX_CONNECT_ATTEMPTS: Final = 4
#: the vetted URL of the request being sent in this thread (set by PinnedTransport around a send)
_PINNED: ContextVar[VettedUrl | None] = ContextVar("mediajobs_pinned_url", default=None)


def _raw_host(url: httpx.URL) -> str:
    """The host as httpcore sees it when connecting (IDNA-encoded, IPv6 without brackets)."""
    return url.raw_host.decode("ascii").lower()


def _pins(vetted: VettedUrl, url: httpx.URL) -> bool:
    """Whether ``vetted`` is the vetting of ``url``'s host and port."""
    port = url.port or _DEFAULT_PORTS.get(url.scheme, 0)
    return _raw_host(vetted.url) == _raw_host(url) and vetted.port == port


class PinnedNetworkBackend(httpcore.NetworkBackend):
    """Connects to the addresses vetted for the request being sent, and to nothing else.

    httpcore asks for a connection to the request's host name; this backend never resolves it:
    it connects to the first reachable vetted address (at most :data:`MAX_CONNECT_ATTEMPTS`) and
    refuses a host or port that is not the vetted one. TLS is started afterwards by httpcore on
    the returned stream with ``server_hostname`` set to the original host, so SNI and the
    certificate check are unchanged.
    """

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner if inner is not None else httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        pinned = _PINNED.get()
        if pinned is None or host.lower() != _raw_host(pinned.url) or port != pinned.port:
            raise httpcore.ConnectError(f"refusing to connect to {host}:{port}: no vetted address for it")
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in pinned.addresses[:MAX_CONNECT_ATTEMPTS]:
            try:
                return self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        if failure is None:  # pragma: no cover - check_url never vets a host without addresses
            raise httpcore.ConnectError(f"no vetted address for {host}")
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("outbound requests never use unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """An ``httpx`` transport whose every connection goes to the addresses that were vetted.

    A request that carries its :class:`VettedUrl` in the :data:`PIN_EXTENSION` extension (what
    :func:`open_stream` and :func:`post_pinned` send) is connected to those addresses without
    resolving its host again; any other request is vetted here with ``policy`` first
    (:class:`UnsafeUrlError` or :class:`FetchError` are raised before anything is sent). No proxy
    from the environment is used, no idle connection is kept (each request connects to its own
    vetted address) and HTTP/2 is off.
    """

    def __init__(
        self,
        policy: UrlPolicy | None = None,
        *,
        verify: ssl.SSLContext | bool = True,
        network_backend: httpcore.NetworkBackend | None = None,
        max_connections: int = 50,
    ) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=0)
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self.policy = policy if policy is not None else UrlPolicy()
        # the pool HTTPTransport built is replaced by one that connects through the pinned backend
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=0,
            http1=True,
            http2=False,
            network_backend=PinnedNetworkBackend(network_backend),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        extensions = dict(request.extensions)
        vetted = extensions.pop(PIN_EXTENSION, None)
        if not (isinstance(vetted, VettedUrl) and _pins(vetted, request.url)):
            vetted = check_url(request.url, self.policy)
        request.extensions = extensions
        token = _PINNED.set(vetted)
        try:
            return super().handle_request(request)
        finally:
            _PINNED.reset(token)


def _no_cookies() -> CookieJar:
    """A jar that keeps nothing: one server's cookies never go to another tenant's URL."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def safe_client(
    policy: UrlPolicy | None = None,
    *,
    timeout: httpx.Timeout | float | None = None,
    verify: ssl.SSLContext | bool = True,
    network_backend: httpcore.NetworkBackend | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` for URLs we were handed: every request vetted and pinned.

    It uses a :class:`PinnedTransport` (no proxy from the environment), follows no redirects (a
    redirect must be vetted like the first URL: :func:`open_stream` does it hop by hop) and keeps
    no cookies. ``network_backend`` is for tests (a spy instead of real sockets).
    """
    return httpx.Client(
        transport=PinnedTransport(policy, verify=verify, network_backend=network_backend),
        follow_redirects=False,
        trust_env=False,
        cookies=_no_cookies(),
        timeout=timeout if timeout is not None else default_timeout(),
    )


@functools.cache
def _shared_client() -> httpx.Client:
    """Sends the requests of callers whose client would connect without pinning."""
    return safe_client()


def _sender(client: httpx.Client, url: httpx.URL) -> httpx.Client:
    """The client that sends ``url``: ``client``, unless it would open an unpinned connection.

    A plain ``httpx.HTTPTransport`` (or a proxy) resolves the host again when it connects, so such
    a client only builds the request (its headers and timeout) and :func:`_shared_client` sends
    it. Clients with a :class:`PinnedTransport`, and test doubles such as ``httpx.MockTransport``
    (they open no sockets), send it themselves.
    """
    transport = client._transport_for_url(url)  # httpx has no public way to ask
    if isinstance(transport, httpx.HTTPTransport) and not isinstance(transport, PinnedTransport):
        return _shared_client()
    return client


def send_pinned(
    client: httpx.Client,
    method: str,
    vetted: VettedUrl,
    *,
    timeout: httpx.Timeout | float,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """Send one request to ``vetted`` (no redirect followed), connected to its vetted addresses.

    Returns the streamed response (the caller closes it). Transport failures are raw ``httpx``
    errors; see :func:`open_stream` and :func:`post_pinned` for the wrapped forms.
    """
    request = client.build_request(
        method,
        vetted.url,
        headers=headers,
        content=content,
        timeout=timeout,
        extensions={PIN_EXTENSION: vetted},
    )
    return _sender(client, vetted.url).send(request, stream=True, follow_redirects=False)


def post_pinned(
    client: httpx.Client,
    url: str,
    policy: UrlPolicy,
    *,
    content: bytes,
    headers: Mapping[str, str],
    timeout: httpx.Timeout | float,
) -> int:
    """POST ``content`` to ``url`` once and return the status code (for client webhooks).

    The URL is vetted with ``policy`` and the connection pinned to the vetted addresses; a
    redirect is never followed (its status is returned) and the answer's body is never read.
    Raises :class:`UnsafeUrlError` (do not retry) or :class:`FetchError` (unresolvable host,
    timeout, connection error: retryable); messages never show the URL's query.
    """
    vetted = check_url(url, policy)
    where = redact(vetted.url)
    started = time.monotonic()
    try:
        response = send_pinned(client, "POST", vetted, timeout=timeout, headers=headers, content=content)
    except httpx.TimeoutException as exc:
        took = time.monotonic() - started
        raise FetchError(f"timed out after {took:.1f} s posting to {where} ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"could not POST to {where}: {type(exc).__name__}") from exc
    try:
        return response.status_code
    finally:
        response.close()


# --- bounded downloads ------------------------------------------------------------------------------


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
    that carries no credentials. Each hop connects to the addresses its vetting found (see
    :func:`_sender`: a client that would resolve the host again does not open the connection).
    A non-2xx answer raises :class:`FetchError` with its status; a ``Content-Length`` over
    ``max_bytes`` raises :class:`TooLargeError` before the body is read.
    """
    deadline = None if total_timeout is None else time.monotonic() + total_timeout
    current: httpx.URL | str = url
    for _hop in range(policy.max_redirects + 1):
        vetted = check_url(current, policy)
        response = _send(client, vetted, timeout if timeout is not None else default_timeout())
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


def _send(client: httpx.Client, vetted: VettedUrl, timeout: httpx.Timeout | float) -> httpx.Response:
    where = redact(vetted.url)
    try:
        return send_pinned(client, "GET", vetted, timeout=timeout, headers={"Accept-Encoding": "identity"})
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
