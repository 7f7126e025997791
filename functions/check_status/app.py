"""State machine task: after a callback (recorded state) or a timeout (poll once), decide what is next."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.jobs import CheckInput, pipeline


@logger.inject_lambda_context(correlation_id_path="job_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=CheckInput)
def lambda_handler(event: CheckInput, context: LambdaContext) -> dict[str, str | int]:
    return pipeline().check(event.job_id, poll=event.source == "poll").as_dict()
