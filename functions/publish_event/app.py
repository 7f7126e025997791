"""Notification state machine task: put the event on the stack's EventBridge bus (once)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.notifications.models import NotificationTaskInput
from mediajobs.notifications.service import PublishOutcome
from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.notifications import event_publisher


@logger.inject_lambda_context(correlation_id_path="webhook_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=NotificationTaskInput)
def lambda_handler(event: NotificationTaskInput, context: LambdaContext) -> dict[str, bool]:
    outcome = event_publisher().publish(event.webhook_id)
    if outcome is PublishOutcome.PUBLISHED:
        metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=1)
    return {"published": outcome is not PublishOutcome.NO_BUS}
