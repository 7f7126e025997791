"""State machine task: submit the job's first stage to its provider."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.jobs import JobTaskInput, pipeline


@logger.inject_lambda_context(correlation_id_path="job_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=JobTaskInput)
def lambda_handler(event: JobTaskInput, context: LambdaContext) -> dict[str, str | int]:
    return pipeline().submit(event.job_id).as_dict()
