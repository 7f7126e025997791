"""Logger, Tracer and Metrics, created once for every function.

Names are given here rather than read from POWERTOOLS_* at import, so importing mediajobs never
depends on the environment (template.yaml sets the same values for the deployed functions).
"""

from __future__ import annotations

import logging

import httpx
from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "mediajobs"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
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
