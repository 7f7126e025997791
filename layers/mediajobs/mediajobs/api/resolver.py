"""The HTTP resolver both edges use: Powertools' HTTP API resolver, JSON bodies only, request ids.

- Bodies are parsed by :func:`mediajobs.api.bodies.parse_json` (size and depth checked first).
- A route that takes a body takes JSON only: Powertools' validation would also parse form and
  multipart bodies for it, and a hostile multipart body raises errors no handler expects. Any
  other content type is Powertools' ``RequestUnsupportedContentType`` (answered 415).
- Every error answer carries the request id (:func:`mediajobs.api.errors.with_request_id`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.api.bodies import parse_json
from mediajobs.api.errors import request_id_of, with_request_id

JSON = "application/json"


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type header names JSON (parameters such as ``charset`` allowed)."""
    return (content_type or "").split(";")[0].strip().lower() == JSON


class JsonOnlyRequestValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, reading a body as JSON or refusing it (415)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Powertools' __init__ is unannotated

    def _get_body(self, app: ApiGatewayResolver) -> dict[str, Any]:
        content_type = app.current_event.headers.get("content-type")
        if content_type is not None and content_type.strip() and not is_json(content_type):
            raise RequestUnsupportedContentType(
                "Unsupported content type",
                errors=[{"type": "unsupported_content_type", "loc": ("body",), "msg": content_type}],
            )
        return self._parse_json_data(app)


class EnvelopedResolver(APIGatewayHttpResolver):
    """See the module docstring."""

    def __init__(self, *, enable_validation: bool = False) -> None:
        super().__init__(enable_validation=enable_validation, json_body_deserializer=parse_json)
        if enable_validation:
            # Powertools installs its validation middleware only if the app has none yet (the
            # version is pinned; tests/unit/api/test_hostile_bodies.py fails if this stops working)
            self._request_validation_middleware = JsonOnlyRequestValidation()

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        return with_request_id(super().resolve(event, context), request_id_of(event))
