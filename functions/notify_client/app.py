"""State machine task: the job is final; tell the client (and answer the status for the last Choice).

The client webhook and the EventBridge event are recorded and handed to their own execution
(mediajobs.notifications.service): nothing is sent from here, and a notification problem never fails the job.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import SERVICE, logger, metrics, tracer
from mediajobs.tasks.jobs import JobTaskInput, job_final, pipeline


@logger.inject_lambda_context(correlation_id_path="job_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=JobTaskInput)
def lambda_handler(event: JobTaskInput, context: LambdaContext) -> dict[str, str]:
    job = pipeline().store.get(event.job_id)
    # its own EMF line with the provider dimension: the shared metrics object keeps only service.
    # single_metric prints even when metrics are disabled, so it asks the same question first.
    if not is_metrics_disabled():
        with single_metric(
            name=f"Jobs{job.status.value.capitalize()}", unit=MetricUnit.Count, value=1, namespace=SERVICE
        ) as metric:
            metric.add_dimension(name="provider", value=job.provider.value)
    logger.info("job finished", extra={"status": job.status.value, "provider": job.provider.value})
    job_final(job)
    return {"status": job.status.value}
