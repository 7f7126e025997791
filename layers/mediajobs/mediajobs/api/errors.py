"""Every API error is JSON ``{"error": {"code", "message", "details"?}}`` with a stable code.

The domain raises :class:`mediajobs.errors.DomainError` kinds and knows nothing of HTTP; this
module is the one place that says which status each kind answers (:data:`STATUS_OF`).
"""

from __future__ import annotations

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


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    """Raised by routes and services; turned into a JSON error answer in one place."""

    def __init__(
        self, status: int, code: str, message: str, details: list[ErrorDetail] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

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
