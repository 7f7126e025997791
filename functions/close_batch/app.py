"""Batch state machine task: every job of the batch is final; mark the batch completed (once)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.jobs import BatchInput, close_batch


@logger.inject_lambda_context(correlation_id_path="batch_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=BatchInput)
def lambda_handler(event: BatchInput, context: LambdaContext) -> dict[str, Any]:
    return {"completed": close_batch(event.batch_id)}
