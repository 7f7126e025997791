"""The client HTTPS API: create jobs, read jobs, product links, the OpenAPI document."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.api.app import build_app
from mediajobs.api.ratelimit import tenant_rate_limiter
from mediajobs.observability import logger, metrics, tracer

app = build_app(limiter=tenant_rate_limiter)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
