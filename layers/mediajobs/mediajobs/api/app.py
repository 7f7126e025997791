"""The client API on Powertools' ``APIGatewayHttpResolver`` with request validation and OpenAPI.

Errors come from one place (the exception handlers below) as ``{"error": {code, message}}``.
Authentication runs as a global middleware; because Powertools validates the request before any
middleware, the validation-error handler checks the key too, so an unauthenticated caller gets
401 whatever it sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server

from mediajobs.api import idempotency
from mediajobs.api.context import ApiServices, default_services, error_response
from mediajobs.api.errors import ApiError, ErrorDetail, from_domain
from mediajobs.api.routes import batches, billing, health, job_actions, jobs, providers, uploads
from mediajobs.errors import DomainError, MediajobsError
from mediajobs.observability import logger

PUBLIC_PREFIXES = ("/p/",)
#: readable without a key: the API's description (it holds no secret) and its health
PUBLIC_PATHS = frozenset({"/v1/openapi.json", "/v1/docs", health.HEALTH_PATH})
#: Swagger UI's files for the docs page: the console function's copy of swagger-ui-dist (same origin)
SWAGGER_BASE_URL = "/console/swagger-ui"
PROVIDER_TAGS = frozenset({"creatify", "jogg", "prodvisual"})


def _path(loc: tuple[Any, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] in {"body", "path", "query", "header"}:
        parts = parts[1:]
    # a discriminated union adds the member's tag to the path (at the top or after a list index);
    # clients think in their own fields
    kept = [
        str(part)
        for i, part in enumerate(parts)
        if not (part in PROVIDER_TAGS and (i == 0 or isinstance(parts[i - 1], int)))
    ]
    return ".".join(kept) or "body"


def _detail(error: dict[str, Any]) -> ErrorDetail:
    if error.get("type") in {"union_tag_invalid", "union_tag_not_found"}:
        return ErrorDetail(path="provider", message="provider must be one of: creatify, jogg, prodvisual")
    return ErrorDetail(path=_path(tuple(error.get("loc", ()))), message=str(error.get("msg", "invalid")))


def _public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES) or path in PUBLIC_PATHS


def build_app(
    services: Callable[[], ApiServices] = default_services, *, swagger_base_url: str = SWAGGER_BASE_URL
) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    def authenticate(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        if _public(app.current_event.path):
            return next_middleware(app)
        tenant = services().auth.tenant_for(app.current_event.headers.get("authorization"))
        if tenant is None:
            return error_response(
                ApiError(401, "unauthorized", "send a valid API key as 'Authorization: Bearer <key>'")
            )
        app.context["tenant_id"] = tenant
        return next_middleware(app)

    app.use(middlewares=[authenticate])

    def unauthenticated() -> Response[Any] | None:
        """The 401 for a caller without a valid key (validation runs before the middleware)."""
        event = app.current_event
        if not _public(event.path) and services().auth.tenant_for(event.headers.get("authorization")) is None:
            return error_response(
                ApiError(401, "unauthorized", "send a valid API key as 'Authorization: Bearer <key>'")
            )
        return None

    @app.exception_handler(UnicodeDecodeError)
    def undecodable_body(_exc: UnicodeDecodeError) -> Response[Any]:
        # Powertools' validation decodes the body before any handler: bytes that are not UTF-8
        return unauthenticated() or error_response(
            ApiError(400, "malformed_json", "the request body is not valid JSON (it is not UTF-8 text)")
        )

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response[Any]:
        denied = unauthenticated()
        if denied is not None:
            return denied
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(ApiError(400, "malformed_json", "the request body is not valid JSON"))
        details = [_detail(e) for e in errors]
        summary = "; ".join(f"{d.path}: {d.message}" for d in details[:5])
        return error_response(
            ApiError(422, "validation_error", f"the request is invalid: {summary}", details)
        )

    @app.exception_handler(ApiError)
    def api_error(exc: ApiError) -> Response[Any]:
        return error_response(exc)

    @app.exception_handler(DomainError)
    def refused(exc: DomainError) -> Response[Any]:
        return error_response(from_domain(exc))

    @app.exception_handler(MediajobsError)
    def domain_error(exc: MediajobsError) -> Response[Any]:
        logger.exception("request failed in the service layer")
        return error_response(
            ApiError(503, "service_unavailable", "mediajobs could not complete the request; retry")
        )

    @app.not_found
    def unknown_route(_exc: Exception) -> Response[Any]:
        return error_response(ApiError(404, "not_found", "no such route; see /v1/openapi.json"))

    idempotency.register(app, services)
    jobs.register(app, services)
    batches.register(app, services)
    job_actions.register(app, services)
    providers.register(app, services)
    uploads.register(app, services)
    health.register(app)
    billing.register(app, services)

    # security [{}]: no key needed (the document holds no secret)
    @app.get("/v1/openapi.json", summary="This API's OpenAPI document", tags=["meta"], security=[{}])
    def openapi() -> Response[Any]:
        return Response(
            status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document(app)
        )

    app.enable_swagger(path="/v1/docs", swagger_base_url=swagger_base_url.rstrip("/"), **DOCUMENT)
    return app


def openapi_document(app: APIGatewayHttpResolver) -> str:
    return app.get_openapi_json_schema(**DOCUMENT)


DOCUMENT: dict[str, Any] = {
    "title": "mediajobs",
    "version": "1.0.0",
    "description": "Turn products into marketing media through Creatify, JoggAI and ProdVisual.",
    "servers": [Server(url="/")],
    "security_schemes": {"apiKey": HTTPBearer(description="Authorization: Bearer <API key>")},
    "security": [{"apiKey": []}],
}
