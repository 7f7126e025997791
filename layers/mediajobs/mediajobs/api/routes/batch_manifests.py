"""Batch manifest routes: a batch from a CSV or JSON file uploaded to S3."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

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
from mediajobs.api.errors import ApiError
from mediajobs.api.manifest_schemas import (
    ManifestCreated,
    ManifestErrorView,
    ManifestLinks,
    ManifestRequest,
    ManifestView,
)
from mediajobs.batches.manifests import BatchManifest, ManifestService


def _links(manifest: BatchManifest) -> ManifestLinks:
    batch = f"/v1/batches/{manifest.batch_id}" if manifest.batch_id else None
    return ManifestLinks(self=f"/v1/batch-manifests/{manifest.manifest_id}", batch=batch)


def register(app: APIGatewayHttpResolver, services: Callable[[], ApiServices]) -> None:
    def manifests() -> ManifestService:
        service = services().manifests
        if service is None:
            raise ApiError(503, "service_unavailable", "batch manifests are not configured")
        return service

    @app.post(
        "/v1/batch-manifests",
        summary="Create a batch from a manifest file",
        description=(
            "Answers an S3 presigned POST for a CSV or JSON manifest (one job spec per row or item, "
            "at most 500, with optional external_id). When the file lands it is validated like "
            "POST /v1/batches: a valid one starts a batch, an invalid one is refused with every "
            "problem's path. GET the manifest to learn which."
        ),
        operation_id="createBatchManifest",
        responses={
            201: {"description": "created", "content": {"application/json": {"model": ManifestCreated}}},
            **ERROR_RESPONSES,
            **BODY_ERROR_RESPONSES,
        },
        tags=["batches"],
    )
    def create_batch_manifest(
        request: Annotated[ManifestRequest, Body(embed=False)],
    ) -> Response[ManifestCreated]:
        manifest, form = manifests().create(
            tenant_id(app), request, public_base_url=public_base_url(app), api_key_id=api_key_id(app)
        )
        created = ManifestCreated(
            manifest_id=manifest.manifest_id,
            status="awaiting_file",
            url=form["url"],
            fields=form["fields"],
            key=manifest.key,
            expires_at=form["expires_at"],
            max_bytes=form["max_bytes"],
            links=_links(manifest),
        )
        return located(HTTPStatus.CREATED, created, created.links.self)

    @app.get(
        "/v1/batch-manifests/<manifest_id>",
        summary="Get a batch manifest",
        operation_id="getBatchManifest",
        responses={
            200: answer("the manifest, and the batch it started or why it was refused", ManifestView),
            **ERROR_RESPONSES,
        },
        tags=["batches"],
    )
    def get_batch_manifest(manifest_id: Annotated[str, Path(max_length=64)]) -> ManifestView:
        manifest = manifests().get(tenant_id(app), manifest_id)
        error = ManifestErrorView.model_validate(manifest.error.model_dump()) if manifest.error else None
        return ManifestView(
            manifest_id=manifest.manifest_id,
            status=manifest.status,
            format=manifest.format,
            key=manifest.key,
            batch_id=manifest.batch_id,
            error=error,
            created_at=manifest.created_at,
            updated_at=manifest.updated_at,
            links=_links(manifest),
        )
