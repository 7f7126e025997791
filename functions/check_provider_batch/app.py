"""Batch state machine task: after a callback or a timeout, is the provider batch done? (one read per poll)"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.jobs import GroupCheckInput, batch_runner


@logger.inject_lambda_context(correlation_id_path="provider_batch_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=GroupCheckInput)
def lambda_handler(event: GroupCheckInput, context: LambdaContext) -> dict[str, Any]:
    return batch_runner().check_group(event.provider_batch_id, poll=event.source == "poll").model_dump()
