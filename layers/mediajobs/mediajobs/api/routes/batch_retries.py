"""Batch retry route: rerun a completed batch's failed items, once each."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from mediajobs.api.batch_schemas import BatchRetried
from mediajobs.api.context import ERROR_RESPONSES, ApiServices, located, tenant_id
from mediajobs.api.errors import ErrorResponse


def _error(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": ErrorResponse}}}


def register(app: APIGatewayHttpResolver, services: Callable[[], ApiServices]) -> None:
    @app.post(
        "/v1/batches/<batch_id>/retry",
        summary="Retry a batch's failed items",
        description=(
            "Reruns every item of the completed batch whose latest job failed, as a new job linked to "
            "the failed one (retried_from) with the same spec and external_id. A second retry reruns "
            "only items whose retry failed. The batch runs again and completes with a new results "
            "manifest; succeeded items are not touched."
        ),
        operation_id="retryBatch",
        responses={
            202: {
                "description": "the retry started",
                "content": {"application/json": {"model": BatchRetried}},
            },
            **ERROR_RESPONSES,
            409: _error("the batch is still running (batch_running) or no item failed (nothing_to_retry)"),
        },
        tags=["batches"],
    )
    def retry_batch(batch_id: Annotated[str, Path(max_length=64)]) -> Response[BatchRetried]:
        batch, job_ids = services().batches.retry(tenant_id(app), batch_id)
        location = f"/v1/batches/{batch.batch_id}"
        retried = BatchRetried(
            batch_id=batch.batch_id,
            status=batch.status,
            round=batch.round,
            retried=len(job_ids),
            job_ids=job_ids,
            links={"self": location},
        )
        return located(HTTPStatus.ACCEPTED, retried, location)
