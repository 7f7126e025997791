"""Uploads: jobs whose product image arrives in the media bucket instead of by URL.

Two ways in, one way to a job:

- ``POST /v1/uploads`` validates the job spec, stores an upload record (``awaiting_upload``) and
  hands out an S3 presigned POST for exactly ``uploads/<upload id>/<file name>``;
- an operator drops a file under ``uploads/`` by other means (``aws s3 cp``) with the spec in its
  metadata (``x-amz-meta-mediajobs-spec``: the job spec as JSON, ``x-amz-meta-mediajobs-tenant``)
  or in a sidecar object ``<key>.json`` (``{"tenant_id": ..., "spec": {...}}``). Image and sidecar
  may land in either order: each one's notification looks for the other, so whichever lands
  second starts the job, and a sidecar never starts a job of its own. A drop's upload id is
  derived from its key and ETag (:func:`drop_upload_id`), so the tenant can read it too.

S3's ObjectCreated notification runs :class:`UploadTrigger`: it checks the object (HeadObject for
the size, a ranged GET of its first bytes for the format: never the provider's job to find out),
claims the upload with a conditional write (``awaiting_upload`` -> ``started`` with a new job
id), copies the file to the job's ``inputs/`` key and accepts the job through
:meth:`JobService.accept`, the path ``POST /v1/jobs`` takes. S3 delivers at least once: a second
delivery finds the upload claimed and its job written (``JobStore.create`` is conditional too),
so one object makes one job; a delivery that finds the claim but no job (the first one stopped
in between) finishes the work. A file that is not a JPEG/PNG/WebP, is empty or is over the size
limit ends the upload ``failed`` with ``invalid_product_image`` / ``product_image_too_large``.

Items (``pk`` / ``sk``) in the jobs table: ``UPLOAD#<id>`` / ``UPLOAD``, versioned like jobs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from mediajobs.config import Settings
from mediajobs.errors import Problem, UploadNotFoundError, ValidationFailedError
from mediajobs.jobs.models import utcnow
from mediajobs.jobs.service import JobService
from mediajobs.observability import logger
from mediajobs.uploads.models import (
    _UNSAFE_NAME_CHARACTERS,
    CONTENT_TYPES,
    DEFAULT_FILENAME,
    RECORD_SECONDS,
    SIDECAR_SUFFIX,
    UPLOAD_PREFIX,
    PresignedPost,
    Upload,
    UploadRequestModel,
)
from mediajobs.uploads.store import UploadStore

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


def safe_filename(name: str | None) -> str:
    """The last path part of ``name`` with only ``A-Z a-z 0-9 . _ -`` (others become ``-``)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_NAME_CHARACTERS.sub("-", base).strip(".-")[:100].rstrip(".-")
    cleaned = cleaned or DEFAULT_FILENAME
    if cleaned.lower().endswith(SIDECAR_SUFFIX):
        raise ValidationFailedError(
            "validation_error",
            "filename must not end in .json: under uploads/ that marks a sidecar spec file",
            [Problem("filename", "must not end in .json")],
        )
    return cleaned


def _plausible_id(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)


def _record_expiry(now: datetime) -> int:
    return int(now.timestamp()) + RECORD_SECONDS


class UploadService:
    """What the API does with uploads: accept a spec and hand out the upload form; show one."""

    def __init__(
        self,
        *,
        store: UploadStore,
        jobs: JobService,
        s3: S3Client,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.s3 = s3
        self.settings = settings
        self.now = clock

    def create(
        self,
        tenant_id: str,
        request: UploadRequestModel,
        *,
        public_base_url: str,
        filename: str | None = None,
        api_key_id: str | None = None,
    ) -> tuple[Upload, PresignedPost]:
        self.jobs.check_request(request)
        name = safe_filename(filename)
        upload_id = uuid.uuid4().hex
        now = self.now()
        upload = Upload(
            upload_id=upload_id,
            tenant_id=tenant_id,
            api_key_id=api_key_id,
            key=f"{UPLOAD_PREFIX}{upload_id}/{name}",
            spec_json=request.model_dump_json(exclude_none=True),
            public_base_url=public_base_url.rstrip("/"),
            created_at=now,
            updated_at=now,
            expires_at=_record_expiry(now),
        )
        post = self._presign(upload.key, name, now)
        self.store.create(upload)
        logger.info("upload accepted", extra={"upload_id": upload_id, "provider": request.provider})
        return upload, post

    def _presign(self, key: str, name: str, now: datetime) -> PresignedPost:
        max_bytes = self.settings.max_image_bytes
        fields: dict[str, str] = {}
        content_type = CONTENT_TYPES.get(name.rpartition(".")[2].lower()) if "." in name else None
        if content_type:
            fields["Content-Type"] = content_type
        seconds = self.settings.upload_url_seconds
        post = self.s3.generate_presigned_post(
            Bucket=self.settings.media_bucket,
            Key=key,
            Fields=dict(fields),
            Conditions=[
                ["content-length-range", 1, max_bytes],
                ["starts-with", "$Content-Type", "image/"],
            ],
            ExpiresIn=seconds,
        )
        return PresignedPost(
            url=post["url"],
            fields={str(k): str(v) for k, v in post["fields"].items()},
            key=key,
            expires_at=now + timedelta(seconds=seconds),
            max_bytes=max_bytes,
        )

    def get(self, tenant_id: str, upload_id: str) -> Upload:
        upload = self.store.find(upload_id) if _plausible_id(upload_id) else None
        if upload is None or upload.tenant_id != tenant_id:
            raise UploadNotFoundError(upload_id)
        return upload
