"""API keys of tenants: made, listed and revoked by an operator (``python -m scripts.apikeys``).

A key is shown once, when it is made; the table keeps only its SHA-256 (never the key). Items in
the jobs table, both written in one transaction:

- ``APIKEY#<sha256 of key>`` / ``APIKEY``: the lookup the API makes on every request (through
  ``JobStore.tenant_for_key``): ``tenant_id``, ``name``, ``key_id``, ``created_at``; ``revoked``
  (``true``) and ``revoked_at`` once revoked;
- ``TENANT#<tenant>`` / ``KEY#<key id>``: the tenant's listing (a query, no index, no scan):
  ``key_id``, ``name``, ``created_at``, ``revoked_at``, and the hash, so revoking needs only the id.

The key id is the first 12 hex digits of the hash: not secret, stable, and whoever holds a key
can compute it. A tenant may hold several active keys at once, which is how a key is rotated
without downtime: make the new one, move the clients to it, revoke the old one. The API caches a
lookup for 60 seconds per container (``Authenticator``), so a revoked key stops working within
60 seconds.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from mediajobs.api.auth import KEY_ID_LENGTH, hash_api_key
from mediajobs.errors import MediajobsError
from mediajobs.jobs.models import utcnow
from mediajobs.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

KEY_PREFIX = "mj_live_"
TENANT_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
KEY_ID_PATTERN = re.compile(rf"[0-9a-f]{{{KEY_ID_LENGTH}}}")
NAME_PATTERN = re.compile(r"[\x20-\x7e]{0,64}")
NOT_REVOKED_YET = "attribute_exists(pk) AND attribute_not_exists(revoked_at)"


class ApiKeyError(MediajobsError):
    """An operator request that cannot be carried out (the message says why)."""


class ApiKeyNotFoundError(ApiKeyError):
    pass


class ApiKeyRecord(BaseModel):
    """What the listing shows of a key: never the key, never its hash."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    tenant_id: str
    name: str = ""
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class NewApiKey(BaseModel):
    """A key just made: ``key`` is shown to the operator once and stored nowhere."""

    model_config = ConfigDict(frozen=True)

    key: Annotated[str, Field(repr=False)]
    record: ApiKeyRecord


def generate_key() -> str:
    """``mj_live_`` and 32 URL-safe characters (192 random bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(24)


def key_id_for(key: str) -> str:
    return hash_api_key(key)[:KEY_ID_LENGTH]


def _lookup_key(key_hash: str) -> dict[str, str]:
    return {"pk": f"APIKEY#{key_hash}", "sk": "APIKEY"}


def _listing_key(tenant_id: str, key_id: str) -> dict[str, str]:
    return {"pk": f"TENANT#{tenant_id}", "sk": f"KEY#{key_id}"}


def _check_tenant(tenant_id: str) -> None:
    if not TENANT_PATTERN.fullmatch(tenant_id):
        raise ApiKeyError(
            "a tenant id is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat()


class ApiKeyStore:
    def __init__(self, table: Table, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._table = table
        self._client = table.meta.client
        self._now = clock

    def create(self, tenant_id: str, *, name: str = "") -> NewApiKey:
        """Make a key for ``tenant_id``; the returned ``key`` is the only copy there will ever be."""
        _check_tenant(tenant_id)
        if not NAME_PATTERN.fullmatch(name):
            raise ApiKeyError("a key name is at most 64 printable ASCII characters")
        for _attempt in range(3):
            try:
                return self._create(tenant_id, name, generate_key())
            except _ConditionFailedError:
                continue  # the tenant already has a key with this id (48 bits): draw another key
        raise ApiKeyError("could not make a key with a new key id; try again")

    def _create(self, tenant_id: str, name: str, key: str) -> NewApiKey:
        key_hash = hash_api_key(key)
        record = ApiKeyRecord(
            key_id=key_hash[:KEY_ID_LENGTH], tenant_id=tenant_id, name=name, created_at=self._now()
        )
        common = {
            "tenant_id": tenant_id,
            "key_id": record.key_id,
            "name": name,
            "created_at": _iso(record.created_at),
        }
        self._transact(
            [
                {
                    "Put": {
                        "TableName": self._table.name,
                        "Item": _lookup_key(key_hash) | common | {"type": "api_key"},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self._table.name,
                        "Item": _listing_key(tenant_id, record.key_id)
                        | common
                        | {"type": "api_key_listing", "key_hash": key_hash},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ],
            operation="create",
        )
        logger.info("API key created", extra={"tenant_id": tenant_id, "key_id": record.key_id})
        return NewApiKey(key=key, record=record)

    def list_keys(self, tenant_id: str) -> list[ApiKeyRecord]:
        """The tenant's keys, oldest first (active and revoked)."""
        _check_tenant(tenant_id)
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(f"TENANT#{tenant_id}") & Key("sk").begins_with("KEY#"),
            "ConsistentRead": True,
        }
        try:
            while True:
                page = self._table.query(**query)
                items.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except ClientError as exc:
            raise self._failed("query", exc) from exc
        records = [self._record(item) for item in items]
        return sorted(records, key=lambda r: (r.created_at, r.key_id))

    def get(self, tenant_id: str, key_id: str) -> ApiKeyRecord:
        """One of the tenant's keys (active or revoked); ApiKeyNotFoundError if it has none."""
        _check_tenant(tenant_id)
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise ApiKeyNotFoundError(f"{key_id!r} is not a key id (12 hex digits, as 'list' shows)")
        return self._record(self._listing(tenant_id, key_id))

    def revoke(self, tenant_id: str, key_id: str) -> ApiKeyRecord:
        """Revoke one of the tenant's keys (again: no change); ApiKeyNotFoundError if it has none."""
        _check_tenant(tenant_id)
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise ApiKeyNotFoundError(f"{key_id!r} is not a key id (12 hex digits, as 'list' shows)")
        item = self._listing(tenant_id, key_id)
        if item.get("revoked_at"):
            return self._record(item)
        now = _iso(self._now())
        try:
            self._transact(
                [
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": _lookup_key(str(item["key_hash"])),
                            "UpdateExpression": "SET revoked = :yes, revoked_at = :now",
                            "ConditionExpression": "attribute_exists(pk) AND tenant_id = :tenant",
                            "ExpressionAttributeValues": {":yes": True, ":now": now, ":tenant": tenant_id},
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": _listing_key(tenant_id, key_id),
                            "UpdateExpression": "SET revoked_at = :now",
                            "ConditionExpression": NOT_REVOKED_YET,
                            "ExpressionAttributeValues": {":now": now},
                        }
                    },
                ],
                operation="revoke",
            )
        except _ConditionFailedError:
            # revoked meanwhile by another operator: what is stored now is the answer
            return self._record(self._listing(tenant_id, key_id))
        logger.info("API key revoked", extra={"tenant_id": tenant_id, "key_id": key_id})
        return self._record(self._listing(tenant_id, key_id))

    # -- internals ------------------------------------------------------------------------------

    def _listing(self, tenant_id: str, key_id: str) -> dict[str, Any]:
        try:
            item = self._table.get_item(Key=_listing_key(tenant_id, key_id), ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise self._failed("get_item", exc) from exc
        if not item:
            raise ApiKeyNotFoundError(
                f"tenant {tenant_id} has no key {key_id} (python -m scripts.apikeys list shows its keys)"
            )
        return dict(item)

    @staticmethod
    def _record(item: dict[str, Any]) -> ApiKeyRecord:
        return ApiKeyRecord(
            key_id=str(item["key_id"]),
            tenant_id=str(item["tenant_id"]),
            name=str(item.get("name") or ""),
            created_at=datetime.fromisoformat(str(item["created_at"])),
            revoked_at=datetime.fromisoformat(str(item["revoked_at"])) if item.get("revoked_at") else None,
        )

    def _transact(self, items: list[dict[str, Any]], *, operation: str) -> None:
        try:
            # the table resource's client takes plain Python values (it serializes them itself)
            self._client.transact_write_items(TransactItems=cast("Any", items))
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                raise _ConditionFailedError(operation) from exc
            raise self._failed(f"transact_write_items ({operation})", exc) from exc

    @staticmethod
    def _failed(operation: str, exc: ClientError) -> ApiKeyError:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        logger.error("DynamoDB request failed", extra={"operation": operation, "error_code": code})
        return ApiKeyError(f"DynamoDB {operation} failed: {code}")


class _ConditionFailedError(ApiKeyError):
    """A transaction's condition failed (a key id collision at create, a concurrent revoke)."""
