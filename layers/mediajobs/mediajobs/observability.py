"""Logger, Tracer and Metrics, created once for every function.

Names are given here rather than read from POWERTOOLS_* at import, so importing mediajobs never
depends on the environment (template.yaml sets the same values for the deployed functions).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from mediajobs.fetching import redact_httpx_logs

SERVICE = "mediajobs"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=SERVICE, service=SERVICE)

# httpx logs every request's full URL at INFO: presigned signatures must not reach the logs
redact_httpx_logs()
