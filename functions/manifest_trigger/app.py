"""S3 ObjectCreated under manifests/: validate the batch manifest and start its batch (once)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.manifests import handle
from mediajobs.uploads.models import S3Notification


@logger.inject_lambda_context(correlation_id_path="Records[0].s3.object.key")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=S3Notification)
def lambda_handler(event: S3Notification, context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    return {"results": handle(event)}
