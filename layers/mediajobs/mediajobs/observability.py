"""Logger, Tracer and Metrics, created once for every function.

Names are given here rather than read from POWERTOOLS_* at import, so importing mediajobs never
depends on the environment (template.yaml sets the same values for the deployed functions).

The tracer is built when a traced handler first runs with tracing on: Powertools' ``Tracer()``
imports the X-Ray SDK (``aws_xray_sdk.core``, botocore's session and sampling rules with it) as
it is built, even when tracing is off, and that was a third of every function's cold import.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast, overload

import httpx
from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "mediajobs"

Handler = TypeVar("Handler", bound=Callable[..., Any])


class LazyTracer:
    """Powertools' :class:`Tracer`, built on the first traced call while tracing is on.

    Tracing is on when Powertools says so (in Lambda, unless ``POWERTOOLS_TRACE_DISABLED``);
    when it is off, a decorated handler runs as it is and the X-Ray SDK is never imported.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self._tracer: Tracer | None = None
        self._lock = threading.Lock()

    @staticmethod
    def enabled() -> bool:
        # Powertools' own rule (POWERTOOLS_TRACE_DISABLED, in Lambda, not SAM local or Chalice)
        return not Tracer._is_tracer_disabled()

    def active(self) -> Tracer | None:
        """The Tracer when tracing is on (built once), else ``None``."""
        if self._tracer is None:
            if not self.enabled():
                return None
            with self._lock:
                if self._tracer is None:
                    self._tracer = Tracer(service=self.service)
        return self._tracer

    @overload
    def capture_lambda_handler(
        self, handler: Handler, *, capture_response: bool | None = None, capture_error: bool | None = None
    ) -> Handler: ...

    @overload
    def capture_lambda_handler(
        self, handler: None = None, *, capture_response: bool | None = None, capture_error: bool | None = None
    ) -> Callable[[Handler], Handler]: ...

    def capture_lambda_handler(
        self,
        handler: Handler | None = None,
        *,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Handler | Callable[[Handler], Handler]:
        """:meth:`Tracer.capture_lambda_handler`, applied when the handler first runs traced."""
        if handler is None:
            return functools.partial(
                self.capture_lambda_handler, capture_response=capture_response, capture_error=capture_error
            )
        inner = handler
        traced: Callable[..., Any] | None = None

        @functools.wraps(inner)
        def run(event: Any, context: Any, **kwargs: Any) -> Any:
            nonlocal traced
            tracer = self.active()
            if tracer is None:
                return inner(event, context, **kwargs)
            if traced is None:
                traced = tracer.capture_lambda_handler(
                    inner, capture_response=capture_response, capture_error=capture_error
                )
            return traced(event, context, **kwargs)

        return cast("Handler", run)


logger = Logger(service=SERVICE)
tracer = LazyTracer(service=SERVICE)
metrics = Metrics(namespace=SERVICE, service=SERVICE)


def redact(url: httpx.URL | str) -> str:
    """``scheme://host[:port]/path`` of a URL: no credentials, query or fragment."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except httpx.InvalidURL:
        return "<invalid URL>"
    return str(parsed.copy_with(username=None, password=None, query=None, fragment=None))


class RedactUrlsFilter(logging.Filter):
    """Logs the ``httpx.URL`` arguments of a record as :func:`redact` shows them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(arg, httpx.URL) for arg in record.args):
            record.args = tuple(redact(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args)
        return True


def redact_httpx_logs() -> None:
    """Put a :class:`RedactUrlsFilter` on the ``httpx`` logger (once)."""
    httpx_logger = logging.getLogger("httpx")
    if not any(type(known).__name__ == RedactUrlsFilter.__name__ for known in httpx_logger.filters):
        httpx_logger.addFilter(RedactUrlsFilter())


# httpx logs every request's full URL at INFO: presigned signatures must not reach the logs
redact_httpx_logs()
