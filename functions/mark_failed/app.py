"""State machine task: a Catch ended the job; record it failed with a mapped code."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.jobs import MarkFailedInput, pipeline


@logger.inject_lambda_context(correlation_id_path="job_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=MarkFailedInput)
def lambda_handler(event: MarkFailedInput, context: LambdaContext) -> dict[str, str | int]:
    logger.warning("job caught an error", extra={"state_error": event.error.Error})
    return (
        pipeline()
        .fail_from_state_error(event.job_id, event.error.error_type(), caught_at=event.caught_at)
        .as_dict()
    )
