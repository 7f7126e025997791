"""The client API on Powertools' ``APIGatewayHttpResolver`` with request validation and OpenAPI.

Errors come from one place (the exception handlers below) as ``{"error": {code, message,
request_id}}``, whatever went wrong: a body too large, too deep or not JSON, a wrong content type,
an invalid field, a refusal of the domain, even a bug. Admission (the API key, then the tenant's
request rate) runs as a global middleware; because Powertools validates the request before any
middleware, every error handler asks for admission first, so an unauthenticated caller gets 401
whatever it sent.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from botocore.exceptions import ClientError

from mediajobs.api import idempotency
from mediajobs.api.bodies import MalformedJsonError
from mediajobs.api.context import ApiServices, default_services, error_response
from mediajobs.api.errors import ApiError, ErrorDetail, from_domain
from mediajobs.api.openapi import DocumentedResolver
from mediajobs.api.ratelimit import RateLimitedError, TenantRateLimiter
from mediajobs.api.resolver import EnvelopedResolver
from mediajobs.api.routes import (
    batch_manifests,
    batch_retries,
    batches,
    billing,
    health,
    job_actions,
    job_events,
    jobs,
    providers,
    uploads,
    webhook_deliveries,
)
from mediajobs.errors import DomainError, MediajobsError
from mediajobs.observability import logger

PUBLIC_PREFIXES = ("/p/",)
#: readable without a key: the API's description (it holds no secret) and its health
PUBLIC_PATHS = frozenset({"/v1/openapi.json", "/v1/docs", health.HEALTH_PATH})
#: Swagger UI's files for the docs page: the console function's copy of swagger-ui-dist (same origin)
SWAGGER_BASE_URL = "/console/swagger-ui"
#: the route modules, each with ``register(app, services)``
ROUTE_AREAS = (
    idempotency,
    jobs,
    batches,
    batch_retries,
    batch_manifests,
    job_actions,
    providers,
    uploads,
    job_events,
    webhook_deliveries,
)
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


class ApiResolver(DocumentedResolver, EnvelopedResolver):
    """The client API's resolver: bounded JSON bodies in our error envelope, and the tidied document."""


def _public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES) or path in PUBLIC_PATHS


def _no_limit() -> TenantRateLimiter | None:
    return None


#: the request context's key of the admission decision (see ``admission`` in :func:`build_app`)
ADMISSION = "mediajobs_admission"


def build_app(
    services: Callable[[], ApiServices] = default_services,
    *,
    swagger_base_url: str = SWAGGER_BASE_URL,
    limiter: Callable[[], TenantRateLimiter | None] = _no_limit,
) -> APIGatewayHttpResolver:
    app = ApiResolver(enable_validation=True)

    def admission() -> Response[Any] | None:
        """401 without a valid key, 429 over the tenant's rate, else ``None`` (the request goes on).

        Decided once per request (kept in the request's context): the middleware asks for valid
        requests, and, since Powertools validates before any middleware, every error handler
        asks first for the others. So an unauthenticated caller gets 401 whatever it sent, and a
        tenant's invalid requests count against its rate too.
        """
        if ADMISSION in app.context:
            decided: Response[Any] | None = app.context[ADMISSION]
            return decided
        refusal: Response[Any] | None = None
        if not _public(app.current_event.path):
            caller = services().auth.caller_for(app.current_event.headers.get("authorization"))
            if caller is None:
                refusal = error_response(
                    ApiError(401, "unauthorized", "send a valid API key as 'Authorization: Bearer <key>'")
                )
            else:
                tenant = caller.tenant_id
                app.context["tenant_id"] = tenant
                app.context["api_key_id"] = caller.key_id
                rate = limiter()
                try:
                    if rate is not None:
                        rate.admit(tenant)
                except RateLimitedError as exc:
                    refusal = error_response(exc)
                except ClientError:
                    # the limiter's table failing must not take the API down: the stage throttle
                    # still holds, and the request goes on
                    logger.exception("tenant rate limiter unavailable; request admitted")
        app.context[ADMISSION] = refusal
        return refusal

    def authenticate(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        return admission() or next_middleware(app)

    app.use(middlewares=[authenticate])

    def refuse(error: ApiError) -> Response[Any]:
        return admission() or error_response(error)

    @app.exception_handler(UnicodeDecodeError)
    def undecodable_body(_exc: UnicodeDecodeError) -> Response[Any]:
        # Powertools' validation decodes the body before any handler: bytes that are not UTF-8
        return refuse(MalformedJsonError("the request body is not valid JSON (it is not UTF-8 text)"))

    @app.exception_handler(binascii.Error)
    def undecodable_base64(_exc: binascii.Error) -> Response[Any]:
        return refuse(ApiError(400, "malformed_body", "the request body could not be decoded"))

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_content_type(_exc: RequestUnsupportedContentType) -> Response[Any]:
        return refuse(
            ApiError(415, "unsupported_media_type", "send request bodies as 'Content-Type: application/json'")
        )

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response[Any]:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return refuse(MalformedJsonError())
        details = [_detail(e) for e in errors]
        summary = "; ".join(f"{d.path}: {d.message}" for d in details[:5])
        return refuse(ApiError(422, "validation_error", f"the request is invalid: {summary}", details))

    @app.exception_handler(ApiError)
    def api_error(exc: ApiError) -> Response[Any]:
        return refuse(exc)

    @app.exception_handler(DomainError)
    def refused(exc: DomainError) -> Response[Any]:
        return refuse(from_domain(exc))

    @app.exception_handler(MediajobsError)
    def domain_error(exc: MediajobsError) -> Response[Any]:
        logger.exception("request failed in the service layer")
        return error_response(
            ApiError(503, "service_unavailable", "mediajobs could not complete the request; retry")
        )

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response[Any]:
        # the last resort, so even a bug answers our envelope (and is logged with its traceback);
        # every refusal mediajobs means has its own handler above
        logger.exception("unexpected error", extra={"error_type": type(exc).__name__})
        return error_response(ApiError(500, "internal_error", "mediajobs failed on this request; retry"))

    @app.not_found
    def unknown_route(_exc: Exception) -> Response[Any]:
        return error_response(ApiError(404, "not_found", "no such route; see /v1/openapi.json"))

    for area in ROUTE_AREAS:
        area.register(app, services)
    health.register(app)
    billing.register(app, services)

    # security [{}]: no key needed (the document holds no secret)
    @app.get(
        "/v1/openapi.json",
        summary="This API's OpenAPI document",
        operation_id="getOpenapi",
        responses={200: {"description": "the OpenAPI 3.1 document (JSON)"}},
        tags=["meta"],
        security=[{}],
    )
    def openapi() -> Response[Any]:
        return Response(
            status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document(app)
        )

    # the page ``enable_swagger`` would serve, on a route of our own so that Powertools' OpenAPI
    # models (about half the API's import time) load when the document is first asked for
    @app.get("/v1/docs", include_in_schema=False)
    def docs() -> Response[Any]:
        spec = openapi_document(app).replace("</", "<\\/")
        if (app.current_event.query_string_parameters or {}).get("format") == "json":
            return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=spec)
        return Response(status_code=200, content_type="text/html", body=docs_page(spec, swagger_base_url))

    return app


def openapi_document(app: APIGatewayHttpResolver) -> str:
    return app.get_openapi_json_schema(**document_settings())


def docs_page(spec: str, swagger_base_url: str) -> str:
    """Powertools' Swagger UI page for ``spec`` (JSON, ``</`` escaped), with the UI's own files."""
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html  # noqa: PLC0415 - cold start

    base = swagger_base_url.rstrip("/")
    return generate_swagger_html(
        spec,
        f"{base}/swagger-ui-bundle.min.js",
        f"{base}/swagger-ui.min.css",
        base,
        oauth2_config=None,
        persist_authorization=False,
    )


def document_settings() -> dict[str, Any]:
    """The document's title, servers and security (Powertools' models, imported when needed)."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server  # noqa: PLC0415 - cold start

    return {
        "title": "mediajobs",
        "version": "1.0.0",
        "description": "Turn products into marketing media through Creatify, JoggAI and ProdVisual.",
        "servers": [Server(url="/")],
        "security_schemes": {"apiKey": HTTPBearer(description="Authorization: Bearer <API key>")},
        "security": [{"apiKey": []}],
    }
