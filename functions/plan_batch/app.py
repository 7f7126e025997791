"""Batch state machine task: split a batch into provider groups (ProdVisual, 50 a time) and single jobs."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.jobs import BatchInput, batch_runner


@logger.inject_lambda_context(correlation_id_path="batch_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=BatchInput)
def lambda_handler(event: BatchInput, context: LambdaContext) -> dict[str, Any]:
    return batch_runner().plan(event.batch_id)
