"""Idempotent creation: the ``Idempotency-Key`` header of POST /v1/jobs, /v1/batches, /v1/uploads.

Built on Powertools idempotency (``idempotent_function`` over a ``DynamoDBPersistenceLayer`` on
``IdempotencyTable``). One record per (operation, tenant, key), kept 24 hours:

- the record's id hashes the operation, the tenant and the client's key: two tenants (or two
  routes) never share a key. The record's payload hash covers the request (JSON body and query
  string), so the same key with another request is refused: 422 ``idempotency_key_reused``;
- the first request writes the record ``INPROGRESS`` (a conditional put, so exactly one request
  wins), creates, and stores its answer (status, body, headers). A repeat answers exactly that,
  with ``Idempotent-Replayed: true``, and creates nothing;
- a request that arrives while the first is still creating polls for the stored answer for up to
  ``wait_seconds`` and answers it; after that, 409 ``request_in_progress`` with ``Retry-After``.
  An ``INPROGRESS`` record left by a container that died stops counting when that invocation's
  time would have run out (Powertools' in-progress expiry);
- a create that fails (its 4xx / 5xx answer) deletes the record: the same key can be retried.

Requests without the header are not touched.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol, cast

import boto3
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from botocore.config import Config
from pydantic import BaseModel, ConfigDict

from mediajobs.api.errors import ApiError
from mediajobs.api.openapi import RETRY_AFTER, error
from mediajobs.errors import MediajobsError
from mediajobs.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb.client import DynamoDBClient

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
#: 1 to 255 printable ASCII characters: no control bytes, nothing a header cannot carry as it is
KEY_PATTERN = re.compile(r"[\x20-\x7e]{1,255}")
RECORD_SECONDS = 24 * 3600
#: the records' id prefix: fixed, so renaming the function does not forget the keys
RECORD_PREFIX = "mediajobs-create"
DEFAULT_WAIT_SECONDS = 2.0
FIRST_POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 0.25
#: in-progress expiry when the call has no Lambda context (the API function's timeout)
FALLBACK_REMAINING_MS = 29_000
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10)

#: what the three creates answer because of the header (beside the route's own answers)
IDEMPOTENCY_RESPONSES: dict[int, OpenAPIResponse] = {
    400: error(
        400,
        "the request body is not valid JSON, or the Idempotency-Key header is not 1 to 255 printable "
        "ASCII characters",
    ),
    409: error(
        409,
        "a request with this Idempotency-Key is still being processed; retry after Retry-After seconds",
        Retry_After=RETRY_AFTER,
    ),
    422: error(
        422,
        "the request is invalid (error.details), or this Idempotency-Key was used with another request "
        "(idempotency_key_reused)",
    ),
}

#: the header's declaration: checked by :func:`idempotency_key` (400), not by the validator (422)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description=(
            "makes the create safe to retry: the same key and request within 24 hours answers the "
            "first answer again (Idempotent-Replayed: true) and creates nothing; a UUID is a good key"
        ),
        json_schema_extra={"minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
    ),
]


class StoredAnswer(BaseModel):
    """What the first request answered: replayed as it is to every repeat of its key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = {}


@dataclass(frozen=True)
class Outcome:
    answer: StoredAnswer
    #: ``True`` when an earlier request with this key created it
    replayed: bool


class RequestInProgressError(ApiError):
    """Another request with this key is still creating; the client should retry after a moment."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            409,
            "request_in_progress",
            "a request with this Idempotency-Key is still being processed; "
            f"retry in {retry_after} s with the same key and body to get its answer",
        )
        self.retry_after = retry_after


class IdempotencyStoreError(MediajobsError):
    """The idempotency table could not be read or written (the API answers 503: retry)."""


class _RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class _FixedDeadline:
    """A stand-in Lambda context: the in-progress record expires this long after the call started."""

    started: float
    budget_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.budget_ms - int((time.monotonic() - self.started) * 1000))


def idempotency_key(headers: Mapping[str, str] | None) -> str | None:
    """The request's ``Idempotency-Key`` (``None``: not sent); ApiError 400 when it is malformed."""
    value = None
    for name, raw in (headers or {}).items():
        if name.lower() == HEADER:
            value = raw
            break
    if value is None:
        return None
    if not isinstance(value, str) or not KEY_PATTERN.fullmatch(value) or not value.strip():
        raise ApiError(
            400,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 printable ASCII characters (a UUID is a good choice)",
        )
    return value


class IdempotentCreator:
    """Runs a create at most once per (operation, tenant, key) and replays its answer."""

    def __init__(
        self,
        persistence: BasePersistenceLayer,
        *,
        expires_after_seconds: int = RECORD_SECONDS,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._persistence = persistence
        self._expires_after_seconds = expires_after_seconds
        self._wait_seconds = wait_seconds
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def on_table(
        cls, table_name: str, client: DynamoDBClient | None = None, **options: Any
    ) -> IdempotentCreator:
        """Records in ``table_name`` (the template's ``IdempotencyTable``: key ``id``, TTL ``expiration``).

        ``client`` must be a low-level DynamoDB client (a resource's ``meta.client`` re-serializes
        the attribute values Powertools sends).
        """
        client = client or boto3.client("dynamodb", config=CLIENT_CONFIG)
        return cls(DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client), **options)

    def run(
        self,
        *,
        operation: str,
        tenant_id: str,
        key: str,
        request: Any,
        create: Callable[[], StoredAnswer],
        lambda_context: object | None = None,
    ) -> Outcome:
        """Create once for this key, or answer what the request that created did.

        ``request`` is what the payload hash covers (JSON data). Raises ApiError 422
        ``idempotency_key_reused`` (another request body), :class:`RequestInProgressError` (409)
        and :class:`IdempotencyStoreError` (the table failed before anything was created); what
        ``create`` raises comes through unchanged (and the key may be used again).
        """
        created: list[StoredAnswer] = []

        def create_once(data: dict[str, Any]) -> dict[str, Any]:
            del data  # what the record is keyed and validated on; create() knows the request
            answer = create()
            created.append(answer)
            return answer.model_dump(mode="json")

        once = idempotent_function(
            create_once,
            data_keyword_argument="data",
            persistence_store=self._persistence,
            config=self._config(lambda_context),
            key_prefix=RECORD_PREFIX,
        )
        data = {"operation": operation, "tenant": tenant_id, "key": key, "request": request}
        deadline = self._clock() + self._wait_seconds
        delay = FIRST_POLL_SECONDS
        while True:
            try:
                stored = once(data=data)
            except IdempotencyValidationError as exc:
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request in the last 24 hours; "
                    "send a new key for a new request",
                ) from exc
            except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError):
                # the request that holds the key is still creating: wait for its answer a little
                if self._clock() + delay > deadline:
                    raise RequestInProgressError(retry_after=max(1, math.ceil(self._wait_seconds))) from None
                self._sleep(delay)
                delay = min(delay * 2, MAX_POLL_SECONDS)
                continue
            except IdempotencyPersistenceLayerError as exc:
                if created:
                    # created, but the answer could not be recorded: still the truth for this client
                    logger.error(
                        "idempotency record not completed", extra={"operation": operation, "error": str(exc)}
                    )
                    return Outcome(created[0], replayed=False)
                logger.error("idempotency table failed", extra={"operation": operation, "error": str(exc)})
                raise IdempotencyStoreError("the idempotency table failed") from exc
            if created:
                return Outcome(created[0], replayed=False)
            return Outcome(StoredAnswer.model_validate(stored), replayed=True)

    def _config(self, lambda_context: object | None) -> IdempotencyConfig:
        # a config per call: it carries this invocation's context (the in-progress expiry); the
        # persistence layer takes its other settings from the first one, and they never differ
        deadline: _RemainingTime = _FixedDeadline(time.monotonic(), FALLBACK_REMAINING_MS)
        if callable(getattr(lambda_context, "get_remaining_time_in_millis", None)):
            deadline = cast("_RemainingTime", lambda_context)
        return IdempotencyConfig(
            event_key_jmespath="[operation, tenant, key]",
            payload_validation_jmespath="request",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self._expires_after_seconds,
            hash_function="sha256",
            lambda_context=cast("LambdaContext", deadline),
        )


# --- the routes' side ----------------------------------------------------------------------------


def _jsonable(body: Any) -> dict[str, Any]:
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json", by_alias=True)
    if isinstance(body, dict):
        return body
    raise TypeError(f"an idempotent create must answer a JSON object, not {type(body).__name__}")


def _stored(response: Response[Any]) -> StoredAnswer:
    headers = {name: value for name, value in response.headers.items() if isinstance(value, str)}
    return StoredAnswer(status=response.status_code, body=_jsonable(response.body), headers=headers)


def idempotent_response(
    app: APIGatewayHttpResolver,
    creator: IdempotentCreator | None,
    *,
    operation: str,
    tenant_id: str,
    create: Callable[[], Response[Any]],
) -> Response[Any]:
    """``create()``'s answer, made idempotent when the request carries an ``Idempotency-Key``.

    The payload hash covers the JSON body and the query string. ``creator`` is ``None`` when the
    stack has no idempotency table (unit tests with fakes): the key is checked, then ignored.
    """
    event = app.current_event
    key = idempotency_key(event.headers)
    if key is None:
        return create()
    if creator is None:
        logger.warning("Idempotency-Key ignored: no idempotency table is configured")
        return create()
    query = dict(sorted((event.query_string_parameters or {}).items()))
    outcome = creator.run(
        operation=operation,
        tenant_id=tenant_id,
        key=key,
        request={"body": event.json_body, "query": query},
        create=lambda: _stored(create()),
        lambda_context=app.lambda_context,
    )
    answer = outcome.answer
    return Response(
        status_code=answer.status,
        content_type=content_types.APPLICATION_JSON,
        body=answer.body,
        headers=answer.headers | {REPLAYED_HEADER: "true" if outcome.replayed else "false"},
    )


def register(app: APIGatewayHttpResolver, services: Callable[[], object]) -> None:
    """A 409 ``request_in_progress`` carries ``Retry-After``."""
    del services  # the routes call idempotent_response themselves

    def in_progress(exc: RequestInProgressError) -> Response[Any]:
        return Response(
            status_code=exc.status,
            content_type=content_types.APPLICATION_JSON,
            body=exc.body(),
            headers={"Retry-After": str(exc.retry_after)},
        )

    app.exception_handler(RequestInProgressError)(in_progress)
