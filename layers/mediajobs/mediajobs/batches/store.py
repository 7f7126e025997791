"""Batch items in the jobs table (keys in :mod:`mediajobs.batches.service`)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from mediajobs.batches.models import Batch, ProviderGroup
from mediajobs.providers.base import ProviderName

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class BatchStore:
    """Batch items in the jobs table (see the module docstring for the keys)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, batch: Batch) -> None:
        item = json.loads(batch.model_dump_json(exclude_none=True), parse_float=Decimal)
        self._table.put_item(
            Item=item | {"pk": f"BATCH#{batch.batch_id}", "sk": "BATCH"},
            ConditionExpression="attribute_not_exists(pk)",
        )

    def find(self, batch_id: str) -> Batch | None:
        item = self._table.get_item(Key={"pk": f"BATCH#{batch_id}", "sk": "BATCH"}, ConsistentRead=True).get(
            "Item"
        )
        return Batch.model_validate(item) if item else None

    def mark_done(self, batch_id: str, job_id: str, round_: int = 0) -> int:
        """Count ``job_id`` as final in the batch's round (idempotent); how many distinct jobs are."""
        return self.mark_many_done(batch_id, [job_id], round_)

    def mark_many_done(self, batch_id: str, job_ids: list[str], round_: int) -> int:
        answer = self._table.update_item(
            Key={"pk": f"BATCH#{batch_id}", "sk": "DONE" if round_ == 0 else f"DONE#{round_}"},
            UpdateExpression="ADD job_ids :ids",
            ExpressionAttributeValues={":ids": set(job_ids)},
            ReturnValues="ALL_NEW",
        )
        return len(answer["Attributes"].get("job_ids", ()))  # type: ignore[arg-type]

    def done_ids(self, batch_id: str, round_: int) -> list[str]:
        """The final job ids counted in the batch's round."""
        item = self._table.get_item(
            Key={"pk": f"BATCH#{batch_id}", "sk": "DONE" if round_ == 0 else f"DONE#{round_}"},
            ConsistentRead=True,
        ).get("Item")
        return sorted(str(i) for i in item.get("job_ids", ())) if item else []  # type: ignore[union-attr]

    def reopen(self, batch: Batch, job_ids: list[str]) -> bool:
        """Start the batch's next round with ``job_ids``, once: ``False`` if another request did."""
        try:
            self._table.update_item(
                Key={"pk": f"BATCH#{batch.batch_id}", "sk": "BATCH"},
                UpdateExpression="SET #s = :running, job_ids = :ids, #r = :next REMOVE completed_at",
                ConditionExpression=(
                    "#s = :done AND (#r = :round OR attribute_not_exists(#r))"
                    if batch.round == 0
                    else "#s = :done AND #r = :round"
                ),
                ExpressionAttributeNames={"#s": "status", "#r": "round"},
                ExpressionAttributeValues={
                    ":running": "running",
                    ":done": "completed",
                    ":ids": job_ids,
                    ":next": batch.round + 1,
                    ":round": batch.round,
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def results_written(self, batch_id: str, round_: int) -> None:
        self._table.update_item(
            Key={"pk": f"BATCH#{batch_id}", "sk": "BATCH"},
            UpdateExpression="SET results_round = :round",
            ExpressionAttributeValues={":round": round_},
        )

    def complete(self, batch_id: str, now: datetime, round_: int) -> bool:
        """Mark the batch's round ``round_`` completed once; ``True`` for the caller that did.

        The round is part of the condition: a closer that counted every job of a round done
        must not close the next one, which a retry may have opened (and not yet filled with its
        new jobs) between the count and this write.
        """
        same_round = "#r = :round OR attribute_not_exists(#r)" if round_ == 0 else "#r = :round"
        try:
            self._table.update_item(
                Key={"pk": f"BATCH#{batch_id}", "sk": "BATCH"},
                UpdateExpression="SET #s = :done, completed_at = :now",
                ConditionExpression=f"#s <> :done AND ({same_round})",
                ExpressionAttributeNames={"#s": "status", "#r": "round"},
                ExpressionAttributeValues={":done": "completed", ":now": now.isoformat(), ":round": round_},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def put_group(self, group: ProviderGroup) -> None:
        self._table.put_item(
            Item=json.loads(group.model_dump_json())
            | {
                "pk": f"PGROUP#{group.provider_batch_id}",
                "sk": "PGROUP",
                "gsi1pk": f"{ProviderName.PRODVISUAL.value}#{group.provider_batch_id}",
                "gsi1sk": f"PGROUP#{group.provider_batch_id}",
            }
        )

    def get_group(self, provider_batch_id: str) -> ProviderGroup | None:
        item = self._table.get_item(
            Key={"pk": f"PGROUP#{provider_batch_id}", "sk": "PGROUP"}, ConsistentRead=True
        ).get("Item")
        return ProviderGroup.model_validate(item) if item else None

    def group_for_task(self, provider: str, task_id: str) -> str | None:
        answer = self._table.query(
            IndexName="ProviderTaskIndex",
            KeyConditionExpression=Key("gsi1pk").eq(f"{provider}#{task_id}"),
            Limit=1,
        )
        items = [i for i in answer.get("Items", []) if str(i["pk"]).startswith("PGROUP#")]
        return str(items[0]["pk"]).removeprefix("PGROUP#") if items else None

    def put_token(self, pk: str, sk: str, token: str) -> None:
        self._table.put_item(Item={"pk": pk, "sk": sk, "token": token})

    def claim_token(self, pk: str, sk: str) -> str | None:
        old = self._table.delete_item(Key={"pk": pk, "sk": sk}, ReturnValues="ALL_OLD").get("Attributes")
        return str(old["token"]) if old else None


# -- accepting a batch (the API) ----------------------------------------------------------------------
