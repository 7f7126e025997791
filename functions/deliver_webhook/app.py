"""Notification state machine task: one signed POST of the event to the client's webhook URL.

Answers ``next`` (``done``, ``failed``, or ``retry`` after ``wait_seconds``) and the delivery's status.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.notifications.models import DeliveryStatus, NotificationTaskInput
from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.notifications import webhook_deliverer

METRICS = {
    DeliveryStatus.DELIVERED: "WebhooksDelivered",
    DeliveryStatus.PENDING: "WebhookAttemptsFailed",
    DeliveryStatus.FAILED: "WebhooksFailed",
    DeliveryStatus.DISABLED: "WebhooksDisabled",
}


@logger.inject_lambda_context(correlation_id_path="webhook_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=NotificationTaskInput)
def lambda_handler(event: NotificationTaskInput, context: LambdaContext) -> dict[str, str | int]:
    attempt = webhook_deliverer().attempt(event.webhook_id)
    if attempt.status in METRICS:
        metrics.add_metric(name=METRICS[attempt.status], unit=MetricUnit.Count, value=1)
    return attempt.as_dict()
