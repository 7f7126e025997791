"""A closed batch's results manifest: one row per item, as CSV and JSON, in the media bucket.

Written by the batch state machine's Close step once every item is final (again after each
retry round, under the round's own keys), then recorded on the batch (``results_round``) so the
batch view links only a manifest that exists.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from mediajobs.batches.models import Batch
from mediajobs.batches.store import BatchStore
from mediajobs.jobs.models import Job
from mediajobs.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

COLUMNS = ("external_id", "job_id", "status", "error_code", "output_keys", "retried_from")


class ResultRow(BaseModel):
    external_id: str | None
    job_id: str
    status: str
    error_code: str | None
    output_keys: list[str]
    retried_from: str | None


def results_keys(batch_id: str, round_: int) -> tuple[str, str]:
    """The CSV and JSON keys of a round's results manifest."""
    base = f"batches/{batch_id}/results-{round_}"
    return f"{base}.csv", f"{base}.json"


def result_rows(batch: Batch, jobs: Sequence[Job]) -> list[ResultRow]:
    """One row per item, in the batch's order, for its latest job."""
    found = {j.job_id: j for j in jobs}
    rows = []
    for job_id in batch.job_ids:
        job = found.get(job_id)
        if job is None:
            continue
        rows.append(
            ResultRow(
                external_id=job.external_id,
                job_id=job.job_id,
                status=job.status.value,
                error_code=job.error.code if job.error else None,
                output_keys=[o.s3_key for o in job.outputs],
                retried_from=job.retried_from,
            )
        )
    return rows


def as_csv(rows: Sequence[ResultRow]) -> str:
    """The CSV manifest: output keys joined by a space (S3 keys mediajobs writes have none)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.external_id or "",
                row.job_id,
                row.status,
                row.error_code or "",
                " ".join(row.output_keys),
                row.retried_from or "",
            ]
        )
    return buffer.getvalue()


class ResultsWriter:
    def __init__(self, *, s3: S3Client, bucket: str, batches: BatchStore) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.batches = batches

    def write(self, batch: Batch, jobs: Sequence[Job]) -> tuple[str, str]:
        """Put both manifests (same content every time: safe to run twice) and record the round."""
        rows = result_rows(batch, jobs)
        csv_key, json_key = results_keys(batch.batch_id, batch.round)
        document = {
            "batch_id": batch.batch_id,
            "round": batch.round,
            "items": [r.model_dump(mode="json") for r in rows],
        }
        self.s3.put_object(
            Bucket=self.bucket, Key=csv_key, Body=as_csv(rows).encode(), ContentType="text/csv; charset=utf-8"
        )
        self.s3.put_object(
            Bucket=self.bucket,
            Key=json_key,
            Body=json.dumps(document, indent=2).encode(),
            ContentType="application/json",
        )
        self.batches.results_written(batch.batch_id, batch.round)
        logger.info("batch results written", extra={"batch_id": batch.batch_id, "items": len(rows)})
        return csv_key, json_key
