"""One request budget per provider, shared by every job, batch and webhook of the deployment.

Providers limit requests per account, not per job: ProdVisual allows 60 requests a minute and
10,000 a day, JoggAI 20 POSTs a minute, Creatify whatever the account's plan says. However many
executions run at once, their requests go through one limiter held in DynamoDB.

**Pacing (per minute).** A generic cell rate algorithm with no burst: request *n* may go at
``tat`` (its theoretical arrival time), and ``tat`` moves on by ``interval = 60 / per_minute /
headroom`` per request. Evenly spaced requests never put more than ``per_minute`` in any 60-second
window, which is how a provider counts (a token bucket would let ``2 * per_minute`` through around
a refill). ``headroom`` (0.95 by default) leaves room for the time between our clock and the
provider's: a request leaves a moment after its slot and travels.

Reserving is two conditional ``UpdateItem`` calls at most, without a read and without a lock:
"``tat += interval`` if ``tat`` is now or later" (the queue is busy) or else "``tat = now +
interval`` if ``tat`` is in the past" (the queue is idle). Each returns the slot it reserved.
**A reserved slot belongs to the caller**: a job that must wait keeps its slot on its record
and waits in the state machine (a Wait state), then uses that slot; nobody polls for a free one.

**Daily quota.** A counter per UTC day, incremented with ``count < per_day`` as its condition.
When the day's quota is spent the caller waits for the next UTC day. ProdVisual's document says
"10K Requests / Day" without saying which day; the calendar day in UTC is what we assume (the
sandbox does the same), and the README says so.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from mediajobs.aws import dynamodb_table
from mediajobs.config import Settings, get_settings
from mediajobs.errors import ErrorKind, RetryableProviderError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

#: a slot reserved earlier may still be used this long after its time (else a new one is taken)
SLOT_GRACE_SECONDS = 2.0
#: a wait up to this long happens inside the function; a longer one in the state machine
INLINE_WAIT_SECONDS = 2.5


@dataclass(frozen=True)
class RateRule:
    """A provider's limits. ``methods`` are the HTTP methods that count (``None``: all of them)."""

    per_minute: int | None = None
    per_day: int | None = None
    methods: frozenset[str] | None = None
    headroom: float = 0.95

    def counts(self, method: str) -> bool:
        limited = self.per_minute is not None or self.per_day is not None
        return limited and (self.methods is None or method.upper() in self.methods)

    @property
    def interval(self) -> float:
        return 0.0 if self.per_minute is None else 60.0 / (self.per_minute * self.headroom)


class RateLimitWaitError(RetryableProviderError):
    """Our own limiter (not the provider) asks for a wait; ``slot`` is reserved for the caller.

    ``slot`` is ``None`` when the wait is for the daily quota: nothing is reserved then.
    """

    def __init__(self, *, provider: str, retry_after: float, slot: float | None, reason: str) -> None:
        super().__init__(
            provider=provider,
            kind=ErrorKind.RATE_LIMITED,
            provider_code="mediajobs_rate_limit",
            provider_message=reason,
            retry_after=retry_after,
        )
        self.slot = slot


#: the slot a job reserved earlier; set (possibly empty) only around a job's own provider call
_PREPAID: ContextVar[list[float] | None] = ContextVar("mediajobs_prepaid_slot", default=None)


@contextmanager
def prepaid_slot(slot: float | None) -> Iterator[None]:
    """Mark a job's provider call: it may keep a slot far ahead, and uses ``slot`` first if given.

    Outside such a call (a provider batch, a webhook's re-fetch, the reconciler, the API) a
    request takes a slot only when it comes within ``INLINE_WAIT_SECONDS``; otherwise it is
    refused without reserving anything, as a slot nobody comes back for would be lost.
    """
    token = _PREPAID.set([slot] if slot is not None else [])
    try:
        yield
    finally:
        _PREPAID.reset(token)


class SharedRateLimiter:
    """Reserves request slots per provider in the jobs table (items ``RATE#<provider>``)."""

    def __init__(
        self,
        table: Table,
        rules: Mapping[str, RateRule],
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table
        self.rules = dict(rules)
        self._now = clock
        self._sleep = sleep

    def gate(self, provider: str) -> Callable[[str], None]:
        """The hook a provider's HTTP client calls before each request (see :meth:`before_request`)."""
        return functools.partial(self.before_request, provider)

    def before_request(self, provider: str, method: str) -> None:
        """Wait for this request's slot, briefly here, or raise :class:`RateLimitWaitError`.

        Within a job's call (:func:`prepaid_slot`) a slot handed over is used first, once, and a
        slot further ahead than ``INLINE_WAIT_SECONDS`` stays reserved: the error carries it, the
        job waits in the state machine and comes back to it.
        """
        rule = self.rules.get(provider)
        if rule is None or not rule.counts(method):
            return
        now = self._now()
        holder = _PREPAID.get()
        slot = self._take_prepaid(holder, now)
        if slot is None:
            max_ahead = None if holder is not None else INLINE_WAIT_SECONDS
            slot = self.reserve(provider, now=now, max_ahead=max_ahead)
        wait = slot - now
        if wait > INLINE_WAIT_SECONDS:
            raise RateLimitWaitError(
                provider=provider,
                retry_after=wait,
                slot=slot,
                reason=f"request slot reserved {wait:.1f}s ahead (shared {provider} rate limit)",
            )
        if wait > 0:
            self._sleep(wait)

    @staticmethod
    def _take_prepaid(holder: list[float] | None, now: float) -> float | None:
        if not holder:
            return None
        slot = holder.pop()
        return slot if now - slot <= SLOT_GRACE_SECONDS else None

    # -- reservations ---------------------------------------------------------------------------

    def reserve(self, provider: str, *, now: float | None = None, max_ahead: float | None = None) -> float:
        """Count one request against ``provider``'s limits and return when it may be sent.

        With ``max_ahead``, a slot further away than that is not taken: :class:`RateLimitWaitError`
        says when one may be free, and nothing is reserved.
        """
        rule = self.rules[provider]
        now = self._now() if now is None else now
        slot = now if rule.per_minute is None else self._next_slot(provider, rule, now, max_ahead)
        if rule.per_day is not None:
            self._count_today(provider, rule.per_day, now)
        return slot

    def _next_slot(self, provider: str, rule: RateRule, now: float, max_ahead: float | None) -> float:
        interval = Decimal(str(round(rule.interval, 6)))
        key = {"pk": f"RATE#{provider}", "sk": "MINUTE"}
        at = Decimal(str(round(now, 6)))
        busy = "tat >= :now" if max_ahead is None else "tat >= :now AND tat <= :latest"
        values: dict[str, Decimal] = {":interval": interval, ":now": at}
        if max_ahead is not None:
            values[":latest"] = at + Decimal(str(max_ahead))
        while True:
            try:  # busy: the next slot is after now
                answer = self._table.update_item(
                    Key=key,
                    UpdateExpression="SET tat = tat + :interval",
                    ConditionExpression=busy,
                    ExpressionAttributeValues=values,
                    ReturnValues="UPDATED_NEW",
                )
                return float(str(answer["Attributes"]["tat"])) - float(interval)
            except ClientError as exc:
                if not _condition_failed(exc):
                    raise
            try:  # idle: the request may go now
                self._table.update_item(
                    Key=key,
                    UpdateExpression="SET tat = :next",
                    ConditionExpression="attribute_not_exists(tat) OR tat < :now",
                    ExpressionAttributeValues={":next": at + interval, ":now": at},
                )
            except ClientError as exc:
                if not _condition_failed(exc):
                    raise
            else:
                return now
            if max_ahead is not None:
                self._refuse_if_far(provider, key, now, max_ahead)
            # another caller moved tat between the two: try again (each round someone wins)

    def _refuse_if_far(self, provider: str, key: dict[str, str], now: float, max_ahead: float) -> None:
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item") or {}
        tat = float(str(item.get("tat", 0)))
        if tat - now > max_ahead:
            raise RateLimitWaitError(
                provider=provider,
                retry_after=tat - now,
                slot=None,
                reason=f"no {provider} request slot free for {tat - now:.1f}s (shared rate limit)",
            )

    def _count_today(self, provider: str, per_day: int, now: float) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        try:
            self._table.update_item(
                Key={"pk": f"RATE#{provider}", "sk": f"DAY#{day}"},
                UpdateExpression="ADD requests :one SET expires_at = if_not_exists(expires_at, :expires)",
                ConditionExpression="attribute_not_exists(requests) OR requests < :limit",
                ExpressionAttributeValues={
                    ":one": 1,
                    ":limit": per_day,
                    ":expires": int(now) + 3 * 86400,
                },
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            tomorrow = (math.floor(now / 86400) + 1) * 86400
            raise RateLimitWaitError(
                provider=provider,
                retry_after=tomorrow - now,
                slot=None,
                reason=f"the {provider} quota of {per_day} requests for {day} (UTC) is used up",
            ) from exc


def _condition_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def rate_rules(settings: Settings) -> dict[str, RateRule]:
    """The limits the settings give (documented values by default; a 0 turns a limit off)."""
    headroom = settings.rate_limit_headroom
    return {
        "prodvisual": RateRule(
            per_minute=settings.prodvisual_requests_per_minute or None,
            per_day=settings.prodvisual_requests_per_day or None,
            headroom=headroom,
        ),
        "jogg": RateRule(
            per_minute=settings.jogg_posts_per_minute or None,
            methods=frozenset({"POST"}),
            headroom=headroom,
        ),
        "creatify": RateRule(per_minute=settings.creatify_requests_per_minute or None, headroom=headroom),
    }


@functools.cache
def shared_limiter() -> SharedRateLimiter:
    """The container's limiter on the jobs table, with the limits of its settings."""
    settings = get_settings()
    return SharedRateLimiter(dynamodb_table(settings.jobs_table), rate_rules(settings))
