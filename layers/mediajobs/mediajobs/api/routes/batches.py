"""Batch routes: up to 500 job specs in one request, and their progress."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from mediajobs.api.batch_schemas import BatchAccepted, BatchLinks, BatchView
from mediajobs.api.billing_schemas import EstimateView
from mediajobs.api.context import (
    BODY_ERROR_RESPONSES,
    ERROR_RESPONSES,
    ApiServices,
    answer,
    api_key_id,
    located,
    public_base_url,
    tenant_id,
)
from mediajobs.api.examples import BATCH_EXAMPLES
from mediajobs.api.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotent_response
from mediajobs.api.openapi import LOCATION, REPLAYED, json_answer
from mediajobs.api.routes.billing import BUDGET_RESPONSES, estimate_response
from mediajobs.api.views import batch_view
from mediajobs.batches.models import BatchCreateRequest


def register(app: APIGatewayHttpResolver, services: Callable[[], ApiServices]) -> None:
    @app.post(
        "/v1/batches",
        summary="Create a batch of up to 500 jobs",
        description=(
            "Each item is a job spec as POST /v1/jobs takes it. ProdVisual items go to the provider "
            "50 at a time; other items run as individual jobs with a concurrency limit. Product images "
            "are taken in when each job starts: an unusable one fails that job, not the batch."
        ),
        operation_id="createBatch",
        responses={
            200: answer("dry_run: the batch's cost estimate; nothing was created", EstimateView),
            202: json_answer(
                "accepted: the batch runs; poll Location",
                BatchAccepted,
                Location=LOCATION,
                Idempotent_Replayed=REPLAYED,
            ),
            **ERROR_RESPONSES,
            **BODY_ERROR_RESPONSES,
            **IDEMPOTENCY_RESPONSES,
            **BUDGET_RESPONSES,
        },
        tags=["batches"],
    )
    def create_batch(
        request: Annotated[BatchCreateRequest, Body(embed=False, openapi_examples=BATCH_EXAMPLES)],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[BatchAccepted | EstimateView]:
        del idempotency_key  # declared for the document; idempotent_response reads and checks it
        tenant = tenant_id(app)
        if request.dry_run:
            return estimate_response(services(), tenant, request.items, key_id=api_key_id(app))

        def create() -> Response[BatchAccepted]:
            batch = services().batches.create(
                tenant, request, public_base_url=public_base_url(app), api_key_id=api_key_id(app)
            )
            location = f"/v1/batches/{batch.batch_id}"
            accepted = BatchAccepted(
                batch_id=batch.batch_id,
                status=batch.status,
                total=len(batch.job_ids),
                job_ids=batch.job_ids,
                links=BatchLinks(self=location),
            )
            return located(HTTPStatus.ACCEPTED, accepted, location)

        return idempotent_response(
            app, services().idempotency, operation="batches", tenant_id=tenant, create=create
        )

    @app.get(
        "/v1/batches/<batch_id>",
        summary="Get a batch",
        operation_id="getBatch",
        responses={200: answer("the batch and its items", BatchView), **ERROR_RESPONSES},
        tags=["batches"],
    )
    def get_batch(batch_id: Annotated[str, Path(max_length=64)]) -> BatchView:
        batches = services().batches
        batch = batches.get(tenant_id(app), batch_id)
        jobs = services().jobs
        return batch_view(
            batch,
            batches.jobs_of(batch),
            presign=jobs.download_url,
            now=jobs.now(),
            download_url_seconds=jobs.settings.download_url_seconds,
        )
