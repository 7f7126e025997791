"""Public API models of uploads: a job spec whose product image the client uploads to S3.

An upload request is the job request of ``POST /v1/jobs`` (the same discriminated models, each
provider's options validated from its document) except for the product image: the uploaded file
is the image, so ``product.image_url`` is refused and no provider requires it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from mediajobs.api.schemas import (
    CreatifyJobRequest,
    ErrorView,
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
