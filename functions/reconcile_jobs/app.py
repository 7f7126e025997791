"""Scheduled: find jobs that are stuck (past their deadline, or whose execution ended) and finish them."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.jobs import reconciler


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {"outcomes": reconciler().sweep()}
