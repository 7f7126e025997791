"""The archive step: every output of the job's final stage is copied to S3 before it succeeds."""

from __future__ import annotations

import functools
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import httpx

from mediajobs.archive import ArchiveError, archive_url, archived_already
from mediajobs.fetching import FetchError, TooLargeError, UnsafeUrlError, UrlPolicy
from mediajobs.jobs.models import Job, JobStatus, StoredOutput
from mediajobs.jobs.pipeline import JobPipeline, last_stage
from mediajobs.media_probe import MediaProbeError
from mediajobs.observability import logger
from mediajobs.providers.base import OutputKind, OutputRef

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

#: what clients see: a provider's cover image is the job's preview
STORED_KIND = {OutputKind.COVER: OutputKind.PREVIEW}
KNOWN_EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".mp4"}


def outputs_to_archive(job: Job) -> list[OutputRef]:
    """The outputs of the job's last stage, one per kind."""
    final = last_stage(job)
    chosen: dict[OutputKind, OutputRef] = {}
    for task in job.tasks:
        if task.stage == final and task.provider is job.provider:
            for ref in task.outputs:
                chosen[STORED_KIND.get(ref.kind, ref.kind)] = ref
    return [chosen[k] for k in sorted(chosen)]


def object_key(job_id: str, kind: OutputKind, url: str) -> str:
    suffix = PurePosixPath(urlparse(url).path).suffix.lower()
    return f"outputs/{job_id}/{kind.value}{suffix if suffix in KNOWN_EXTENSIONS else ''}"


class Archiver:
    def __init__(
        self,
        *,
        pipeline: JobPipeline,
        s3: S3Client,
        http: httpx.Client,
        bucket: str,
        policy: UrlPolicy,
        max_bytes: int,
    ) -> None:
        self.pipeline = pipeline
        self.store = pipeline.store
        self.s3 = s3
        self.http = http
        self.bucket = bucket
        self.policy = policy
        self.max_bytes = max_bytes

    def archive(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job.status.final:
            return job
        now = self.pipeline.now()
        job = self.store.update(
            job_id, lambda j: None if j.status.final else j.moved_to(JobStatus.ARCHIVING, now=now)
        )
        if job.status.final:
            return job
        refs = outputs_to_archive(job)
        if not refs:
            raise ArchiveError(f"job {job_id} finished at the provider without any output")
        stored: list[StoredOutput] = []
        for ref in refs:
            earlier = self._archived_earlier(job, ref)
            if earlier is not None:
                logger.info(
                    "output archived by an earlier attempt", extra={"job_id": job_id, "key": earlier.s3_key}
                )
                stored.append(earlier)
                continue
            output = self._copy(job, ref)
            stored.append(output)
            job = self.store.update(job_id, functools.partial(_with_archived, output=output))

        def succeed(current: Job) -> Job | None:
            if current.status.final:
                return None
            done = current.moved_to(
                JobStatus.SUCCEEDED, now=self.pipeline.now(), detail=f"{len(stored)} outputs"
            )
            return done.model_copy(update={"outputs": stored, "archived": []})

        job = self.store.update(job_id, succeed)
        if job.status is not JobStatus.SUCCEEDED:
            # cancelled (or failed) while we copied: a late result is not kept
            self._delete([s.s3_key for s in stored])
        return job

    def _archived_earlier(self, job: Job, ref: OutputRef) -> StoredOutput | None:
        """The output as an earlier attempt recorded it, if S3 still holds that very object."""
        key = object_key(job.job_id, STORED_KIND.get(ref.kind, ref.kind), ref.url)
        recorded = next((o for o in job.archived if o.s3_key == key and o.s3_checksum), None)
        if recorded is None or recorded.s3_checksum is None:
            return None
        found = archived_already(
            self.s3, bucket=self.bucket, key=key, size=recorded.bytes, s3_checksum=recorded.s3_checksum
        )
        return recorded if found else None

    def _copy(self, job: Job, ref: OutputRef) -> StoredOutput:
        kind = STORED_KIND.get(ref.kind, ref.kind)
        key = object_key(job.job_id, kind, ref.url)
        try:
            obj = archive_url(
                s3_client=self.s3,
                http_client=self.http,
                url=ref.url,
                bucket=self.bucket,
                key=key,
                policy=self.policy,
                max_bytes=self.max_bytes,
            )
        except (FetchError, TooLargeError, UnsafeUrlError, MediaProbeError) as exc:
            logger.warning("output could not be archived", extra={"job_id": job.job_id, "kind": kind.value})
            raise ArchiveError(f"the {kind.value} output could not be copied: {exc}") from exc
        job_stage = job.task.stage if job.task else ""
        return StoredOutput(
            kind=kind,
            stage=job_stage,
            s3_key=obj.key,
            content_type=obj.content_type,
            bytes=obj.bytes,
            sha256=obj.sha256,
            width=obj.width,
            height=obj.height,
            duration_seconds=obj.duration_seconds,
            codec=obj.codec,
            s3_checksum=obj.s3_checksum,
        )

    def _delete(self, keys: list[str]) -> None:
        if keys:
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys]})


def _with_archived(job: Job, *, output: StoredOutput) -> Job | None:
    """``job`` recording ``output`` as archived (replacing an earlier record of its key)."""
    if job.status.final:
        return None
    kept = [o for o in job.archived if o.s3_key != output.s3_key]
    return job.model_copy(update={"archived": [*kept, output]})
