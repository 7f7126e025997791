"""The S3 manifest trigger's services, built once per container."""

from __future__ import annotations

import functools
from urllib.parse import unquote_plus

from mediajobs.aws import dynamodb_table, s3_client, sfn_client
from mediajobs.batches.manifests import ManifestStore, ManifestTrigger
from mediajobs.batches.service import BatchService
from mediajobs.batches.store import BatchStore
from mediajobs.config import get_settings
from mediajobs.jobs.store import JobStore
from mediajobs.uploads.models import S3Notification


@functools.cache
def default_trigger() -> ManifestTrigger:
    settings = get_settings()
    table = dynamodb_table(settings.jobs_table)
    batches = BatchService(
        jobs=JobStore(table),
        batches=BatchStore(table),
        sfn=sfn_client(),
        state_machine_arn=settings.batch_state_machine_arn,
        deadline_seconds=settings.job_deadline_seconds,
    )
    return ManifestTrigger(
        store=ManifestStore(table), batches=batches, s3=s3_client(), bucket=settings.media_bucket
    )


def handle(event: S3Notification) -> list[dict[str, str]]:
    """Each ObjectCreated record of the media bucket: its manifest's outcome."""
    trigger = default_trigger()
    results: list[dict[str, str]] = []
    for record in event.records:
        if not record.event_name.startswith("ObjectCreated") or record.s3.bucket.name != trigger.bucket:
            continue
        key = unquote_plus(record.s3.object_.key)
        manifest = trigger.handle(key)
        outcome = manifest.status if manifest is not None else "ignored"
        results.append(
            {"key": key, "outcome": outcome}
            | ({"batch_id": manifest.batch_id} if manifest and manifest.batch_id else {})
        )
    return results
