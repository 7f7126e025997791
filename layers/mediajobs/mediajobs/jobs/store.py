"""The job store: one DynamoDB table, domain models in and out, conditional writes throughout.

Items (``pk`` / ``sk``):
- ``JOB#<id>`` / ``JOB``: the job record; ``gsi1pk`` = ``<provider>#<provider task id>`` of its
  current task, so a provider webhook finds its job with one query on ``ProviderTaskIndex``;
  ``gsi2pk`` = ``TENANT#<tenant>`` and ``gsi2sk`` = ``<created_at>#<id>`` (``TenantIndex``: a
  tenant's jobs, newest first); ``gsi3pk`` = ``TENANT#<tenant>#<status>#<provider>`` with the same
  sort key (``TenantFilterIndex``: a filtered listing merges at most 6 partitions, no filter
  expression, so a page costs at most ``limit + 1`` items per partition read).
- ``JOB#<id>`` / ``TOKEN``: the Step Functions task token the job waits on. Kept apart from the
  record so that claiming it (a delete that returns the old item) is atomic and a record write can
  never bring a used token back.
- ``EVENT#<provider>#<event id>`` / ``EVENT``: a provider webhook already acted on (dedupe, TTL).
- ``APIKEY#<sha256 of key>`` / ``APIKEY``: which tenant an API key belongs to (never the key).

Every job write is conditional on the ``version`` it read, so status can only move forward and
two writers never overwrite each other silently.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import BaseModel

from mediajobs.errors import MediajobsError
from mediajobs.jobs.models import Job, JobStatus, JobSummary
from mediajobs.observability import logger
from mediajobs.providers.base import ProviderName

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

PROVIDER_TASK_INDEX = "ProviderTaskIndex"
ACTIVE_JOBS_INDEX = "ActiveJobsIndex"
ACTIVE_SHARDS = 8


def active_shard(job_id: str) -> str:
    """Jobs in flight spread over a few partitions of ActiveJobsIndex."""
    return f"ACTIVE#{int(job_id[:4], 16) % ACTIVE_SHARDS}" if job_id[:4].isalnum() else "ACTIVE#0"


TENANT_INDEX = "TenantIndex"
TENANT_FILTER_INDEX = "TenantFilterIndex"


class JobNotFoundError(MediajobsError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} does not exist")
        self.job_id = job_id


class ConcurrentUpdateError(MediajobsError):
    """Another writer changed the job first; read it again and retry."""


class StoreError(MediajobsError):
    """DynamoDB refused or failed a request."""


def _to_item(model: BaseModel) -> dict[str, Any]:
    item: dict[str, Any] = json.loads(model.model_dump_json(exclude_none=True), parse_float=Decimal)
    return item


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: give options and credits their JSON types back."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _job_key(job_id: str) -> dict[str, str]:
    return {"pk": f"JOB#{job_id}", "sk": "JOB"}


def listing_key(job: Job | JobSummary) -> str:
    """A job's place in its tenant's listings: fixed-width UTC time (so text order is time order)."""
    return f"{job.created_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}#{job.job_id}"


def _tenant_keys(job: Job) -> dict[str, str]:
    tenant = f"TENANT#{job.tenant_id}"
    position = listing_key(job)
    return {
        "gsi2pk": tenant,
        "gsi2sk": position,
        "gsi3pk": f"{tenant}#{job.status.value}#{job.provider.value}",
        "gsi3sk": position,
    }


@dataclass(frozen=True)
class JobPage:
    """One page of a listing; ``next_after`` is the listing key to continue after (``None``: the end)."""

    jobs: list[JobSummary]
    next_after: str | None


class JobStore:
    def __init__(self, table: Table, *, on_saved: Callable[[Job], object] | None = None) -> None:
        """``on_saved`` sees every job record this store writes, once written (progress events)."""
        self._table = table
        self._on_saved = on_saved

    # -- jobs -----------------------------------------------------------------------------------

    def create(self, job: Job) -> Job:
        self._put(job, condition="attribute_not_exists(pk)", values={})
        self._saved(job)
        return job

    def find(self, job_id: str) -> Job | None:
        try:
            answer = self._table.get_item(Key=_job_key(job_id), ConsistentRead=True)
        except ClientError as exc:
            raise self._failed("get_item", exc) from exc
        item = answer.get("Item")
        return Job.model_validate(_plain(item)) if item else None

    def get(self, job_id: str) -> Job:
        job = self.find(job_id)
        if job is None:
            raise JobNotFoundError(job_id)
        return job

    def save(self, job: Job, *, expected_version: int) -> Job:
        """Write ``job`` if the stored version is still ``expected_version``; returns the new record."""
        saved = job.model_copy(update={"version": expected_version + 1})
        self._put(saved, condition="version = :expected", values={":expected": expected_version})
        self._saved(saved)
        return saved

    def _saved(self, job: Job) -> None:
        if self._on_saved is not None:
            self._on_saved(job)

    def update(self, job_id: str, change: Callable[[Job], Job | None], *, attempts: int = 8) -> Job:
        """Read, apply ``change`` (``None``: nothing to write), write conditionally; retry on conflict."""
        for attempt in range(attempts):
            current = self.get(job_id)
            changed = change(current)
            if changed is None:
                return current
            try:
                return self.save(changed, expected_version=current.version)
            except ConcurrentUpdateError:
                logger.info(
                    "job changed concurrently, retrying", extra={"job_id": job_id, "attempt": attempt}
                )
                time.sleep(0.02 * (attempt + 1))
        raise ConcurrentUpdateError(f"job {job_id} kept changing; gave up after {attempts} attempts")

    def overdue_job_ids(self, before: datetime, *, limit: int = 200) -> list[str]:
        """Jobs not final whose deadline is before ``before`` (a Query per shard, no scan)."""
        cutoff = f"{before.astimezone(UTC):%Y-%m-%dT%H:%M:%S}"
        found: list[str] = []
        for shard in range(ACTIVE_SHARDS):
            kwargs: dict[str, Any] = {
                "IndexName": ACTIVE_JOBS_INDEX,
                "KeyConditionExpression": Key("gsi4pk").eq(f"ACTIVE#{shard}") & Key("gsi4sk").lt(cutoff),
                "Limit": limit,
            }
            try:
                answer = self._table.query(**kwargs)
            except ClientError as exc:
                raise self._failed("query", exc) from exc
            found += [str(i["pk"]).removeprefix("JOB#") for i in answer.get("Items", [])]
        return found[:limit]

    def find_many(self, job_ids: Collection[str]) -> list[Job]:
        """Several jobs in as few reads as DynamoDB allows (100 keys a request)."""
        client = self._table.meta.client
        wanted = list(dict.fromkeys(job_ids))
        found: list[Job] = []
        for start in range(0, len(wanted), 100):
            keys: list[dict[str, Any]] = [_job_key(i) for i in wanted[start : start + 100]]
            request: dict[str, Any] = {self._table.name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                try:
                    answer = client.batch_get_item(RequestItems=request)
                except ClientError as exc:
                    raise self._failed("batch_get_item", exc) from exc
                found += [
                    Job.model_validate(_plain(item)) for item in answer["Responses"].get(self._table.name, [])
                ]
                request = dict(answer.get("UnprocessedKeys") or {})
        return found

    def job_id_for_task(self, provider: str, task_id: str) -> str | None:
        try:
            answer = self._table.query(
                IndexName=PROVIDER_TASK_INDEX,
                KeyConditionExpression=Key("gsi1pk").eq(f"{provider}#{task_id}"),
            )
        except ClientError as exc:
            raise self._failed("query", exc) from exc
        items = [i for i in answer.get("Items", []) if str(i["pk"]).startswith("JOB#")]
        return str(items[0]["pk"]).removeprefix("JOB#") if items else None

    def list_jobs(
        self,
        tenant_id: str,
        *,
        statuses: Collection[JobStatus] = (),
        providers: Collection[ProviderName] = (),
        after: str | None = None,
        limit: int = 20,
    ) -> JobPage:
        """The tenant's jobs newest first, only those in ``statuses`` and ``providers`` when given,
        starting after the listing key ``after``; never a scan."""
        tenant = f"TENANT#{tenant_id}"
        if not statuses and not providers:
            partitions = [(TENANT_INDEX, "gsi2", tenant)]
        else:
            partitions = [
                (TENANT_FILTER_INDEX, "gsi3", f"{tenant}#{status.value}#{provider.value}")
                for status in (statuses or list(JobStatus))
                for provider in (providers or list(ProviderName))
            ]
        found: list[tuple[str, JobSummary]] = []
        for index, prefix, partition in partitions:
            found += self._newest(index, prefix, partition, after, limit + 1)
        found.sort(key=lambda pair: pair[0], reverse=True)
        page = found[:limit]
        more = len(found) > limit and bool(page)
        return JobPage(jobs=[job for _, job in page], next_after=page[-1][0] if more else None)

    def _newest(
        self, index: str, prefix: str, partition: str, after: str | None, want: int
    ) -> list[tuple[str, JobSummary]]:
        in_partition = Key(f"{prefix}pk").eq(partition)
        condition = in_partition if after is None else in_partition & Key(f"{prefix}sk").lt(after)
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
            "Limit": want,
        }
        found: list[tuple[str, JobSummary]] = []
        while len(found) < want:
            try:
                answer = self._table.query(**kwargs)
            except ClientError as exc:
                raise self._failed("query", exc) from exc
            items = answer.get("Items", [])
            found += [(str(item[f"{prefix}sk"]), JobSummary.model_validate(item)) for item in items]
            if "LastEvaluatedKey" not in answer:
                break
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
            kwargs["Limit"] = want - len(found)
        return found[:want]

    # -- task tokens ----------------------------------------------------------------------------

    def put_task_token(self, job_id: str, token: str) -> None:
        try:
            self._table.put_item(Item={"pk": f"JOB#{job_id}", "sk": "TOKEN", "token": token})
        except ClientError as exc:
            raise self._failed("put_item", exc) from exc

    def claim_task_token(self, job_id: str) -> str | None:
        """Take the token away (once): exactly one caller resumes the execution."""
        try:
            answer = self._table.delete_item(
                Key={"pk": f"JOB#{job_id}", "sk": "TOKEN"}, ReturnValues="ALL_OLD"
            )
        except ClientError as exc:
            raise self._failed("delete_item", exc) from exc
        old = answer.get("Attributes")
        return str(old["token"]) if old else None

    # -- webhook dedupe, links, api keys ------------------------------------------------------------

    def remember_event(self, provider: str, event_id: str, *, keep_seconds: int = 7 * 86400) -> bool:
        """``True`` the first time an event is seen, ``False`` for a duplicate."""
        try:
            self._table.put_item(
                Item={
                    "pk": f"EVENT#{provider}#{event_id}",
                    "sk": "EVENT",
                    "expires_at": int(time.time()) + keep_seconds,
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise self._failed("put_item", exc) from exc
        return True

    def forget_event(self, provider: str, event_id: str) -> None:
        """Let a delivery we could not act on be retried by the provider."""
        try:
            self._table.delete_item(Key={"pk": f"EVENT#{provider}#{event_id}", "sk": "EVENT"})
        except ClientError as exc:
            raise self._failed("delete_item", exc) from exc

    def put_api_key(self, key_hash: str, *, tenant_id: str, name: str) -> None:
        try:
            self._table.put_item(
                Item={"pk": f"APIKEY#{key_hash}", "sk": "APIKEY", "tenant_id": tenant_id, "name": name}
            )
        except ClientError as exc:
            raise self._failed("put_item", exc) from exc

    def tenant_for_key(self, key_hash: str) -> str | None:
        owner = self.key_owner(key_hash)
        return owner[0] if owner else None

    def key_owner(self, key_hash: str) -> tuple[str, str | None] | None:
        """The tenant of an active key and the key id its record names (``None``: unknown or revoked)."""
        try:
            item = self._table.get_item(Key={"pk": f"APIKEY#{key_hash}", "sk": "APIKEY"}).get("Item")
        except ClientError as exc:
            raise self._failed("get_item", exc) from exc
        if not item or item.get("revoked"):
            return None
        key_id = item.get("key_id")
        return str(item["tenant_id"]), str(key_id) if key_id else None

    # -- internals ------------------------------------------------------------------------------

    def _put(self, job: Job, *, condition: str, values: dict[str, Any]) -> None:
        item = _to_item(job) | _job_key(job.job_id) | {"type": "job"} | _tenant_keys(job)
        if job.task is not None:
            item |= {"gsi1pk": f"{job.provider.value}#{job.task.task_id}", "gsi1sk": f"JOB#{job.job_id}"}
        if not job.status.final:
            # sparse: only jobs still in flight are in ActiveJobsIndex, sorted by deadline
            item |= {
                "gsi4pk": active_shard(job.job_id),
                "gsi4sk": f"{job.deadline_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S}#{job.job_id}",
            }
        kwargs: dict[str, Any] = {"Item": item, "ConditionExpression": condition}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self._table.put_item(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConcurrentUpdateError(f"job {job.job_id} was changed by another writer") from exc
            raise self._failed("put_item", exc) from exc

    def _failed(self, operation: str, exc: ClientError) -> StoreError:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        logger.error("DynamoDB request failed", extra={"operation": operation, "error_code": code})
        return StoreError(f"DynamoDB {operation} failed: {code}")
