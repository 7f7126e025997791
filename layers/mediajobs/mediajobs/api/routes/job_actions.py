"""Job action routes: list jobs, regenerate a job, continue one to its video, cancel one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from mediajobs.api.action_schemas import JobListView
from mediajobs.api.context import (
    BODY_ERROR_RESPONSES,
    ERROR_RESPONSES,
    ApiServices,
    answer,
    api_key_id,
    job_accepted,
    public_base_url,
    tenant_id,
)
from mediajobs.api.errors import ErrorResponse
from mediajobs.api.openapi import LOCATION, json_answer
from mediajobs.api.schemas import JobAccepted, JobView
from mediajobs.api.views import job_list_view, present
from mediajobs.jobs.models import JobStatus
from mediajobs.jobs.requests import RegenerateRequest, VideoRequest
from mediajobs.providers.base import ProviderName

JobId = Annotated[str, Path(max_length=64)]


def _error(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": ErrorResponse}}}


ACCEPTED: dict[int, OpenAPIResponse] = {
    202: json_answer("the new job is accepted; poll Location", JobAccepted, Location=LOCATION),
    **ERROR_RESPONSES,
    **BODY_ERROR_RESPONSES,
}


def register(app: APIGatewayHttpResolver, services: Callable[[], ApiServices]) -> None:
    @app.get(
        "/v1/jobs",
        summary="List jobs",
        operation_id="listJobs",
        description="Your jobs, newest first, optionally of one status and/or provider; page with cursor.",
        responses={
            200: answer("a page of your jobs", JobListView),
            **ERROR_RESPONSES,
            400: _error("the cursor is not one this API gave you"),
        },
        tags=["jobs"],
    )
    def list_jobs(
        status: Annotated[JobStatus | None, Query(description="only jobs in this status")] = None,
        provider: Annotated[ProviderName | None, Query(description="only jobs of this provider")] = None,
        limit: Annotated[int, Query(ge=1, le=100, description="jobs per page")] = 20,
        cursor: Annotated[
            str | None, Query(max_length=512, description="next_cursor of the previous page")
        ] = None,
    ) -> JobListView:
        page = services().actions.list_jobs(
            tenant_id(app), status=status, provider=provider, cursor=cursor, limit=limit
        )
        return job_list_view(page.jobs, page.next_cursor)

    @app.post(
        "/v1/jobs/<job_id>/regenerate",
        summary="Regenerate a job",
        operation_id="regenerateJob",
        description=(
            "A new job linked to this succeeded one (regenerated_from) with another prompt (Creatify), "
            "style (ProdVisual) or script (JoggAI); the source keeps its outputs."
        ),
        responses={
            **ACCEPTED,
            400: _error("the request body is not valid JSON"),
            409: _error("the source job has not succeeded or has nothing to regenerate"),
        },
        tags=["jobs"],
    )
    def regenerate_job(
        job_id: JobId, request: Annotated[RegenerateRequest, Body(embed=False)]
    ) -> Response[JobAccepted]:
        job = services().actions.regenerate(
            tenant_id(app), job_id, request, public_base_url=public_base_url(app), api_key_id=api_key_id(app)
        )
        return job_accepted(job)

    @app.post(
        "/v1/jobs/<job_id>/video",
        summary="Make the video of a preview-only Creatify job",
        operation_id="continueJob",
        description=(
            "For a succeeded Creatify job created with options.stop_after 'image': a new job "
            "(continued_from) makes the video from its preview, with an optional video prompt."
        ),
        responses={
            **ACCEPTED,
            400: _error("the request body is not valid JSON"),
            409: _error("not a succeeded Creatify job that stopped at its preview"),
        },
        tags=["jobs"],
    )
    def continue_job(
        job_id: JobId, request: Annotated[VideoRequest | None, Body(embed=False)] = None
    ) -> Response[JobAccepted]:
        job = services().actions.continue_to_video(
            tenant_id(app), job_id, request, public_base_url=public_base_url(app), api_key_id=api_key_id(app)
        )
        return job_accepted(job)

    @app.post(
        "/v1/jobs/<job_id>/cancel",
        summary="Cancel a job",
        operation_id="cancelJob",
        description="Stops a job that is not final; nothing the provider delivers later is kept.",
        responses={
            200: answer("the job, cancelled", JobView),
            **ERROR_RESPONSES,
            409: _error("the job is already final"),
        },
        tags=["jobs"],
    )
    def cancel_job(job_id: JobId) -> JobView:
        return present(services().jobs, services().actions.cancel(tenant_id(app), job_id))
