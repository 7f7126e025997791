"""Upload routes: accept a job spec and hand out the S3 upload form; show what the upload became."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

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
from mediajobs.api.examples import UPLOAD_EXAMPLES
from mediajobs.api.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotent_response
from mediajobs.api.openapi import LOCATION, REPLAYED, json_answer
from mediajobs.api.schemas import ErrorView
from mediajobs.api.upload_schemas import UploadCreated, UploadLinks, UploadRequest, UploadView
from mediajobs.uploads.models import Upload


def _links(upload: Upload) -> UploadLinks:
    job = f"/v1/jobs/{upload.job_id}" if upload.job_id else None
    return UploadLinks(self=f"/v1/uploads/{upload.upload_id}", job=job)


def register(app: APIGatewayHttpResolver, services: Callable[[], ApiServices]) -> None:
    @app.post(
        "/v1/uploads",
        summary="Create a job from an uploaded product image",
        description=(
            "Takes the job spec of POST /v1/jobs without product.image_url and answers with an S3 "
            "presigned POST: send the fields, then the image as the form field 'file'. The job starts "
            "when the image lands; GET the upload to learn its job id."
        ),
        operation_id="createUpload",
        responses={
            201: json_answer(
                "created: send the form to url",
                UploadCreated,
                Location=LOCATION,
                Idempotent_Replayed=REPLAYED,
            ),
            **ERROR_RESPONSES,
            **BODY_ERROR_RESPONSES,
            **IDEMPOTENCY_RESPONSES,
        },
        tags=["uploads"],
    )
    def create_upload(
        request: Annotated[UploadRequest, Body(embed=False, openapi_examples=UPLOAD_EXAMPLES)],
        filename: Annotated[
            str | None, Query(max_length=255, description="your file's name, kept in the S3 key")
        ] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[UploadCreated]:
        del idempotency_key  # declared for the document; idempotent_response reads and checks it
        tenant = tenant_id(app)

        def create() -> Response[UploadCreated]:
            upload, post = services().uploads.create(
                tenant,
                request,
                public_base_url=public_base_url(app),
                filename=filename,
                api_key_id=api_key_id(app),
            )
            created = UploadCreated(
                upload_id=upload.upload_id,
                status=upload.status,
                url=post.url,
                fields=post.fields,
                key=post.key,
                expires_at=post.expires_at,
                max_bytes=post.max_bytes,
                links=_links(upload),
            )
            return located(HTTPStatus.CREATED, created, created.links.self)

        return idempotent_response(
            app, services().idempotency, operation="uploads", tenant_id=tenant, create=create
        )

    @app.get(
        "/v1/uploads/<upload_id>",
        summary="Get an upload",
        operation_id="getUpload",
        responses={200: answer("the upload and the job it started", UploadView), **ERROR_RESPONSES},
        tags=["uploads"],
    )
    def get_upload(upload_id: Annotated[str, Path(max_length=64)]) -> UploadView:
        upload = services().uploads.get(tenant_id(app), upload_id)
        return UploadView(
            upload_id=upload.upload_id,
            status=upload.status,
            created_at=upload.created_at,
            updated_at=upload.updated_at,
            key=upload.key,
            job_id=upload.job_id,
            error=ErrorView(**upload.error.model_dump()) if upload.error else None,
            links=_links(upload),
        )
