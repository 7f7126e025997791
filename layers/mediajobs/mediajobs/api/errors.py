"""Every API error is JSON ``{"error": {"code", "message", "details"?, "request_id"?}}``.

``code`` is stable; ``request_id`` is API Gateway's id of the request (quote it to support), added
to every error answer in one place (:func:`with_request_id`).

The domain raises :class:`mediajobs.errors.DomainError` kinds and knows nothing of HTTP; this
module is the one place that says which status each kind answers (:data:`STATUS_OF`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, Field

from mediajobs.errors import (
    ConflictError,
    DomainError,
    GoneError,
    InvalidRequestError,
    NotFoundError,
    PaymentRequiredError,
    ServiceUnavailableError,
    UnknownResourceError,
    UpstreamError,
    ValidationFailedError,
)


class ErrorDetail(BaseModel):
    path: str
    message: str


class ErrorBody(BaseModel):
    code: Annotated[str, Field(description="stable machine-readable code")]
    message: Annotated[str, Field(description="what went wrong and what to fix")]
    details: list[ErrorDetail] | None = None
    request_id: Annotated[
        str | None, Field(description="API Gateway's id of the request (requestContext.requestId)")
    ] = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    """Raised by routes and services; turned into a JSON error answer in one place."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[ErrorDetail] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return ErrorResponse(
            error=ErrorBody(code=self.code, message=self.message, details=self.details)
        ).model_dump(exclude_none=True)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} does not exist or belongs to another tenant")


#: the HTTP status of each kind of domain error (the first base class listed here that matches)
STATUS_OF: dict[type[DomainError], int] = {
    InvalidRequestError: 400,
    PaymentRequiredError: 402,
    NotFoundError: 404,
    UnknownResourceError: 404,
    ConflictError: 409,
    GoneError: 410,
    ValidationFailedError: 422,
    UpstreamError: 502,
    ServiceUnavailableError: 503,
}


def from_domain(error: DomainError) -> ApiError:
    """The API answer of a domain error: its status from :data:`STATUS_OF`, its code and message."""
    status = next((s for kind, s in STATUS_OF.items() if isinstance(error, kind)), 500)
    details = [ErrorDetail(path=d.path, message=d.message) for d in error.details] if error.details else None
    return ApiError(status, error.code, error.message, details)


def request_id_of(event: Mapping[str, Any]) -> str | None:
    """API Gateway's ``requestContext.requestId`` of an HTTP API event (``None`` if absent)."""
    context = event.get("requestContext")
    request_id = context.get("requestId") if isinstance(context, Mapping) else None
    return request_id if isinstance(request_id, str) and request_id else None


def with_request_id(answer: dict[str, Any], request_id: str | None) -> dict[str, Any]:
    """``answer`` (a resolved proxy result) with ``request_id`` in its error body, if it has one.

    Done once on the way out rather than by each handler, so no error answer can miss it: the
    exception handlers', the idempotency layer's and any added later.
    """
    status = answer.get("statusCode")
    if request_id is None or not isinstance(status, int) or status < 400 or answer.get("isBase64Encoded"):
        return answer
    try:
        body = json.loads(answer.get("body") or "")
    except ValueError:
        return answer
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or "request_id" in error:
        return answer
    error["request_id"] = request_id
    return {**answer, "body": json.dumps(body, separators=(",", ":"))}
