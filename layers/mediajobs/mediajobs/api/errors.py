"""Every API error is JSON ``{"error": {"code", "message", "details"?}}`` with a stable code."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field


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
