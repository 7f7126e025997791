"""The client API on Powertools' ``APIGatewayHttpResolver`` with request validation and OpenAPI.

Errors come from one place (the exception handlers below) as ``{"error": {code, message}}``.
Authentication runs as a global middleware; because Powertools validates the request before any
middleware, the validation-error handler checks the key too, so an unauthenticated caller gets
401 whatever it sent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any

import httpx
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from mediajobs.api.auth import Authenticator
from mediajobs.api.errors import ApiError, ErrorDetail, ErrorResponse
from mediajobs.api.schemas import JobAccepted, JobRequest, JobView, Links
from mediajobs.aws import dynamodb_table, s3_client, sfn_client
from mediajobs.config import get_settings
from mediajobs.errors import MediajobsError
from mediajobs.jobs.service import JobService
from mediajobs.jobs.store import JobStore
from mediajobs.observability import logger

PUBLIC_PREFIXES = ("/p/",)
ERROR_RESPONSES: dict[int, OpenAPIResponse] = {
    401: {
        "description": "missing or unknown API key",
        "content": {"application/json": {"model": ErrorResponse}},
    },
    404: {
        "description": "no such resource for this tenant",
        "content": {"application/json": {"model": ErrorResponse}},
    },
    422: {"description": "the request is invalid", "content": {"application/json": {"model": ErrorResponse}}},
}


@dataclass(frozen=True)
class ApiServices:
    jobs: JobService
    auth: Authenticator


@functools.cache
def default_services() -> ApiServices:
    settings = get_settings()
    store = JobStore(dynamodb_table(settings.jobs_table))
    http = httpx.Client(timeout=httpx.Timeout(connect=5.0, read=15.0, write=15.0, pool=5.0))
    jobs = JobService(store=store, s3=s3_client(), sfn=sfn_client(), http=http, settings=settings)
    return ApiServices(jobs=jobs, auth=Authenticator(store))


def error_response(error: ApiError) -> Response[Any]:
    return Response(status_code=error.status, content_type=content_types.APPLICATION_JSON, body=error.body())


def _path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "path", "query", "header"}:
        parts = parts[1:]
    # a discriminated union adds the member's tag to the path; clients think in their own fields
    if parts and parts[0] in {"creatify", "jogg", "prodvisual"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _detail(error: dict[str, Any]) -> ErrorDetail:
    if error.get("type") in {"union_tag_invalid", "union_tag_not_found"}:
        return ErrorDetail(path="provider", message="provider must be one of: creatify, jogg, prodvisual")
    return ErrorDetail(path=_path(tuple(error.get("loc", ()))), message=str(error.get("msg", "invalid")))


def build_app(services: Callable[[], ApiServices] = default_services) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    def tenant_id() -> str:
        tenant = app.context.get("tenant_id")
        if not isinstance(tenant, str):
            raise ApiError(401, "unauthorized", "send your API key as 'Authorization: Bearer <key>'")
        return tenant

    def authenticate(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        if app.current_event.path.startswith(PUBLIC_PREFIXES):
            return next_middleware(app)
        tenant = services().auth.tenant_for(app.current_event.headers.get("authorization"))
        if tenant is None:
            return error_response(
                ApiError(401, "unauthorized", "send a valid API key as 'Authorization: Bearer <key>'")
            )
        app.context["tenant_id"] = tenant
        return next_middleware(app)

    app.use(middlewares=[authenticate])

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response[Any]:
        event = app.current_event
        if (
            not event.path.startswith(PUBLIC_PREFIXES)
            and services().auth.tenant_for(event.headers.get("authorization")) is None
        ):
            return error_response(
                ApiError(401, "unauthorized", "send a valid API key as 'Authorization: Bearer <key>'")
            )
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

    @app.exception_handler(MediajobsError)
    def domain_error(exc: MediajobsError) -> Response[Any]:
        logger.exception("request failed in the service layer")
        return error_response(
            ApiError(503, "service_unavailable", "mediajobs could not complete the request; retry")
        )

    @app.not_found
    def unknown_route(_exc: Exception) -> Response[Any]:
        return error_response(ApiError(404, "not_found", "no such route; see /v1/openapi.json"))

    @app.post(
        "/v1/jobs",
        summary="Create a job",
        description="Takes the product in and starts the provider job; poll Location or await your webhook.",
        responses={
            202: {"description": "accepted", "content": {"application/json": {"model": JobAccepted}}},
            **ERROR_RESPONSES,
        },
        tags=["jobs"],
    )
    def create_job(request: Annotated[JobRequest, Body(embed=False)]) -> Response[JobAccepted]:
        job = services().jobs.create(tenant_id(), request, public_base_url=public_base_url(app))
        accepted = JobAccepted(
            job_id=job.job_id, status=job.status, links=Links(self=f"/v1/jobs/{job.job_id}")
        )
        return Response(
            status_code=HTTPStatus.ACCEPTED,
            content_type=content_types.APPLICATION_JSON,
            body=accepted,
            headers={"Location": accepted.links.self},
        )

    @app.get("/v1/jobs/<job_id>", summary="Get a job", responses=ERROR_RESPONSES, tags=["jobs"])
    def get_job(job_id: Annotated[str, Path(max_length=64)]) -> JobView:
        jobs = services().jobs
        return jobs.view(jobs.get(tenant_id(), job_id))

    @app.get("/p/<job_id>", summary="Product image link (for providers)", include_in_schema=False)
    def product_link(job_id: str) -> Response[Any]:
        target = services().jobs.product_link_target(job_id)
        return Response(status_code=HTTPStatus.FOUND, headers={"Location": target}, body="")

    @app.get("/v1/openapi.json", summary="This API's OpenAPI document", tags=["meta"])
    def openapi() -> Response[Any]:
        return Response(
            status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document(app)
        )

    return app


def public_base_url(app: APIGatewayHttpResolver) -> str:
    configured = get_settings().public_base_url
    if configured:
        return configured.rstrip("/")
    return f"https://{app.current_event.request_context.domain_name}"


def openapi_document(app: APIGatewayHttpResolver) -> str:
    return app.get_openapi_json_schema(
        title="mediajobs",
        version="1.0.0",
        description="Turn products into marketing media through Creatify, JoggAI and ProdVisual.",
        servers=[Server(url="/")],
        security_schemes={"apiKey": HTTPBearer(description="Authorization: Bearer <API key>")},
        security=[{"apiKey": []}],
    )
