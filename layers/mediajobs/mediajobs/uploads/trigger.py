"""The S3 ObjectCreated trigger: one uploaded object makes one job (see :mod:`mediajobs.uploads.service`).

Size: one module on purpose. The image, its sidecar and a redelivered notification race each
other, and the claim-then-accept order that makes one object one job is only visible when the
steps are read together.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError
from pydantic import TypeAdapter, ValidationError

from mediajobs.config import Settings
from mediajobs.errors import ServiceUnavailableError, ValidationFailedError
from mediajobs.jobs.intake import product_image_key
from mediajobs.jobs.models import ErrorInfo, ProductImage, utcnow
from mediajobs.jobs.service import JobService
from mediajobs.jobs.store import ConcurrentUpdateError
from mediajobs.media_probe import ImageInfo, describe_bytes, sniff_image
from mediajobs.observability import logger
from mediajobs.uploads.models import (
    HEAD_BYTES,
    MAX_SIDECAR_BYTES,
    SIDECAR_SUFFIX,
    SPEC_METADATA,
    TENANT_METADATA,
    UPLOAD_PREFIX,
    UPLOAD_REQUEST,
    ObjectHead,
    S3Notification,
    Sidecar,
    TenantId,
    TriggerResult,
    Upload,
    UploadError,
    UploadRequestModel,
    UploadStatus,
    drop_upload_id,
)
from mediajobs.uploads.service import _plausible_id, _record_expiry
from mediajobs.uploads.store import UploadStore

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


_TENANT: TypeAdapter[str] = TypeAdapter(TenantId)


@dataclass(frozen=True)
class _DropSpec:
    """What a dropped file's metadata or sidecar says: a tenant, and a spec or what is wrong with it."""

    tenant: str | None
    spec_json: str = ""
    problem: str | None = None


class _RefusedError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _ObjectChangedError(Exception):
    """The object was replaced or deleted while it was being read: the newer one's event handles it."""


def _validation_summary(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        loc = [str(p) for p in error.get("loc", ())]
        if loc and loc[0] in {"creatify", "jogg", "prodvisual"}:
            loc = loc[1:]  # the union's tag: clients think in their own fields
        parts.append(f"{'.'.join(loc) or 'spec'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


class UploadTrigger:
    """Turns an object landing under ``uploads/`` into a job (see the module docstring)."""

    def __init__(
        self,
        *,
        uploads: UploadStore,
        jobs: JobService,
        s3: S3Client,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.uploads = uploads
        self.jobs = jobs
        self.s3 = s3
        self.settings = settings
        self.bucket = settings.media_bucket
        self.now = clock

    def handle(self, notification: S3Notification) -> list[TriggerResult]:
        results = []
        for record in notification.records:
            key = unquote_plus(record.s3.object_.key)
            if not record.event_name.startswith("ObjectCreated:"):
                result = TriggerResult(key, "ignored")
            else:
                result = self.object_created(record.s3.bucket.name, key)
            logger.info("upload notification handled", extra=result.as_dict())
            results.append(result)
        return results

    def object_created(self, bucket: str, key: str) -> TriggerResult:
        """Act on one object (key already URL-decoded); safe to call any number of times."""
        if bucket != self.bucket or not key.startswith(UPLOAD_PREFIX) or key.endswith("/"):
            return TriggerResult(key, "ignored")
        try:
            if key.endswith(SIDECAR_SUFFIX):
                image_key = key.removesuffix(SIDECAR_SUFFIX)
                head = self._head(image_key)
                if head is None:
                    return TriggerResult(key, "waiting_for_image")
                return self._image(image_key, head)
            return self._image(key)
        except _ObjectChangedError:
            return TriggerResult(key, "object_missing")

    # -- which upload -------------------------------------------------------------------------------

    def _image(self, key: str, head: ObjectHead | None = None) -> TriggerResult:
        upload = self._api_upload(key)
        if upload is not None and upload.status is not UploadStatus.AWAITING_UPLOAD:
            return self._handled(upload, key)  # a repeated delivery costs no S3 request
        head = head or self._head(key)
        if head is None:
            return TriggerResult(key, "object_missing")
        if upload is None:
            found = self._drop(key, head)
            if isinstance(found, TriggerResult):
                return found
            upload = found
        return self._start(upload, key, head)

    def _api_upload(self, key: str) -> Upload | None:
        parts = key.split("/")
        if len(parts) != 3 or not _plausible_id(parts[1]):
            return None
        upload = self.uploads.find(parts[1])
        return upload if upload is not None and upload.source == "api" and upload.key == key else None

    def _drop(self, key: str, head: ObjectHead) -> Upload | TriggerResult:
        """The upload record of a dropped file: found, or made from its metadata or sidecar."""
        upload_id = drop_upload_id(key, head.etag)
        existing = self.uploads.find(upload_id)
        if existing is not None:
            return existing
        if SPEC_METADATA in head.metadata:
            spec = _DropSpec(head.metadata.get(TENANT_METADATA), head.metadata[SPEC_METADATA])
        else:
            found = self._read_sidecar(key)
            if found is None:
                return TriggerResult(key, "waiting_for_spec", upload_id)
            spec = found
        try:
            tenant_id = _TENANT.validate_python(spec.tenant)
        except ValidationError:
            logger.error(
                "dropped file rejected: it names no valid tenant",
                extra={"key": key, "upload_id": upload_id, "hint": f"set x-amz-meta-{TENANT_METADATA}"},
            )
            return TriggerResult(key, "rejected", upload_id, error_code="tenant_missing")
        now = self.now()
        upload = Upload(
            upload_id=upload_id,
            tenant_id=tenant_id,
            source="drop",
            key=key,
            spec_json="{}",
            public_base_url=(self.settings.public_base_url or self.settings.api_base_url).rstrip("/"),
            created_at=now,
            updated_at=now,
            expires_at=_record_expiry(now),
        )
        problem = spec.problem
        if problem is None:
            try:
                request = UPLOAD_REQUEST.validate_json(spec.spec_json)
            except ValidationError as exc:
                problem = f"the job spec is invalid: {_validation_summary(exc)}"
            else:
                upload = upload.model_copy(update={"spec_json": request.model_dump_json(exclude_none=True)})
        if problem is not None:
            upload = upload.failed(ErrorInfo(code="validation_error", message=problem[:1000]), now=now)
        if not self.uploads.create(upload):  # a concurrent delivery made it first
            return self._reread(upload)
        if upload.error is not None:
            return TriggerResult(key, "failed", upload_id, error_code=upload.error.code)
        return upload

    def _read_sidecar(self, key: str) -> _DropSpec | None:
        """What ``<key>.json`` says; ``None`` while there is none."""
        sidecar_key = key + SIDECAR_SUFFIX
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=sidecar_key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise _failed("get_object", exc) from exc
        with answer["Body"] as body:
            if int(answer["ContentLength"]) > MAX_SIDECAR_BYTES:
                return _DropSpec(None, problem=f"{sidecar_key} is larger than {MAX_SIDECAR_BYTES} bytes")
            data = body.read()
        try:
            sidecar = Sidecar.model_validate_json(data)
        except ValidationError as exc:
            problem = f"{sidecar_key} is not a valid sidecar: {_validation_summary(exc)}"
            return _DropSpec(_sidecar_tenant(data), problem=problem)
        return _DropSpec(sidecar.tenant_id, json.dumps(sidecar.spec))

    # -- the job --------------------------------------------------------------------------------------

    def _start(self, upload: Upload, key: str, head: ObjectHead) -> TriggerResult:
        """Check the object, claim the upload for a new job id, then make the job."""
        if upload.status is not UploadStatus.AWAITING_UPLOAD:
            return self._handled(upload, key, head)
        try:
            image = self._inspect(key, head)
        except _RefusedError as exc:
            return self._fail(upload, key, exc.code, exc.message)
        request = upload.request()
        try:
            self.jobs.check_request(request)
        except ValidationFailedError as exc:
            return self._fail(upload, key, exc.code, exc.message)
        claimed = self.uploads.save(
            upload.started(uuid.uuid4().hex, now=self.now()), expected_version=upload.version
        )
        if claimed is None:  # another delivery got there first
            return self._handled(self._reread(upload), key, head)
        return self._create_job(claimed, key, request, head=head, image=image)

    def _handled(self, upload: Upload, key: str, head: ObjectHead | None = None) -> TriggerResult:
        """A delivery for an upload that was claimed or failed before."""
        if upload.status is UploadStatus.FAILED:
            code = upload.error.code if upload.error else None
            return TriggerResult(key, "duplicate", upload.upload_id, error_code=code)
        if upload.status is UploadStatus.AWAITING_UPLOAD:
            return self._start(upload, key, head or self._head_or_gone(key))
        return self._create_job(upload, key, upload.request(), head=head)

    def _create_job(
        self,
        upload: Upload,
        key: str,
        request: UploadRequestModel,
        *,
        head: ObjectHead | None = None,
        image: ImageInfo | None = None,
    ) -> TriggerResult:
        """The claimed upload's job: written and started once, whoever gets here first."""
        job_id = str(upload.job_id)
        existing = self.jobs.store.find(job_id)
        if existing is not None:
            try:
                self.jobs.resume(existing)  # a no-op unless an earlier delivery stopped before starting it
            except ClientError as exc:
                raise _failed("start_execution", exc) from exc
            return TriggerResult(key, "duplicate", upload.upload_id, job_id)
        # claimed, but the delivery that claimed it has not written the job (or never will)
        head = head or self._head_or_gone(key)
        if image is None:
            try:
                image = self._inspect(key, head)
            except _RefusedError as exc:  # the claimed object was replaced by a bad one
                return TriggerResult(key, "failed", upload.upload_id, error_code=exc.code)
        product_image = self._copy(key, head, image, job_id)
        try:
            self.jobs.accept(
                upload.tenant_id,
                request,
                job_id=job_id,
                product_image=product_image,
                public_base_url=upload.public_base_url,
                api_key_id=upload.api_key_id,
            )
        except ConcurrentUpdateError:
            return TriggerResult(key, "duplicate", upload.upload_id, job_id)
        except ServiceUnavailableError as exc:
            # the job is written and failed (its execution could not start): the job tells the client
            logger.error(
                "the upload's job could not start", extra={"upload_id": upload.upload_id, "code": exc.code}
            )
        return TriggerResult(key, "started", upload.upload_id, job_id)

    def _fail(self, upload: Upload, key: str, code: str, message: str) -> TriggerResult:
        error = ErrorInfo(code=code, message=message[:1000])
        saved = self.uploads.save(upload.failed(error, now=self.now()), expected_version=upload.version)
        if saved is None:
            return self._handled(self._reread(upload), key)
        return TriggerResult(key, "failed", upload.upload_id, error_code=code)

    def _reread(self, upload: Upload) -> Upload:
        current = self.uploads.find(upload.upload_id)
        if current is None:
            raise UploadError(f"upload {upload.upload_id} disappeared while it was being handled")
        return current

    # -- S3 ---------------------------------------------------------------------------------------------

    def _head(self, key: str) -> ObjectHead | None:
        try:
            answer = self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise _failed("head_object", exc) from exc
        metadata = {str(k).lower(): str(v) for k, v in (answer.get("Metadata") or {}).items()}
        return ObjectHead(size=int(answer["ContentLength"]), etag=str(answer["ETag"]), metadata=metadata)

    def _head_or_gone(self, key: str) -> ObjectHead:
        head = self._head(key)
        if head is None:
            raise _ObjectChangedError(key)
        return head

    def _inspect(self, key: str, head: ObjectHead) -> ImageInfo:
        """The image's format and size from its first bytes; refuses what no provider should see."""
        limit = self.settings.max_image_bytes
        if head.size > limit:
            raise _RefusedError(
                "product_image_too_large",
                f"the uploaded file is {head.size} bytes, larger than the limit of "
                f"{limit // (1024 * 1024)} MB ({limit} bytes)",
            )
        if head.size == 0:
            raise _RefusedError("invalid_product_image", "the uploaded file is empty")
        data = self._read(key, head, min(head.size, HEAD_BYTES))
        info = sniff_image(data)
        if info is None and head.size > len(data) and data.startswith(b"\xff\xd8\xff"):
            data = self._read(key, head, head.size)  # a JPEG with very large metadata segments
            info = sniff_image(data)
        if info is None:
            raise _RefusedError(
                "invalid_product_image",
                f"the uploaded file is not a JPEG, PNG or WebP image: it is {describe_bytes(data)}",
            )
        return info

    def _read(self, key: str, head: ObjectHead, length: int) -> bytes:
        try:
            answer = self.s3.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes=0-{length - 1}", IfMatch=head.etag
            )
            with answer["Body"] as body:
                return body.read()
        except ClientError as exc:
            if _missing(exc) or _code(exc) in {"PreconditionFailed", "412"}:
                raise _ObjectChangedError(key) from exc
            raise _failed("get_object", exc) from exc

    def _copy(self, key: str, head: ObjectHead, image: ImageInfo, job_id: str) -> ProductImage:
        """The upload copied (server side) to the job's inputs/ key: the job's product image."""
        target = product_image_key(job_id, image.format)
        try:
            answer = self.s3.copy_object(
                Bucket=self.bucket,
                Key=target,
                CopySource={"Bucket": self.bucket, "Key": key},
                CopySourceIfMatch=head.etag,
                ContentType=image.content_type,
                MetadataDirective="REPLACE",
                ChecksumAlgorithm="SHA256",
            )
        except ClientError as exc:
            if _missing(exc) or _code(exc) in {"PreconditionFailed", "412"}:
                raise _ObjectChangedError(key) from exc
            raise _failed("copy_object", exc) from exc
        checksum = answer.get("CopyObjectResult", {}).get("ChecksumSHA256")
        return ProductImage(
            s3_key=target,
            content_type=image.content_type,
            bytes=head.size,
            width=image.width,
            height=image.height,
            sha256=_hex_sha256(checksum) or self._sha256(target),
        )

    def _sha256(self, key: str) -> str:
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            raise _failed("get_object", exc) from exc
        digest = hashlib.sha256()
        with answer["Body"] as body:
            for chunk in body.iter_chunks(1024 * 1024):
                digest.update(chunk)
        return digest.hexdigest()


def _hex_sha256(checksum: str | None) -> str | None:
    """S3's base64 SHA-256 of a whole object as hex; ``None`` for a multipart (``...-N``) checksum."""
    if not checksum or "-" in checksum:
        return None
    try:
        raw = base64.b64decode(checksum, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


def _sidecar_tenant(data: bytes) -> str | None:
    try:
        document = json.loads(data)
    except ValueError:
        return None
    tenant = document.get("tenant_id") if isinstance(document, dict) else None
    try:
        return _TENANT.validate_python(tenant)
    except ValidationError:
        return None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def _missing(exc: ClientError) -> bool:
    return _code(exc) in {"NoSuchKey", "404", "NotFound"}


def _failed(operation: str, exc: ClientError) -> UploadError:
    logger.error("AWS request failed", extra={"operation": operation, "error_code": _code(exc)})
    return UploadError(f"{operation} failed: {_code(exc)}")
