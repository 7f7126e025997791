"""Provider catalog routes: capabilities and option schemas, ProdVisual's styles, credits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from mediajobs.api.context import ERROR_RESPONSES, ApiServices, answer
from mediajobs.api.openapi import CACHE_CONTROL, error, errors, json_answer
from mediajobs.catalog.models import CreditsView, ProvidersView, StylesView

PROVIDER_ERRORS: dict[int, OpenAPIResponse] = {
    502: error(502),
    503: error(503, "the provider is not answering; retry shortly"),
}


def register(app: APIGatewayHttpResolver, services: Callable[[], ApiServices]) -> None:
    @app.get(
        "/v1/providers",
        summary="Providers and what they can do",
        description="Stages, output kinds, regenerate / continue support, webhook signing, option schemas.",
        operation_id="listProviders",
        responses={200: answer("the providers", ProvidersView), **errors(401, 429, 503)},
        tags=["providers"],
    )
    def list_providers() -> ProvidersView:
        return services().catalog.providers()

    @app.get(
        "/v1/providers/prodvisual/styles",
        summary="ProdVisual's styles",
        description="The style ids a ProdVisual job's options.style takes (cached for a few minutes).",
        operation_id="getProdvisualStyles",
        responses={
            200: json_answer("ProdVisual's styles", StylesView, Cache_Control=CACHE_CONTROL),
            **errors(401, 429),
            **PROVIDER_ERRORS,
        },
        tags=["providers"],
    )
    def prodvisual_styles() -> Response[StylesView]:
        styles, max_age = services().catalog.prodvisual_styles()
        return Response(
            status_code=200,
            content_type=content_types.APPLICATION_JSON,
            body=styles,
            headers={"Cache-Control": f"private, max-age={max_age}"},
        )

    @app.get(
        "/v1/providers/<provider>/credits",
        summary="A provider's credits",
        description="The credits left on mediajobs' account at the provider (ProdVisual only).",
        operation_id="getProviderCredits",
        responses={
            200: answer("the credits left", CreditsView),
            **ERROR_RESPONSES,
            404: error(404, "no such provider, or it does not report credits"),
            **PROVIDER_ERRORS,
        },
        tags=["providers"],
    )
    def provider_credits(provider: Annotated[str, Path(max_length=64)]) -> CreditsView:
        return services().catalog.credits(provider)
