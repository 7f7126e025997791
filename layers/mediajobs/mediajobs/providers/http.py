"""The HTTP layer every provider adapter stands on.

One ``httpx.Client`` per adapter (and so per Lambda container), explicit timeouts, and one place
that turns transport failures and provider error responses into domain errors. Retries here are
short and bounded: a wait the provider asks for that is longer than ``max_inline_delay`` is not
slept inside a Lambda, it is raised as a :class:`RetryableProviderError` carrying ``retry_after``
so the state machine can wait without a running function. ``before_request`` is where the
shared rate limiter (:mod:`mediajobs.ratelimit`) holds a request back until its slot.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from mediajobs.errors import ErrorKind, ProviderError, RetryableProviderError

ErrorMapper = Callable[[httpx.Response], ProviderError]


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter, honouring the provider's own delay."""

    max_attempts: int = 3
    base_delay: float = 0.25
    max_delay: float = 4.0
    max_inline_delay: float = 5.0

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return (rng or random).uniform(0, ceiling)


NO_RETRY = RetryPolicy(max_attempts=1)


def default_timeout() -> httpx.Timeout:
    return httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or ``X-RateLimit-Reset`` (epoch)."""
    now = time.time() if now is None else now
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, when.timestamp() - now)
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            return None
    return None


@dataclass
class ProviderHttpClient:
    """A provider's base URL, auth headers and error mapping over one reusable ``httpx.Client``."""

    provider: str
    base_url: str
    headers: Mapping[str, str]
    error_mapper: ErrorMapper
    timeout: httpx.Timeout = field(default_factory=default_timeout)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    transport: httpx.BaseTransport | None = None
    #: called with the method before every request that goes out (the shared rate limiter)
    before_request: Callable[[str], None] | None = None
    sleep: Callable[[float], None] = time.sleep
    _client: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            base_url=self.base_url.rstrip("/"),
            headers=dict(self.headers),
            timeout=self.timeout,
            transport=self.transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one request; return the successful response or raise a domain error.

        ``idempotent`` (default: GET, PUT and DELETE are) decides whether a server error or a
        timeout may be retried here. A 429 and a refused connection are always safe to retry: the
        provider did not act on the request.
        """
        safe_to_repeat = method.upper() in {"GET", "PUT", "DELETE"} if idempotent is None else idempotent
        attempt = 0
        while True:
            error = self._send_once(method, path, json=json, params=params)
            if isinstance(error, httpx.Response):
                return error
            attempt += 1
            if not isinstance(error, RetryableProviderError) or not self._should_retry(
                error, attempt, safe_to_repeat=safe_to_repeat
            ):
                raise error
            delay = error.retry_after if error.retry_after is not None else self.retry.backoff(attempt)
            self.sleep(delay)

    def _should_retry(self, error: RetryableProviderError, attempt: int, *, safe_to_repeat: bool) -> bool:
        if attempt >= self.retry.max_attempts:
            return False
        if error.retry_after is not None and error.retry_after > self.retry.max_inline_delay:
            return False
        not_acted_on = error.kind is ErrorKind.RATE_LIMITED or error.provider_code == "connect_error"
        return safe_to_repeat or not_acted_on

    def _send_once(
        self, method: str, path: str, *, json: Any, params: Mapping[str, str] | None
    ) -> httpx.Response | ProviderError:
        if self.before_request is not None:
            self.before_request(method)
        try:
            response = self._client.request(method, path, json=json, params=params)
        except httpx.ConnectError as exc:
            return self._transport_error(ErrorKind.CONNECTION, "connect_error", exc)
        except httpx.TimeoutException as exc:
            return self._transport_error(ErrorKind.TIMEOUT, "timeout", exc)
        except httpx.TransportError as exc:
            return self._transport_error(ErrorKind.CONNECTION, "transport_error", exc)
        if response.is_success:
            return response
        return self.error_mapper(response)

    def _transport_error(self, kind: ErrorKind, code: str, exc: Exception) -> RetryableProviderError:
        return RetryableProviderError(
            provider=self.provider,
            kind=kind,
            provider_code=code,
            provider_message=f"{type(exc).__name__}: {exc}",
        )
