"""Batches from a manifest file in S3: a CSV or JSON list of job specs, validated when it lands.

``POST /v1/batch-manifests`` stores a manifest record (``awaiting_file``) and hands out an S3
presigned POST for exactly ``manifests/<manifest id>.<csv|json>``. S3's ObjectCreated
notification on ``manifests/`` runs :class:`ManifestTrigger`: it reads the file (at most
``MAX_MANIFEST_BYTES``), turns its rows into a :class:`BatchCreateRequest` (the model
``POST /v1/batches`` takes, so every item is validated the same way), claims the record with a
conditional write (``awaiting_file`` -> ``started`` with a new batch id) and starts the batch. A
file that does not validate ends the record ``refused`` with the reason and each problem's path
(``items.3.options.style``). S3 delivers at least once: a second delivery finds the record
claimed and starts nothing.

CSV columns: ``provider``; product columns (``image_url``, ``page_url``, ``title``,
``description``, ``target_audience``); ``external_id``, ``webhook_url``; ``metadata.<key>``; every
other column (optionally ``options.<name>``) an option of that row's provider. Empty cells are
left out. JSON: ``{"items": [...]}`` (or a bare list), each item a job spec as ``POST /v1/jobs``
takes it.

Items: ``MANIFEST#<id>`` / ``MANIFEST`` in the jobs table.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mediajobs.batches.models import BatchCreateRequest
from mediajobs.batches.service import BatchService
from mediajobs.errors import DomainError, NotFoundError
from mediajobs.jobs.models import utcnow
from mediajobs.jobs.requests import HttpUrl, MetadataKey, MetadataValue
from mediajobs.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3.client import S3Client

MANIFEST_PREFIX = "manifests/"
MAX_MANIFEST_BYTES = 5 * 1024 * 1024
PRODUCT_COLUMNS = frozenset({"image_url", "page_url", "title", "description", "target_audience"})
CONTENT_TYPES = {"csv": "text/csv", "json": "application/json"}


class ManifestRequest(BaseModel):
    """``POST /v1/batch-manifests``: the manifest's format and what the batch should carry."""

    model_config = ConfigDict(extra="forbid", title="BatchManifestRequest")

    format: Annotated[Literal["csv", "json"], Field(description="how the file you upload is written")]
    webhook_url: Annotated[HttpUrl | None, Field(description="where to POST the batch's final state")] = None
    metadata: Annotated[dict[MetadataKey, MetadataValue], Field(max_length=20)] = Field(default_factory=dict)


class ManifestProblem(BaseModel):
    path: str
    message: str


class ManifestError(BaseModel):
    code: str
    message: str
    details: list[ManifestProblem] = Field(default_factory=list)


class BatchManifest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    manifest_id: str
    tenant_id: str
    #: the API key that asked for the manifest: its batch is charged to that key's budget too
    api_key_id: str | None = None
    key: str
    format: Literal["csv", "json"]
    status: Literal["awaiting_file", "started", "refused"] = "awaiting_file"
    batch_id: str | None = None
    error: ManifestError | None = None
    public_base_url: str
    webhook_url: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


class ManifestStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, manifest: BatchManifest) -> None:
        item = json.loads(manifest.model_dump_json(exclude_none=True), parse_float=Decimal)
        self._table.put_item(
            Item=item | {"pk": f"MANIFEST#{manifest.manifest_id}", "sk": "MANIFEST"},
            ConditionExpression="attribute_not_exists(pk)",
        )

    def find(self, manifest_id: str) -> BatchManifest | None:
        item = self._table.get_item(
            Key={"pk": f"MANIFEST#{manifest_id}", "sk": "MANIFEST"}, ConsistentRead=True
        ).get("Item")
        return BatchManifest.model_validate(item) if item else None

    def settle(self, manifest: BatchManifest) -> bool:
        """Write the manifest's outcome if it is still awaiting its file; ``True`` for the writer."""
        item = json.loads(manifest.model_dump_json(exclude_none=True), parse_float=Decimal)
        try:
            self._table.put_item(
                Item=item | {"pk": f"MANIFEST#{manifest.manifest_id}", "sk": "MANIFEST"},
                ConditionExpression="#s = :waiting",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":waiting": "awaiting_file"},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


def manifest_key(manifest_id: str, fmt: str) -> str:
    return f"{MANIFEST_PREFIX}{manifest_id}.{fmt}"


def items_from_csv(text: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for row in csv.DictReader(io.StringIO(text)):
        cells = {name.strip(): (value or "").strip() for name, value in row.items() if name}
        item: dict[str, Any] = {"provider": cells.pop("provider", ""), "product": {}, "options": {}}
        for name, value in cells.items():
            if not value:
                continue
            if name in PRODUCT_COLUMNS:
                item["product"][name] = value
            elif name in {"external_id", "webhook_url"}:
                item[name] = value
            elif name.startswith("metadata."):
                item.setdefault("metadata", {})[name.removeprefix("metadata.")] = value
            else:
                item["options"][name.removeprefix("options.")] = value
        items.append(item)
    return items


def items_from_json(text: str) -> Any:
    document = json.loads(text)
    return document.get("items") if isinstance(document, dict) else document


class ManifestRefusedError(Exception):
    def __init__(self, error: ManifestError) -> None:
        super().__init__(error.message)
        self.error = error


def parse_manifest(manifest: BatchManifest, body: bytes) -> BatchCreateRequest:
    """The batch request a manifest file describes; :class:`ManifestRefusedError` says why not."""
    try:
        text = body.decode("utf-8-sig")
        items = items_from_csv(text) if manifest.format == "csv" else items_from_json(text)
    except (UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise ManifestRefusedError(
            ManifestError(
                code="invalid_manifest", message=f"the file is not {manifest.format.upper()}: {exc}"
            )
        ) from exc
    body_model = {"items": items, "webhook_url": manifest.webhook_url, "metadata": manifest.metadata}
    try:
        return BatchCreateRequest.model_validate({k: v for k, v in body_model.items() if v is not None})
    except ValidationError as exc:
        problems = [
            ManifestProblem(path=".".join(str(p) for p in e["loc"]) or "items", message=e["msg"])
            for e in exc.errors()[:50]
        ]
        raise ManifestRefusedError(
            ManifestError(
                code="validation_error",
                message=f"{exc.error_count()} problem(s) in the manifest, first: {problems[0].path}: "
                f"{problems[0].message}"[:1000],
                details=problems,
            )
        ) from exc


class ManifestService:
    """What the API does with manifests: hand out the upload form; show one."""

    def __init__(
        self,
        *,
        store: ManifestStore,
        s3: S3Client,
        bucket: str,
        url_seconds: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.s3 = s3
        self.bucket = bucket
        self.url_seconds = url_seconds
        self.now = clock

    def create(
        self,
        tenant_id: str,
        request: ManifestRequest,
        *,
        public_base_url: str,
        api_key_id: str | None = None,
    ) -> tuple[BatchManifest, dict[str, Any]]:
        now = self.now()
        manifest_id = uuid.uuid4().hex
        manifest = BatchManifest(
            manifest_id=manifest_id,
            tenant_id=tenant_id,
            api_key_id=api_key_id,
            key=manifest_key(manifest_id, request.format),
            format=request.format,
            public_base_url=public_base_url.rstrip("/"),
            webhook_url=str(request.webhook_url) if request.webhook_url else None,
            metadata=request.metadata,
            created_at=now,
            updated_at=now,
        )
        content_type = CONTENT_TYPES[request.format]
        post = self.s3.generate_presigned_post(
            Bucket=self.bucket,
            Key=manifest.key,
            Fields={"Content-Type": content_type},
            Conditions=[["content-length-range", 1, MAX_MANIFEST_BYTES], {"Content-Type": content_type}],
            ExpiresIn=self.url_seconds,
        )
        self.store.create(manifest)
        form = {
            "url": post["url"],
            "fields": dict(post["fields"]),
            "expires_at": now + timedelta(seconds=self.url_seconds),
            "max_bytes": MAX_MANIFEST_BYTES,
        }
        return manifest, form

    def get(self, tenant_id: str, manifest_id: str) -> BatchManifest:
        found = self.store.find(manifest_id) if len(manifest_id) == 32 and manifest_id.isalnum() else None
        if found is None or found.tenant_id != tenant_id:
            raise NotFoundError(f"batch manifest {manifest_id}")
        return found


class ManifestTrigger:
    """S3 ObjectCreated under ``manifests/``: validate the file and start its batch, once."""

    def __init__(
        self,
        *,
        store: ManifestStore,
        batches: BatchService,
        s3: S3Client,
        bucket: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.batches = batches
        self.s3 = s3
        self.bucket = bucket
        self.now = clock

    def handle(self, key: str) -> BatchManifest | None:
        name = key.removeprefix(MANIFEST_PREFIX)
        manifest_id, _, _ = name.partition(".")
        manifest = self.store.find(manifest_id) if "/" not in name else None
        if manifest is None or manifest.key != key:
            logger.warning(
                "an object under manifests/ matches no manifest", extra={"manifest_id": manifest_id}
            )
            return None
        if manifest.status == "refused":
            return manifest
        if manifest.status == "started" and manifest.batch_id is not None:
            if self.batches.batches.find(manifest.batch_id) is not None:
                return manifest  # a second delivery
            # claimed by a delivery that stopped before the batch was written: write it now
            return self._start(manifest, parse_manifest(manifest, self._read(key)), manifest.batch_id)
        return self._first_delivery(manifest, key)

    def _first_delivery(self, manifest: BatchManifest, key: str) -> BatchManifest | None:
        try:
            request = parse_manifest(manifest, self._read(key))
            self.batches.check_request(request)
        except ManifestRefusedError as exc:
            return self._refuse(manifest, exc.error)
        except DomainError as exc:
            return self._refuse(manifest, ManifestError(code=exc.code, message=exc.message))
        started = manifest.model_copy(
            update={"status": "started", "batch_id": uuid.uuid4().hex, "updated_at": self.now()}
        )
        if not self.store.settle(started):
            return self.store.find(manifest.manifest_id)
        assert started.batch_id is not None  # noqa: S101 - set just above
        return self._start(started, request, started.batch_id)

    def _start(self, manifest: BatchManifest, request: BatchCreateRequest, batch_id: str) -> BatchManifest:
        self.batches.create(
            manifest.tenant_id,
            request,
            public_base_url=manifest.public_base_url,
            batch_id=batch_id,
            api_key_id=manifest.api_key_id,
        )
        logger.info(
            "manifest started its batch", extra={"manifest_id": manifest.manifest_id, "batch_id": batch_id}
        )
        return manifest

    def _read(self, key: str) -> bytes:
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        if head["ContentLength"] > MAX_MANIFEST_BYTES:
            raise ManifestRefusedError(
                ManifestError(
                    code="manifest_too_large", message=f"a manifest is at most {MAX_MANIFEST_BYTES} bytes"
                )
            )
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read(MAX_MANIFEST_BYTES + 1)

    def _refuse(self, manifest: BatchManifest, error: ManifestError) -> BatchManifest:
        refused = manifest.model_copy(update={"status": "refused", "error": error, "updated_at": self.now()})
        self.store.settle(refused)
        logger.info("manifest refused", extra={"manifest_id": manifest.manifest_id, "code": error.code})
        return refused
