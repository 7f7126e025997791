"""The OpenAPI document's shared parts: answer headers, error answers, and one tidy-up pass.

Routes declare their operationIds, answers, headers and examples on the resolver itself. Two
things the resolver cannot express are fixed in :class:`DocumentedResolver`, the one place that
edits the generated document:

- Powertools builds the definitions with a fixed pydantic ``GenerateJsonSchema`` (no naming
  hook), and pydantic names two classes of the same name by their module path
  (``mediajobs__providers__jogg__models__AspectRatio``); Creatify's and JoggAI's documents both
  call an option ``AspectRatio``. Such a definition is renamed after its provider
  (``JoggAspectRatio``), title included, so generated clients get distinct classes.
- Powertools adds a 422 ``HTTPValidationError`` answer to every operation and its
  ``HTTPValidationError`` / ``ValidationError`` / ``ResponseValidationError`` definitions. A route
  that can answer 422 documents it as our ``ErrorResponse`` (replacing the default); on a route
  without parameters or body (which cannot answer 422) the default answer is dropped, and so are
  the definitions nothing refers to any more.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader
from pydantic import BaseModel

from mediajobs.api.errors import ErrorResponse

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

SCHEMA_PREFIX = "#/components/schemas/"
#: the class-name prefix of each provider package's models
PROVIDER_PREFIXES = {"creatify": "Creatify", "jogg": "Jogg", "prodvisual": "ProdVisual"}
#: Powertools' defaults, replaced by our ErrorResponse on every route
POWERTOOLS_DEFAULTS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
_MODULE_PATH_NAME = re.compile(r"^mediajobs__providers__(?P<provider>[a-z]+)__\w+__(?P<name>[A-Za-z0-9]+)$")

LOCATION: OpenAPIResponseHeader = {
    "description": "the resource's URL path: poll it for its state",
    "schema": {"type": "string"},
}
REPLAYED: OpenAPIResponseHeader = {
    "description": (
        "with an Idempotency-Key: 'true' when this answer is the stored answer of an earlier request "
        "with the same key (nothing new was created), 'false' when this request created it"
    ),
    "schema": {"type": "string", "enum": ["true", "false"]},
}
RETRY_AFTER: OpenAPIResponseHeader = {
    "description": "seconds to wait before sending the same request again",
    "schema": {"type": "integer", "minimum": 1},
}
CACHE_CONTROL: OpenAPIResponseHeader = {
    "description": "how long the answer may be reused (private, max-age in seconds)",
    "schema": {"type": "string"},
}

#: what each error status means on any route, unless the route says more
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "the request body is not valid JSON",
    401: "missing or unknown API key",
    404: "no such resource for this tenant",
    409: "the resource is not in a state that allows this",
    413: "the request body is larger than the API takes (body_too_large)",
    415: "the request body must be application/json (unsupported_media_type)",
    422: "the request is invalid (each field at fault is in error.details)",
    429: "this tenant is over its request rate (rate_limited); retry after Retry-After seconds",
    502: "the provider refused mediajobs' credentials or answered an error",
    503: "mediajobs could not complete the request; retry",
}


def error(status: int, description: str | None = None, **headers: OpenAPIResponseHeader) -> OpenAPIResponse:
    """An error answer: ``ErrorResponse`` JSON, with the status's usual description by default."""
    answer: OpenAPIResponse = {
        "description": description or ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"model": ErrorResponse}},
    }
    if headers:
        answer["headers"] = {name.replace("_", "-"): header for name, header in headers.items()}
    return answer


def errors(*statuses: int, described: Mapping[int, str] | None = None) -> dict[int, OpenAPIResponse]:
    """Error answers for ``statuses``, with the route's own descriptions in ``described``."""
    described = described or {}
    return {status: error(status, described.get(status)) for status in sorted(set(statuses) | set(described))}


def json_answer(
    description: str, model: type[BaseModel], **headers: OpenAPIResponseHeader
) -> OpenAPIResponse:
    """A documented JSON answer with its headers (``Location=LOCATION`` -> header ``Location``)."""
    answer: OpenAPIResponse = {"description": description, "content": {"application/json": {"model": model}}}
    if headers:
        answer["headers"] = {name.replace("_", "-"): header for name, header in headers.items()}
    return answer


def _clean_name(name: str) -> str:
    match = _MODULE_PATH_NAME.match(name)
    if match is None or match["provider"] not in PROVIDER_PREFIXES:
        return name
    return PROVIDER_PREFIXES[match["provider"]] + match["name"]


def _is_powertools_default(answer: Any) -> bool:
    schema = (answer or {}).get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref") == f"{SCHEMA_PREFIX}HTTPValidationError")


def tidy(document: dict[str, Any]) -> dict[str, Any]:
    """The document with provider-named definitions and without unreferenced Powertools defaults."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    renamed = {name: _clean_name(name) for name in schemas if _clean_name(name) != name}
    text = json.dumps(document)
    for old, new in renamed.items():
        text = text.replace(f'"{SCHEMA_PREFIX}{old}"', f'"{SCHEMA_PREFIX}{new}"')
    tidied: dict[str, Any] = json.loads(text)
    for item in tidied.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and _is_powertools_default(
                operation.get("responses", {}).get("422")
            ):
                del operation["responses"]["422"]
    tidied_schemas: dict[str, Any] = tidied.get("components", {}).get("schemas", {})
    for old, new in renamed.items():
        definition = tidied_schemas.pop(old)
        tidied_schemas[new] = {**definition, "title": new}
    for default in POWERTOOLS_DEFAULTS:
        others = json.dumps({k: v for k, v in tidied.items() if k != "components"}) + json.dumps(
            {k: v for k, v in tidied_schemas.items() if k not in POWERTOOLS_DEFAULTS}
        )
        if f'"{SCHEMA_PREFIX}{default}"' not in others:
            tidied_schemas.pop(default, None)
    if tidied_schemas:
        tidied["components"]["schemas"] = dict(sorted(tidied_schemas.items()))
    return tidied


class DocumentedResolver(APIGatewayHttpResolver):
    """The HTTP API resolver whose OpenAPI document (served and on the docs page) is tidied."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> OpenAPI:
        # Powertools' OpenAPI models load when a document is made, not at the API's cold start
        from aws_lambda_powertools.event_handler.openapi.models import OpenAPI  # noqa: PLC0415

        generated = super().get_openapi_schema(*args, **kwargs)
        document = generated.model_dump(mode="json", by_alias=True, exclude_none=True)
        return OpenAPI.model_validate(tidy(document))
