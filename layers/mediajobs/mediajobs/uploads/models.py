"""An upload's models: the job request it carries, its record, and the S3 events that start it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from mediajobs.errors import MediajobsError
from mediajobs.jobs.models import ErrorInfo

if TYPE_CHECKING:
    pass

from pydantic import field_validator, model_validator

from mediajobs.jobs.requests import (
    CreatifyJobRequest,
    HttpUrl,
    JoggJobRequest,
    ProductRequest,
    ProdVisualJobRequest,
)

IMAGE_URL_REFUSED = (
    "product.image_url is not accepted by /v1/uploads: the file you upload is the product image "
    "(remove image_url, or send the job to POST /v1/jobs instead)"
)


class UploadStatus(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    STARTED = "started"
    FAILED = "failed"


class UploadProductRequest(ProductRequest):
    """The product without its image (the upload brings it)."""

    @field_validator("image_url")
    @classmethod
    def _no_image_url(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is not None:
            raise ValueError(IMAGE_URL_REFUSED)
        return value


class CreatifyUploadRequest(CreatifyJobRequest):
    product: UploadProductRequest = Field(default_factory=UploadProductRequest)

    @model_validator(mode="after")
    def _needs_image(self) -> Self:  # the upload is the image
        return self


class JoggUploadRequest(JoggJobRequest):
    product: UploadProductRequest = Field(default_factory=UploadProductRequest)


class ProdVisualUploadRequest(ProdVisualJobRequest):
    product: UploadProductRequest = Field(default_factory=UploadProductRequest)

    @model_validator(mode="after")
    def _needs_image(self) -> Self:  # the upload is the image
        return self


UploadRequest = Annotated[
    CreatifyUploadRequest | JoggUploadRequest | ProdVisualUploadRequest,
    Field(discriminator="provider"),
]


UPLOAD_PREFIX = "uploads/"
SIDECAR_SUFFIX = ".json"
SPEC_METADATA = "mediajobs-spec"
TENANT_METADATA = "mediajobs-tenant"
#: enough for any PNG/WebP header and the segments a JPEG usually has before its frame header
HEAD_BYTES = 256 * 1024
MAX_SIDECAR_BYTES = 64 * 1024
#: how long upload records stay readable (the table's TTL attribute ``expires_at``)
RECORD_SECONDS = 30 * 86400
DEFAULT_FILENAME = "product"
CONTENT_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}

UploadRequestModel = CreatifyUploadRequest | JoggUploadRequest | ProdVisualUploadRequest
UPLOAD_REQUEST: TypeAdapter[UploadRequestModel] = TypeAdapter(UploadRequest)
TenantId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")]
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


class UploadError(MediajobsError):
    """S3 or Step Functions failed a request while an upload was handled (worth retrying)."""


# --- the record ------------------------------------------------------------------------------------


class Upload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    upload_id: str
    tenant_id: str
    #: the API key that asked for the upload: its job is charged to that key's budget too
    api_key_id: str | None = None
    status: UploadStatus = UploadStatus.AWAITING_UPLOAD
    version: int = 0
    #: ``api``: POST /v1/uploads; ``drop``: a file put under uploads/ with its spec
    source: Literal["api", "drop"] = "api"
    key: str
    #: the validated job spec (an upload request), as JSON
    spec_json: str
    public_base_url: str
    created_at: datetime
    updated_at: datetime
    job_id: str | None = None
    error: ErrorInfo | None = None
    expires_at: int

    def request(self) -> UploadRequestModel:
        return UPLOAD_REQUEST.validate_json(self.spec_json)

    def started(self, job_id: str, *, now: datetime) -> Upload:
        return self.model_copy(update={"status": UploadStatus.STARTED, "job_id": job_id, "updated_at": now})

    def failed(self, error: ErrorInfo, *, now: datetime) -> Upload:
        return self.model_copy(update={"status": UploadStatus.FAILED, "error": error, "updated_at": now})


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]
    key: str
    expires_at: datetime
    max_bytes: int


# --- the S3 side -------------------------------------------------------------------------------


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class S3ObjectRef(_Event):
    key: str
    size: int | None = None
    etag: str | None = Field(default=None, alias="eTag")


class S3BucketRef(_Event):
    name: str


class S3Entity(_Event):
    bucket: S3BucketRef
    object_: S3ObjectRef = Field(alias="object")


class S3EventRecord(_Event):
    event_name: str = Field(alias="eventName")
    s3: S3Entity


class S3Notification(_Event):
    """An S3 event notification; S3's ``s3:TestEvent`` has no records and changes nothing."""

    records: list[S3EventRecord] = Field(default_factory=list, alias="Records")


class Sidecar(BaseModel):
    """``<key>.json`` next to a dropped file: who it is for and the job spec (an upload request)."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: TenantId
    spec: dict[str, Any]


Outcome = Literal[
    "started",  # the job was accepted
    "duplicate",  # the upload had been handled already (its job, or its failure, stands)
    "failed",  # the upload failed: see error_code
    "waiting_for_spec",  # a dropped file with no spec yet: its sidecar starts it
    "waiting_for_image",  # a sidecar whose file has not landed yet: the file starts it
    "object_missing",  # the object is gone (deleted or replaced since the notification)
    "rejected",  # a dropped file whose spec names no valid tenant: nobody to tell but the log
    "ignored",  # not an upload (another bucket, prefix or event)
]


@dataclass(frozen=True)
class TriggerResult:
    key: str
    outcome: Outcome
    upload_id: str | None = None
    job_id: str | None = None
    error_code: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True)
class ObjectHead:
    size: int
    etag: str
    metadata: dict[str, str] = field(default_factory=dict)


def drop_upload_id(key: str, etag: str) -> str:
    """The upload id of a file dropped under uploads/: one per key and content (ETag, quotes or not)."""
    return hashlib.sha256(f"{key}\n{etag.strip(chr(34))}".encode()).hexdigest()[:32]
