"""Batch state machine task: send up to 50 ProdVisual items as ONE provider batch (fallback: one by one)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.jobs import GroupInput, batch_runner


@logger.inject_lambda_context(correlation_id_path="job_ids[0]")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=GroupInput)
def lambda_handler(event: GroupInput, context: LambdaContext) -> dict[str, Any]:
    runner = batch_runner()
    step = runner.fall_back(event.job_ids) if event.fallback else runner.submit_group(event.job_ids)
    return step.model_dump()
