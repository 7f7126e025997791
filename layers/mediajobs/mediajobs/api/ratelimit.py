"""One request rate per tenant over the client API, held in DynamoDB so every container shares it.

The stage throttle of API Gateway is shared by all tenants: one tenant's flood would take it all.
Each tenant gets ``api_requests_per_second`` (sustained) and ``api_request_burst`` (at once), a
generic cell rate algorithm like :mod:`mediajobs.ratelimit`, with a burst this time: a request is
admitted when the tenant's theoretical arrival time ``tat`` is at most ``(burst - 1) * interval``
ahead of now, and moves ``tat`` on by ``interval``. A refused request changes nothing and is told
when the next one would be admitted (``Retry-After``).

Admitting is one conditional ``UpdateItem`` (two when the tenant was idle), with no read and no
lock: "``tat += interval`` if ``now <= tat <= now + tolerance``", else "``tat = now + interval`` if
``tat < now``"; a refusal comes back with the stored ``tat`` (``ALL_OLD`` on the failed condition).
Items are ``RATE#TENANT#<tenant>`` / ``API`` in the jobs table, expiring a day after their last use.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mediajobs.api.errors import ApiError
from mediajobs.aws import dynamodb_table
from mediajobs.config import get_settings
from mediajobs.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

#: a tenant's item stays this long after its last request (TTL), then the tenant starts idle
IDLE_EXPIRY_SECONDS = 86400


class RateLimitedError(ApiError):
    """429 ``rate_limited`` with the whole seconds to wait in ``Retry-After``."""

    def __init__(self, retry_after: float, per_second: float, burst: int) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            429,
            "rate_limited",
            f"this tenant sends more than {per_second:g} requests a second (burst {burst}); "
            f"retry after {self.retry_after} s",
            headers={"Retry-After": str(self.retry_after)},
        )


def _decimal(value: float) -> Decimal:
    return Decimal(str(round(value, 6)))


def _condition_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class TenantRateLimiter:
    """Admits or refuses one API request of a tenant (items ``RATE#TENANT#<tenant>``)."""

    def __init__(
        self, table: Table, *, per_second: float, burst: int, clock: Callable[[], float] = time.time
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a tenant rate needs per_second > 0 and burst >= 1")
        self._table = table
        self.per_second = per_second
        self.burst = burst
        self._now = clock
        self.interval = 1.0 / per_second
        self.tolerance = (burst - 1) * self.interval

    def admit(self, tenant_id: str) -> None:
        """Count one request of ``tenant_id``, or raise :class:`RateLimitedError` (nothing counted)."""
        key = {"pk": f"RATE#TENANT#{tenant_id}", "sk": "API"}
        for _ in range(3):  # another request may move tat between our two conditions
            now = self._now()
            at, interval = _decimal(now), _decimal(self.interval)
            expires = int(now) + IDLE_EXPIRY_SECONDS
            try:  # busy: tat is ahead of now, admitted while within the burst
                self._table.update_item(
                    Key=key,
                    UpdateExpression="SET tat = tat + :interval, expires_at = :expires",
                    ConditionExpression="tat >= :now AND tat <= :latest",
                    ExpressionAttributeValues={
                        ":interval": interval,
                        ":now": at,
                        ":latest": at + _decimal(self.tolerance),
                        ":expires": expires,
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if not _condition_failed(exc):
                    raise
                tat = _stored_tat(exc.response)
            else:
                return
            if tat is not None and tat >= now:
                if tat - now > self.tolerance:
                    logger.info("tenant over its API rate", extra={"tenant_id": tenant_id})
                    raise RateLimitedError(tat - now - self.tolerance, self.per_second, self.burst)
                continue  # tat moved into the window meanwhile: try the busy update again
            try:  # idle: the request goes now
                self._table.update_item(
                    Key=key,
                    UpdateExpression="SET tat = :next, expires_at = :expires",
                    ConditionExpression="attribute_not_exists(tat) OR tat < :now",
                    ExpressionAttributeValues={":next": at + interval, ":now": at, ":expires": expires},
                )
            except ClientError as exc:
                if not _condition_failed(exc):
                    raise
            else:
                return
        # three lost races in a row: the tenant is sending as fast as it can; let this one wait
        raise RateLimitedError(self.interval, self.per_second, self.burst)


def _stored_tat(response: Any) -> float | None:
    item = response.get("Item") or {}
    tat = item.get("tat")
    if isinstance(tat, dict):  # the low-level form {"N": "..."} of a failed condition's item
        tat = tat.get("N")
    return None if tat is None else float(str(tat))


def tenant_rate_limiter() -> TenantRateLimiter | None:
    """The limiter of the container's settings (``None`` when the rate is 0: no limit).

    Built per request on the cached settings and table (cheap), so it follows them when they
    are reset, rather than keeping a cache of its own.
    """
    settings = get_settings()
    if settings.api_requests_per_second <= 0:
        return None
    return TenantRateLimiter(
        dynamodb_table(settings.jobs_table),
        per_second=settings.api_requests_per_second,
        burst=settings.api_request_burst,
    )
