"""State machine task (.waitForTaskToken): keep the token a provider webhook will resume."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.jobs import AwaitInput, provider_webhooks


@logger.inject_lambda_context(correlation_id_path="job_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=AwaitInput)
def lambda_handler(event: AwaitInput, context: LambdaContext) -> dict[str, str]:
    # the execution waits for SendTaskSuccess (or its timeout); this answer is only logged
    return {"outcome": provider_webhooks().park(event.job_id, event.task_token).value}
