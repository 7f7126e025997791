"""Batch state machine task: ProdVisual finished a group; archive every item's output and end its jobs."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.jobs import GroupFinishInput, batch_runner


@logger.inject_lambda_context(correlation_id_path="provider_batch_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=GroupFinishInput)
def lambda_handler(event: GroupFinishInput, context: LambdaContext) -> dict[str, Any]:
    return {"jobs": batch_runner().finish_group(event.provider_batch_id)}
