"""What every API route module shares: the services, the caller's tenant, error answers."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httpx
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from mediajobs.api.auth import Authenticator
from mediajobs.api.errors import ApiError
from mediajobs.api.idempotency import IdempotentCreator
from mediajobs.api.openapi import errors
from mediajobs.api.schemas import JobAccepted, Links
from mediajobs.aws import dynamodb_table, s3_client, sfn_client
from mediajobs.batches.manifests import ManifestService, ManifestStore
from mediajobs.batches.service import BatchService
from mediajobs.batches.store import BatchStore
from mediajobs.billing.service import Billing
from mediajobs.billing.store import BudgetStore
from mediajobs.catalog.service import ProviderCatalog
from mediajobs.config import get_settings
from mediajobs.jobs.actions import JobActions
from mediajobs.jobs.models import Job
from mediajobs.jobs.service import JobService
from mediajobs.jobs.store import JobStore
from mediajobs.notifications.log import DeliveryLog
from mediajobs.notifications.store import NotificationStore
from mediajobs.providers.registry import ProviderRegistry
from mediajobs.ratelimit import shared_limiter
from mediajobs.uploads.service import UploadService
from mediajobs.uploads.store import UploadStore

#: what every authenticated route may answer (429: the tenant is over its request rate)
ERROR_RESPONSES: dict[int, OpenAPIResponse] = errors(401, 404, 422, 429, 503)
#: what a route with a JSON body may answer besides: not JSON, too large, not application/json
BODY_ERROR_RESPONSES: dict[int, OpenAPIResponse] = errors(400, 413, 415)


def answer(description: str, model: type[BaseModel]) -> OpenAPIResponse:
    """A documented JSON answer (a route with ``responses=`` must list its 200 itself)."""
    return {"description": description, "content": {"application/json": {"model": model}}}


@dataclass(frozen=True)
class ApiServices:
    """The domain services routes call; built once per container (fakes in unit tests)."""

    jobs: JobService
    auth: Authenticator
    batches: BatchService
    actions: JobActions
    catalog: ProviderCatalog
    uploads: UploadService
    #: Idempotency-Key records (None: no idempotency table, the header is checked and ignored)
    idempotency: IdempotentCreator | None
    #: batches from manifest files in S3 (None: not offered)
    manifests: ManifestService | None = None
    #: the tenant's webhook delivery log and replays (None: not offered)
    deliveries: DeliveryLog | None = None
    #: estimates, budgets and usage (None: not configured; the cost routes answer 503)
    billing: Billing | None = None


@functools.cache
def default_services() -> ApiServices:
    settings = get_settings()
    store = JobStore(dynamodb_table(settings.jobs_table))
    http = httpx.Client(timeout=httpx.Timeout(connect=5.0, read=15.0, write=15.0, pool=5.0))
    catalog = ProviderCatalog(ProviderRegistry(settings, limiter=shared_limiter()).adapter)
    billing = Billing(
        BudgetStore(dynamodb_table(settings.jobs_table)),
        balance=lambda provider: catalog.credits(provider.value).credits_remaining,
    )
    jobs = JobService(
        store=store,
        s3=s3_client(),
        sfn=sfn_client(),
        http=http,
        settings=settings,
        styles=catalog.known_style_ids,
        billing=billing,
    )
    batches = BatchService(
        jobs=store,
        batches=BatchStore(dynamodb_table(settings.jobs_table)),
        sfn=sfn_client(),
        state_machine_arn=settings.batch_state_machine_arn,
        deadline_seconds=settings.job_deadline_seconds,
        styles=catalog.known_style_ids,
        billing=billing,
    )
    return ApiServices(
        jobs=jobs,
        auth=Authenticator(store),
        batches=batches,
        actions=JobActions(jobs),
        catalog=catalog,
        uploads=UploadService(
            store=UploadStore(dynamodb_table(settings.jobs_table)),
            jobs=jobs,
            s3=s3_client(),
            settings=settings,
        ),
        idempotency=IdempotentCreator.on_table(settings.idempotency_table)
        if settings.idempotency_table
        else None,
        manifests=ManifestService(
            store=ManifestStore(dynamodb_table(settings.jobs_table)),
            s3=s3_client(),
            bucket=settings.media_bucket,
            url_seconds=settings.upload_url_seconds,
        ),
        deliveries=DeliveryLog(
            store=NotificationStore(dynamodb_table(settings.jobs_table)),
            sfn=sfn_client(),
            state_machine_arn=settings.notification_state_machine_arn,
        ),
        billing=billing,
    )


def located[M: BaseModel](status: HTTPStatus, body: M, location: str) -> Response[M]:
    """The JSON answer for a resource just made (or accepted), with its ``Location``."""
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={"Location": location},
    )


def job_accepted(job: Job) -> Response[JobAccepted]:
    """202 for a job that starts (POST /v1/jobs, regenerate, continue)."""
    accepted = JobAccepted(job_id=job.job_id, status=job.status, links=Links(self=f"/v1/jobs/{job.job_id}"))
    return located(HTTPStatus.ACCEPTED, accepted, accepted.links.self)


def error_response(error: ApiError) -> Response[Any]:
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=error.body(),
        headers=error.headers or None,
    )


def tenant_id(app: APIGatewayHttpResolver) -> str:
    """The tenant the authentication middleware found for this request."""
    tenant = app.context.get("tenant_id")
    if not isinstance(tenant, str):
        raise ApiError(401, "unauthorized", "send your API key as 'Authorization: Bearer <key>'")
    return tenant


def api_key_id(app: APIGatewayHttpResolver) -> str | None:
    """The id of the API key that authenticated this request (per-key budgets are charged to it)."""
    key_id = app.context.get("api_key_id")
    return key_id if isinstance(key_id, str) else None


def public_base_url(app: APIGatewayHttpResolver) -> str:
    configured = get_settings().public_base_url
    if configured:
        return configured.rstrip("/")
    return f"https://{app.current_event.request_context.domain_name}"
