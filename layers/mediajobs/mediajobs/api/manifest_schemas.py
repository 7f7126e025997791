"""Public API models of batch manifests (the request model is the batches capability's own)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from mediajobs.batches.manifests import ManifestRequest

__all__ = ["ManifestCreated", "ManifestLinks", "ManifestProblemView", "ManifestRequest", "ManifestView"]


class ManifestLinks(BaseModel):
    self: str
    batch: Annotated[str | None, Field(description="the batch the manifest started")] = None


class ManifestCreated(BaseModel):
    """The presigned S3 POST for the manifest file: send ``fields``, then the file as ``file``."""

    manifest_id: str
    status: Literal["awaiting_file"]
    url: str
    fields: dict[str, str]
    key: str
    expires_at: datetime
    max_bytes: int
    links: ManifestLinks


class ManifestProblemView(BaseModel):
    path: Annotated[str, Field(description="where in the manifest, e.g. items.3.options.style")]
    message: str


class ManifestErrorView(BaseModel):
    code: str
    message: str
    details: list[ManifestProblemView] = Field(default_factory=list)


class ManifestView(BaseModel):
    manifest_id: str
    status: Annotated[
        Literal["awaiting_file", "started", "refused"],
        Field(description="started: the batch is running (batch_id); refused: see error"),
    ]
    format: Literal["csv", "json"]
    key: str
    batch_id: str | None = None
    error: ManifestErrorView | None = None
    created_at: datetime
    updated_at: datetime
    links: ManifestLinks
