"""Job routes: create a job, read a job, and the product links providers fetch images from."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from mediajobs.api.billing_schemas import EstimateView
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
from mediajobs.api.examples import JOB_EXAMPLES
from mediajobs.api.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotent_response
from mediajobs.api.openapi import LOCATION, REPLAYED, json_answer
from mediajobs.api.routes.billing import BUDGET_RESPONSES, estimate_response
from mediajobs.api.schemas import JobAccepted, JobRequest, JobView
from mediajobs.api.views import present


def register(app: APIGatewayHttpResolver, services: Callable[[], ApiServices]) -> None:
    @app.post(
        "/v1/jobs",
        summary="Create a job",
        description="Takes the product in and starts the provider job; poll Location or await your webhook.",
        operation_id="createJob",
        responses={
            200: answer("dry_run: the job's cost estimate; nothing was created", EstimateView),
            202: json_answer(
                "accepted: the job runs; poll Location",
                JobAccepted,
                Location=LOCATION,
                Idempotent_Replayed=REPLAYED,
            ),
            **ERROR_RESPONSES,
            **BODY_ERROR_RESPONSES,
            **IDEMPOTENCY_RESPONSES,
            **BUDGET_RESPONSES,
        },
        tags=["jobs"],
    )
    def create_job(
        request: Annotated[JobRequest, Body(embed=False, openapi_examples=JOB_EXAMPLES)],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[JobAccepted | EstimateView]:
        del idempotency_key  # declared for the document; idempotent_response reads and checks it
        tenant = tenant_id(app)
        if request.dry_run:
            return estimate_response(services(), tenant, [request], key_id=api_key_id(app))

        def create() -> Response[JobAccepted]:
            job = services().jobs.create(
                tenant, request, public_base_url=public_base_url(app), api_key_id=api_key_id(app)
            )
            return job_accepted(job)

        return idempotent_response(
            app, services().idempotency, operation="jobs", tenant_id=tenant, create=create
        )

    @app.get(
        "/v1/jobs/<job_id>",
        summary="Get a job",
        operation_id="getJob",
        responses={
            200: answer("the job", JobView),
            **ERROR_RESPONSES,
        },
        tags=["jobs"],
    )
    def get_job(job_id: Annotated[str, Path(max_length=64)]) -> JobView:
        jobs = services().jobs
        return present(jobs, jobs.get(tenant_id(app), job_id))

    @app.get("/p/<job_id>", summary="Product image link (for providers)", include_in_schema=False)
    def product_link(job_id: str) -> Response[Any]:
        target = services().jobs.product_link_target(job_id)
        return Response(status_code=HTTPStatus.FOUND, headers={"Location": target}, body="")
