"""Batch state machine task (.waitForTaskToken): start one item's job; its end resumes the batch."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.jobs import BatchItemInput, batch_runner


@logger.inject_lambda_context(correlation_id_path="job_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=BatchItemInput)
def lambda_handler(event: BatchItemInput, context: LambdaContext) -> dict[str, Any]:
    return {"outcome": batch_runner().start_item(event.job_id, event.task_token)}
