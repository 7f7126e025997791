"""Budget counters, job holds and usage counters in the jobs table; every change is atomic.

Items (``pk`` / ``sk``):
- ``BUDGET#<tenant>`` / ``LIMITS``: the tenant's daily and monthly credit limits.
- ``BUDGET#<tenant>`` / ``SPENT#D#<YYYY-MM-DD>`` and ``SPENT#M#<YYYY-MM>``: credits reserved by
  jobs in flight plus credits used by final jobs in that UTC day / month (``credits``).
- ``BUDGET#<tenant>#KEY#<key id>`` / ``LIMITS``, ``SPENT#D#...``, ``SPENT#M#...``: the same for
  one of the tenant's API keys: its own limits, and the credits of the jobs created with it
  (counted whether or not the key has limits, so a limit set mid-day sees the day's spend).
  Tenant ids and key ids contain no ``#``, so the two kinds of partition never meet.
- ``HOLD#<job id>`` / ``HOLD``: what a job reserved, and with which key; deleting it is how a
  job is settled, once.
- ``USAGE#<tenant>`` / ``<YYYY-MM-DD>#<provider>``: final jobs and the credits they used that day.

A reservation is one ``TransactWriteItems`` that adds the credits to the period counters of the
tenant and, for a create made with an API key, of the key (four counters), each conditional on
staying within its limit: two creates racing for the last credits of either budget cannot both
pass, and a refusal changes no counter. The cancellation reasons say which counter's condition
failed, so the refusal names the budget. Settling is one transaction too: the hold's delete
(conditional on it still existing, so a job is settled once however often its final step runs),
the counters of the hold's tenant and key moved from reserved to the actual figure, and the
usage row. A hold without a key (made before keys had budgets) moves the tenant's counters only.
(The table resource's client serializes Python values, so the transaction items carry plain
strings and Decimals.)
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, cast

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from mediajobs.billing.models import BudgetLimits, Hold, UsageRow
from mediajobs.errors import MediajobsError
from mediajobs.observability import logger
from mediajobs.providers.base import ProviderName

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class BudgetStoreError(MediajobsError):
    """DynamoDB refused or failed a request."""


Period = Literal["daily", "monthly"]

#: how often a reservation whose transaction collided with another one on a counter is tried again
CONFLICT_ATTEMPTS = 5
#: cancellation reasons after which the same reservation may pass (nothing was written)
RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError"})


@dataclass(frozen=True)
class Exceeded:
    """One limit a reservation would pass: the tenant's (``key_id`` None) or a key's, daily or monthly."""

    key_id: str | None
    period: Period


class OverBudgetError(MediajobsError):
    """A reservation would take a period's counter over its limit (``exceeded``: which ones, if known)."""

    def __init__(self, message: str, exceeded: Sequence[Exceeded] = ()) -> None:
        super().__init__(message)
        self.exceeded = tuple(exceeded)


def budget_pk(tenant_id: str, key_id: str | None = None) -> str:
    """The partition of the tenant's budget, or of one of its API keys' budgets."""
    return f"BUDGET#{tenant_id}" if key_id is None else f"BUDGET#{tenant_id}#KEY#{key_id}"


def _n(value: float) -> Decimal:
    return Decimal(str(value))


def _f(value: Any) -> float:
    return float(value) if value is not None else 0.0


def day_of(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d}"


def month_of(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m}"


class BudgetStore:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._client = table.meta.client

    # -- limits ---------------------------------------------------------------------------------

    def limits(self, tenant_id: str, key_id: str | None = None) -> BudgetLimits:
        """The tenant's limits, or the key's (``key_id``); no limits when none are set."""
        try:
            item = self._table.get_item(
                Key={"pk": budget_pk(tenant_id, key_id), "sk": "LIMITS"}, ConsistentRead=True
            ).get("Item")
        except ClientError as exc:
            raise self._failed("get_item", exc) from exc
        if not item:
            return BudgetLimits(tenant_id=tenant_id, key_id=key_id)
        return BudgetLimits.model_validate(
            {
                "tenant_id": tenant_id,
                "key_id": key_id,
                "daily": item.get("daily"),
                "monthly": item.get("monthly"),
                "updated_at": item.get("updated_at"),
            }
        )

    def set_limits(self, limits: BudgetLimits) -> None:
        item: dict[str, Any] = {
            "pk": budget_pk(limits.tenant_id, limits.key_id),
            "sk": "LIMITS",
            "tenant_id": limits.tenant_id,
            "updated_at": (limits.updated_at or datetime.now(UTC)).isoformat(),
        }
        if limits.key_id is not None:
            item["key_id"] = limits.key_id
        if limits.daily is not None:
            item["daily"] = _n(limits.daily)
        if limits.monthly is not None:
            item["monthly"] = _n(limits.monthly)
        try:
            self._table.put_item(Item=item)
        except ClientError as exc:
            raise self._failed("put_item", exc) from exc

    def clear_limits(self, tenant_id: str, key_id: str | None = None) -> None:
        """Remove the tenant's (or the key's) limits; the counters stay as they are."""
        try:
            self._table.delete_item(Key={"pk": budget_pk(tenant_id, key_id), "sk": "LIMITS"})
        except ClientError as exc:
            raise self._failed("delete_item", exc) from exc

    def spent(
        self, tenant_id: str, key_id: str | None = None, *, day: str, month: str
    ) -> tuple[float, float]:
        """Credits reserved or used in the UTC ``day`` and ``month`` (by the tenant, or with the key)."""
        found = []
        for sk in (f"SPENT#D#{day}", f"SPENT#M#{month}"):
            try:
                item = self._table.get_item(
                    Key={"pk": budget_pk(tenant_id, key_id), "sk": sk}, ConsistentRead=True
                ).get("Item")
            except ClientError as exc:
                raise self._failed("get_item", exc) from exc
            found.append(_f(item.get("credits")) if item else 0.0)
        return found[0], found[1]

    # -- reserve, settle, release ---------------------------------------------------------------

    def reserve(self, budgets: Sequence[BudgetLimits], holds: list[Hold], *, day: str, month: str) -> None:
        """Add the holds' credits to each budget's period counters (within its limits), record the holds.

        ``budgets``: the tenant's limits, and the key's when the jobs are created with a key. Raises
        :class:`OverBudgetError` when a counter would pass its limit; nothing changes then.
        """
        if not holds:
            return
        total = sum(h.credits for h in holds)
        updates: list[tuple[Exceeded, dict[str, Any] | None]] = []
        for limits in budgets:
            pk = budget_pk(limits.tenant_id, limits.key_id)
            updates += [
                (
                    Exceeded(limits.key_id, "daily"),
                    self._counter_update(pk, f"SPENT#D#{day}", total, limits.daily),
                ),
                (
                    Exceeded(limits.key_id, "monthly"),
                    self._counter_update(pk, f"SPENT#M#{month}", total, limits.monthly),
                ),
            ]
        alone = [check for check, update in updates if update is None]
        if alone:
            raise OverBudgetError(f"{total} credits exceed the budget on their own", alone)
        self._reserve_counters(total, updates)
        try:
            with self._table.batch_writer() as writer:
                for hold in holds:
                    writer.put_item(Item=self._hold_item(hold))
        except ClientError as exc:
            for limits in budgets:
                self._add(budget_pk(limits.tenant_id, limits.key_id), day, month, -total)
            raise self._failed("batch_write_item", exc) from exc

    def _reserve_counters(self, total: float, updates: list[tuple[Exceeded, dict[str, Any] | None]]) -> None:
        items = cast("list[TransactWriteItemTypeDef]", [{"Update": u} for _, u in updates if u])
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                self._client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise self._failed("transact_write_items", exc) from exc
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
                failed = zip(updates, reasons, strict=False)
                exceeded = [check for (check, _), code in failed if code == "ConditionalCheckFailed"]
                if exceeded or not set(reasons) - {"None", None}:
                    # a limit's condition failed (or the answer does not say why: as before, refused)
                    raise OverBudgetError(f"{total} credits would exceed the budget", exceeded) from exc
                if not RETRYABLE_REASONS & set(reasons) or attempt == CONFLICT_ATTEMPTS:
                    raise self._failed("transact_write_items", exc) from exc
                # another transaction held a counter: nothing changed, try again after a short jitter
                time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not a secret
            else:
                return

    def _counter_update(self, pk: str, sk: str, amount: float, limit: float | None) -> dict[str, Any] | None:
        update: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": {"pk": pk, "sk": sk},
            "UpdateExpression": "ADD credits :amount",
            "ExpressionAttributeValues": {":amount": _n(amount)},
        }
        if limit is None:
            return update
        if amount > limit:
            return None
        if amount > 0:
            # stays within the limit after adding: credits + amount <= limit
            update["ConditionExpression"] = "attribute_not_exists(credits) OR credits <= :room"
            update["ExpressionAttributeValues"][":room"] = _n(limit - amount)
        else:
            # a job of unknown price starts only while some budget is left
            update["ConditionExpression"] = "attribute_not_exists(credits) OR credits < :limit"
            update["ExpressionAttributeValues"][":limit"] = _n(limit)
        return update

    def _hold_item(self, hold: Hold) -> dict[str, Any]:
        return {
            "pk": f"HOLD#{hold.job_id}",
            "sk": "HOLD",
            "job_id": hold.job_id,
            "tenant_id": hold.tenant_id,
            "provider": hold.provider.value,
            "credits": _n(hold.credits),
            "day": hold.day,
            "month": hold.month,
        } | ({"key_id": hold.key_id} if hold.key_id is not None else {})

    def hold(self, job_id: str) -> Hold | None:
        try:
            item = self._table.get_item(Key={"pk": f"HOLD#{job_id}", "sk": "HOLD"}, ConsistentRead=True).get(
                "Item"
            )
        except ClientError as exc:
            raise self._failed("get_item", exc) from exc
        return Hold.model_validate(item | {"credits": _f(item["credits"])}) if item else None

    def settle(
        self,
        hold: Hold,
        *,
        used: float | None,
        status: str,
        usage_day: date,
        aws_usd: float,
    ) -> bool:
        """Move the hold to what the job used (``None``: unknown, counted as 0) and count its usage.

        ``False``: the hold was already settled or released (nothing changed).
        """
        values: dict[str, Any] = {
            ":one": 1,
            ":credits": _n(used or 0.0),
            ":unknown": 1 if used is None else 0,
            ":usd": _n(aws_usd),
        }
        usage_key = {
            "pk": f"USAGE#{hold.tenant_id}",
            "sk": f"{usage_day}#{hold.provider.value}",
        }
        count: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": usage_key,
            "UpdateExpression": (
                "ADD jobs :one, #status :one, credits :credits, jobs_without_credits :unknown, aws_usd :usd"
            ),
            "ExpressionAttributeNames": {"#status": status},
            "ExpressionAttributeValues": values,
        }
        items = [self._hold_delete(hold), {"Update": count}, *self._moves(hold, (used or 0.0) - hold.credits)]
        return self._transact(items)

    def release(self, hold: Hold) -> bool:
        """Give a hold's credits back without counting usage (the job never started)."""
        return self._transact([self._hold_delete(hold), *self._moves(hold, -hold.credits)])

    def _hold_delete(self, hold: Hold) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self._table.name,
                "Key": {"pk": f"HOLD#{hold.job_id}", "sk": "HOLD"},
                "ConditionExpression": "attribute_exists(pk)",
            }
        }

    def _moves(self, hold: Hold, delta: float) -> list[dict[str, Any]]:
        """The tenant's and the hold's key's period counters' updates adding ``delta`` (none for 0)."""
        if not delta:
            return []
        partitions = [budget_pk(hold.tenant_id)]
        if hold.key_id is not None:
            partitions.append(budget_pk(hold.tenant_id, hold.key_id))
        return [
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": {"pk": pk, "sk": sk},
                    "UpdateExpression": "ADD credits :delta",
                    "ExpressionAttributeValues": {":delta": _n(delta)},
                }
            }
            for pk in partitions
            for sk in (f"SPENT#D#{hold.day}", f"SPENT#M#{hold.month}")
        ]

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        try:
            self._client.transact_write_items(TransactItems=cast("list[TransactWriteItemTypeDef]", items))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise self._failed("transact_write_items", exc) from exc
        return True

    def _add(self, pk: str, day: str, month: str, amount: float) -> None:
        for sk in (f"SPENT#D#{day}", f"SPENT#M#{month}"):
            try:
                self._table.update_item(
                    Key={"pk": pk, "sk": sk},
                    UpdateExpression="ADD credits :amount",
                    ExpressionAttributeValues={":amount": _n(amount)},
                )
            except ClientError as exc:
                logger.error("could not give reserved credits back", extra={"sk": sk})
                raise self._failed("update_item", exc) from exc

    # -- usage ----------------------------------------------------------------------------------

    def usage(self, tenant_id: str, start: date, end: date) -> list[UsageRow]:
        """The tenant's usage rows from ``start`` to ``end`` (UTC days, both included): one Query."""
        condition = Key("pk").eq(f"USAGE#{tenant_id}") & Key("sk").between(f"{start}#", f"{end}#~")
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition}
        rows: list[UsageRow] = []
        while True:
            try:
                answer = self._table.query(**kwargs)
            except ClientError as exc:
                raise self._failed("query", exc) from exc
            for item in answer.get("Items", []):
                day, _, provider = str(item["sk"]).partition("#")
                rows.append(
                    UsageRow(
                        day=date.fromisoformat(day),
                        provider=ProviderName(provider),
                        jobs=int(_f(item.get("jobs"))),
                        succeeded=int(_f(item.get("succeeded"))),
                        failed=int(_f(item.get("failed"))),
                        cancelled=int(_f(item.get("cancelled"))),
                        credits=_f(item.get("credits")),
                        jobs_without_credits=int(_f(item.get("jobs_without_credits"))),
                        aws_usd=_f(item.get("aws_usd")),
                    )
                )
            if "LastEvaluatedKey" not in answer:
                return rows
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def _failed(self, operation: str, exc: ClientError) -> BudgetStoreError:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        logger.error("DynamoDB request failed", extra={"operation": operation, "error_code": code})
        return BudgetStoreError(f"DynamoDB {operation} failed: {code}")
