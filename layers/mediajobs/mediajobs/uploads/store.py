"""Upload records in the jobs table: ``UPLOAD#<id>`` / ``UPLOAD``, versioned like jobs."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mediajobs.jobs.store import StoreError
from mediajobs.observability import logger
from mediajobs.uploads.models import Upload

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def _key(upload_id: str) -> dict[str, str]:
    return {"pk": f"UPLOAD#{upload_id}", "sk": "UPLOAD"}


class UploadStore:
    """Upload records in the jobs table; every write is conditional (create once, then by version)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, upload: Upload) -> bool:
        """``False`` when the upload exists already."""
        return self._put(upload, condition="attribute_not_exists(pk)", values={})

    def find(self, upload_id: str) -> Upload | None:
        try:
            item = self._table.get_item(Key=_key(upload_id), ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise _store_failed("get_item", exc) from exc
        return Upload.model_validate(item) if item else None

    def save(self, upload: Upload, *, expected_version: int) -> Upload | None:
        """The saved record, or ``None`` when another writer changed it first."""
        saved = upload.model_copy(update={"version": expected_version + 1})
        written = self._put(saved, condition="version = :expected", values={":expected": expected_version})
        return saved if written else None

    def _put(self, upload: Upload, *, condition: str, values: dict[str, Any]) -> bool:
        item: dict[str, Any] = json.loads(upload.model_dump_json(exclude_none=True), parse_float=Decimal)
        kwargs: dict[str, Any] = {
            "Item": item | _key(upload.upload_id) | {"type": "upload"},
            "ConditionExpression": condition,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self._table.put_item(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise _store_failed("put_item", exc) from exc
        return True


def _store_failed(operation: str, exc: ClientError) -> StoreError:
    code = exc.response.get("Error", {}).get("Code", "Unknown")
    logger.error("DynamoDB request failed", extra={"operation": operation, "error_code": code})
    return StoreError(f"DynamoDB {operation} failed: {code}")


# --- the API side ------------------------------------------------------------------------------
