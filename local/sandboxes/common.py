"""What every provider sandbox shares: serving, request log, rate limits, fault knobs, files, webhooks.

A sandbox is a Flask app with in-memory state, served by werkzeug on loopback in a background
thread. Each provider module subclasses :class:`Sandbox`, registers the documented routes in
``register_routes`` and shapes errors in ``error_response``.

Fault knobs (``Faults``) are set at start or through the admin endpoint
``POST /_sandbox/config``; ``GET /_sandbox/requests`` returns the request log (used to check rate
limits from the outside) and ``GET /_sandbox/webhooks`` the webhook deliveries.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
from flask import Flask, Response, g, request
from pydantic import BaseModel, ConfigDict, Field
from werkzeug.serving import BaseWSGIServer, make_server

from local.sandboxes.media import http_client

ADMIN_PREFIX = "/_sandbox"
FILES_PREFIX = "/files"


class EndpointFaults(BaseModel):
    """Share of requests to one endpoint answered with a fault instead of the real answer."""

    model_config = ConfigDict(extra="forbid")

    server_error: float = Field(default=0.0, ge=0, le=1)
    rate_limited: float = Field(default=0.0, ge=0, le=1)
    timeout: float = Field(default=0.0, ge=0, le=1)


class Faults(BaseModel):
    """Fault knobs. ``endpoints`` is keyed by endpoint name (see each sandbox) or ``*`` for all."""

    model_config = ConfigDict(extra="forbid")

    endpoints: dict[str, EndpointFaults] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=35.0, ge=0, description="how long a 'timeout' fault hangs")
    job_failure_rate: float = Field(default=0.0, ge=0, le=1)
    failed_reason: str = "The generation failed in the sandbox (injected fault)"
    webhook_drop: float = Field(default=0.0, ge=0, le=1)
    webhook_duplicate: float = Field(default=0.0, ge=0, le=1)
    webhook_reorder: float = Field(default=0.0, ge=0, le=1)
    webhook_reorder_seconds: float = Field(default=1.5, ge=0)
    webhook_delay_seconds: float = Field(default=0.0, ge=0)
    seed: int | None = None

    def for_endpoint(self, name: str) -> EndpointFaults:
        return self.endpoints.get(name) or self.endpoints.get("*") or EndpointFaults()


class SandboxSettings(BaseModel):
    """Settings every sandbox has; provider sandboxes extend it with their durations and keys."""

    model_config = ConfigDict(extra="forbid")

    output_ttl_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    rate_limit_per_minute: int | None = Field(default=None, ge=1)
    rate_limit_per_day: int | None = Field(default=None, ge=1)
    webhook_attempts: int = Field(default=3, ge=1)
    webhook_retry_seconds: float = Field(default=1.0, ge=0)
    faults: Faults = Field(default_factory=Faults)


@dataclass(frozen=True)
class RequestRecord:
    at: float
    method: str
    path: str
    endpoint: str
    status: int
    fault: str | None


@dataclass(frozen=True)
class WebhookRecord:
    at: float
    #: when the sandbox decided to send it (the provider finishing), before any delay or retry
    queued_at: float
    url: str
    event: str
    status: int | None
    outcome: str  # delivered | failed | dropped


@dataclass
class StoredFile:
    data: bytes
    content_type: str
    expires_at: float


@dataclass
class RunningServer:
    """A sandbox being served; ``stop()`` shuts it down."""

    server: BaseWSGIServer
    thread: threading.Thread
    base_url: str

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class Sandbox:
    """Base of the provider sandboxes."""

    name: ClassVar[str] = "sandbox"
    #: endpoint names (Flask view names) that are the provider's API: logged, limited and faulted
    api_endpoints: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.rng = random.Random(settings.faults.seed)
        self.base_url = "http://127.0.0.1"
        self.requests: list[RequestRecord] = []
        self.webhooks: list[WebhookRecord] = []
        #: faults injected so far, by kind (``5xx``, ``timeout``, ``429``, ``job_failure``,
        #: ``webhook_drop``, ``webhook_duplicate``, ``webhook_reorder``)
        self.injected: Counter[str] = Counter()
        self.files: dict[str, StoredFile] = {}
        self._window: deque[float] = deque()
        self._day: deque[float] = deque()
        self._timers: list[threading.Timer] = []
        self._webhook_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"{self.name}-webhook")
        self.app = Flask(f"sandbox-{self.name}")
        self.app.json.sort_keys = False  # type: ignore[attr-defined]
        self.app.before_request(self._before_request)
        self.app.after_request(self._after_request)
        self._register_common_routes()
        self.register_routes(self.app)

    # -- to be provided by each provider -------------------------------------------------------

    def register_routes(self, app: Flask) -> None:
        raise NotImplementedError

    def error_response(self, status: int, code: str, message: str) -> Response:
        """The provider's documented error shape."""
        raise NotImplementedError

    def authenticate(self) -> Response | None:
        """Check the provider's auth headers; return the error response when they are wrong."""
        return None

    def rate_limit_headers(self) -> dict[str, str]:
        """Headers added to every API answer (ProdVisual's ``X-RateLimit-*``)."""
        return {}

    # -- helpers for provider modules -----------------------------------------------------------

    def json_response(
        self, body: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> Response:
        return Response(
            json.dumps(body), status=status, mimetype="application/json", headers=dict(headers or {})
        )

    def roll(self, probability: float, fault: str | None = None) -> bool:
        """``True`` with ``probability``; a true roll of a named ``fault`` is counted."""
        with self.lock:
            hit = probability > 0 and self.rng.random() < probability
            if hit and fault is not None:
                self.injected[fault] += 1
            return hit

    def job_should_fail(self) -> bool:
        return self.roll(self.settings.faults.job_failure_rate, "job_failure")

    def new_id(self, prefix: str = "", nbytes: int = 6) -> str:
        return prefix + secrets.token_urlsafe(nbytes).replace("-", "x").replace("_", "y")

    def store_file(self, data: bytes, content_type: str, extension: str) -> str:
        """Keep ``data`` and return its URL, which answers 404 after ``output_ttl_seconds``."""
        token = secrets.token_urlsafe(18) + "." + extension
        with self.lock:
            self.files[token] = StoredFile(data, content_type, time.time() + self.settings.output_ttl_seconds)
        return f"{self.base_url}{FILES_PREFIX}/{token}"

    def file_expiry(self, url: str) -> float | None:
        token = url.rsplit("/", 1)[-1]
        with self.lock:
            stored = self.files.get(token)
        return stored.expires_at if stored else None

    def schedule(self, delay: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` after ``delay`` seconds on a daemon timer (the job's progress)."""
        timer = threading.Timer(max(0.0, delay), self._guard(fn))
        timer.daemon = True
        with self.lock:
            self._timers = [t for t in self._timers if t.is_alive()]
            self._timers.append(timer)
        timer.start()

    def _guard(self, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except Exception:
                self.app.logger.exception("sandbox %s: scheduled work failed", self.name)

        return run

    def send_webhook(self, url: str | None, body: bytes, headers: Mapping[str, str], event: str) -> None:
        """Deliver a webhook with the configured drop / duplicate / reorder / delay faults."""
        if not url:
            return
        faults = self.settings.faults
        queued_at = time.time()
        if self.roll(faults.webhook_drop, "webhook_drop"):
            self._record_webhook(url, event, None, "dropped", queued_at)
            return
        delay = faults.webhook_delay_seconds
        if self.roll(faults.webhook_reorder, "webhook_reorder"):
            delay += faults.webhook_reorder_seconds
        copies = 2 if self.roll(faults.webhook_duplicate, "webhook_duplicate") else 1
        for copy in range(copies):
            self.schedule(
                delay + 0.05 * copy, lambda: self._submit_delivery(url, body, headers, event, queued_at)
            )

    def _submit_delivery(
        self, url: str, body: bytes, headers: Mapping[str, str], event: str, queued_at: float
    ) -> None:
        self._webhook_pool.submit(self._deliver, url, body, headers, event, queued_at)

    def _deliver(
        self, url: str, body: bytes, headers: Mapping[str, str], event: str, queued_at: float
    ) -> None:
        for attempt in range(self.settings.webhook_attempts):
            status: int | None = None
            try:
                answer = http_client().post(
                    url, content=body, headers={"Content-Type": "application/json", **headers}, timeout=5.0
                )
                status = answer.status_code
            except httpx.HTTPError:
                status = None
            if status is not None and 200 <= status < 300:
                self._record_webhook(url, event, status, "delivered", queued_at)
                return
            self._record_webhook(url, event, status, "failed", queued_at)
            if attempt + 1 < self.settings.webhook_attempts:
                time.sleep(self.settings.webhook_retry_seconds)

    def _record_webhook(
        self, url: str, event: str, status: int | None, outcome: str, queued_at: float
    ) -> None:
        with self.lock:
            self.webhooks.append(WebhookRecord(time.time(), queued_at, url, event, status, outcome))

    # -- request pipeline -----------------------------------------------------------------------

    def _before_request(self) -> Response | None:
        g.fault = None
        endpoint = request.endpoint or ""
        if endpoint not in self.api_endpoints:
            return None
        now = time.time()
        with self.lock:
            self._trim(now)
            limited = self._over_limit()
            if not limited:
                self._window.append(now)
                self._day.append(now)
        if limited:
            g.fault = "rate_limit"
            return self._too_many(now)
        denied = self.authenticate()
        if denied is not None:
            return denied
        return self._injected_fault(endpoint, now)

    def _injected_fault(self, endpoint: str, now: float) -> Response | None:
        faults = self.settings.faults.for_endpoint(endpoint)
        if self.roll(faults.rate_limited, "429"):
            g.fault = "injected_429"
            return self._too_many(now)
        if self.roll(faults.server_error, "5xx"):
            g.fault = "injected_5xx"
            return self.error_response(500, "server_error", "Internal server error (injected fault)")
        if self.roll(faults.timeout, "timeout"):
            g.fault = "injected_timeout"
            time.sleep(self.settings.faults.timeout_seconds)
            return self.error_response(504, "server_error", "Gateway timeout (injected fault)")
        return None

    def _after_request(self, response: Response) -> Response:
        endpoint = request.endpoint or ""
        if endpoint in self.api_endpoints:
            for key, value in self.rate_limit_headers().items():
                response.headers.setdefault(key, value)
            with self.lock:
                self.requests.append(
                    RequestRecord(
                        time.time(),
                        request.method,
                        request.path,
                        endpoint,
                        response.status_code,
                        getattr(g, "fault", None),
                    )
                )
        return response

    def _trim(self, now: float) -> None:
        while self._window and self._window[0] <= now - 60:
            self._window.popleft()
        # the daily quota is per calendar day in UTC (mediajobs.ratelimit assumes the same)
        day_start = now - now % 86400
        while self._day and self._day[0] < day_start:
            self._day.popleft()

    def _over_limit(self) -> bool:
        per_minute, per_day = self.settings.rate_limit_per_minute, self.settings.rate_limit_per_day
        return bool(
            (per_minute and len(self._window) >= per_minute) or (per_day and len(self._day) >= per_day)
        )

    def window_state(self) -> tuple[int | None, int | None, float]:
        """(limit, remaining, reset epoch) of the per-minute window, for ``X-RateLimit-*``."""
        now = time.time()
        with self.lock:
            self._trim(now)
            limit = self.settings.rate_limit_per_minute
            used = len(self._window)
            reset = (self._window[0] + 60) if self._window else now + 60
        remaining = None if limit is None else max(0, limit - used)
        return limit, remaining, reset

    def _too_many(self, now: float) -> Response:
        limit, _, reset = self.window_state()
        response = self.error_response(429, "rate_limited", "Too many requests")
        response.headers["Retry-After"] = str(max(1, int(reset - now + 0.999)))
        if limit is not None:
            response.headers["X-RateLimit-Limit"] = str(limit)
            response.headers["X-RateLimit-Remaining"] = "0"
            response.headers["X-RateLimit-Reset"] = str(int(reset + 0.999))
        return response

    # -- common routes --------------------------------------------------------------------------

    def _register_common_routes(self) -> None:
        app = self.app

        @app.get(f"{FILES_PREFIX}/<token>")
        def sandbox_file(token: str) -> Response:
            with self.lock:
                stored = self.files.get(token)
            if stored is None or stored.expires_at <= time.time():
                return Response("expired or unknown file", status=404, mimetype="text/plain")
            return Response(
                stored.data, mimetype=stored.content_type, headers={"Content-Length": str(len(stored.data))}
            )

        @app.get(f"{ADMIN_PREFIX}/config")
        def sandbox_get_config() -> Response:
            return self.json_response(self.settings.model_dump(mode="json"))

        @app.post(f"{ADMIN_PREFIX}/config")
        def sandbox_set_config() -> Response:
            merged = self.settings.model_dump() | (request.get_json(force=True) or {})
            try:
                self.settings = type(self.settings).model_validate(merged)
            except ValueError as exc:
                return self.json_response({"error": str(exc)}, 400)
            with self.lock:
                self.rng = random.Random(self.settings.faults.seed)
            return self.json_response(self.settings.model_dump(mode="json"))

        @app.get(f"{ADMIN_PREFIX}/requests")
        def sandbox_requests() -> Response:
            with self.lock:
                rows = [r.__dict__ for r in self.requests]
            return self.json_response({"requests": rows})

        @app.get(f"{ADMIN_PREFIX}/webhooks")
        def sandbox_webhooks() -> Response:
            with self.lock:
                rows = [w.__dict__ for w in self.webhooks]
            return self.json_response({"webhooks": rows})

        @app.post(f"{ADMIN_PREFIX}/reset")
        def sandbox_reset() -> Response:
            self.reset()
            return self.json_response({"reset": True})

    def reset(self) -> None:
        """Forget logs and rate-limit windows (jobs and files stay)."""
        with self.lock:
            self.requests.clear()
            self.webhooks.clear()
            self._window.clear()
            self._day.clear()

    # -- serving --------------------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
        """Serve on ``host:port`` (0: any free port) in a daemon thread."""
        server = make_server(host, port, self.app, threaded=True)
        self.base_url = f"http://{host}:{server.server_port}"
        thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name=f"sandbox-{self.name}", daemon=True
        )
        thread.start()
        return RunningServer(server, thread, self.base_url)
