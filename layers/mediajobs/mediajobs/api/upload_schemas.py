"""Public API models of uploads: a job spec whose product image the client uploads to S3.

An upload request is the job request of ``POST /v1/jobs`` (the same discriminated models, each
provider's options validated from its document) except for the product image: the uploaded file
is the image, so ``product.image_url`` is refused and no provider requires it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from mediajobs.api.schemas import ErrorView
from mediajobs.uploads.models import (
    CreatifyUploadRequest,
    JoggUploadRequest,
    ProdVisualUploadRequest,
    UploadRequest,
    UploadStatus,
)

__all__ = [
    "CreatifyUploadRequest",
    "JoggUploadRequest",
    "ProdVisualUploadRequest",
    "UploadCreated",
    "UploadLinks",
    "UploadRequest",
    "UploadStatus",
    "UploadView",
]


class UploadLinks(BaseModel):
    self: str
    job: Annotated[str | None, Field(description="the job, once the upload started it")] = None


class UploadCreated(BaseModel):
    """Where and how to upload the product image: an S3 presigned POST (multipart/form-data)."""

    upload_id: str
    status: UploadStatus
    url: Annotated[str, Field(description="POST the form here")]
    fields: Annotated[
        dict[str, str],
        Field(
            description="form fields to send, in this order, before the file field named 'file'; "
            "add Content-Type (image/jpeg, image/png or image/webp) when it is not among them"
        ),
    ]
    key: Annotated[str, Field(description="the S3 key the file is stored under")]
    expires_at: Annotated[datetime, Field(description="the form is refused after this time")]
    max_bytes: Annotated[int, Field(description="largest file accepted")]
    links: UploadLinks


class UploadView(BaseModel):
    upload_id: str
    status: UploadStatus
    created_at: datetime
    updated_at: datetime
    key: str
    job_id: Annotated[str | None, Field(description="set when status is started")] = None
    error: Annotated[ErrorView | None, Field(description="set when status is failed")] = None
    links: UploadLinks
