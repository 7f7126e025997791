"""State machine task: stream every output into S3 with its checksum, then mark the job succeeded."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import logger, metrics, tracer
from mediajobs.tasks.jobs import JobTaskInput, archiver


@logger.inject_lambda_context(correlation_id_path="job_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=JobTaskInput)
def lambda_handler(event: JobTaskInput, context: LambdaContext) -> dict[str, str | int]:
    job = archiver().archive(event.job_id)
    return {"status": job.status.value, "outputs": len(job.outputs)}
