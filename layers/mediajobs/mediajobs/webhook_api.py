"""HTTP routes of the provider webhook receiver (no API key: providers prove themselves otherwise).

A body is read before any verification: its content type, its size (:data:`MAX_BODY_BYTES`, 413
``body_too_large``), then whether it is JSON at all, parsed without recursion limits to escape
(:func:`mediajobs.api.bodies.parse_json`: 400 ``malformed_json``). The adapters then verify the
signature on the raw bytes and parse the documented payload. Every answer that is not a 200 is
``{"error": {"code", "message", "request_id"}}``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from mediajobs.api.bodies import MalformedJsonError, parse_json
from mediajobs.api.errors import ApiError
from mediajobs.api.resolver import EnvelopedResolver
from mediajobs.errors import MediajobsError, ProviderError, WebhookVerificationError
from mediajobs.jobs.provider_webhooks import ProviderWebhooks, UnknownCallbackError
from mediajobs.observability import logger
from mediajobs.providers.base import ProviderName
from mediajobs.tasks.jobs import provider_webhooks

MAX_BODY_BYTES = 256 * 1024
SIGNED = {ProviderName.JOGG.value: ProviderName.JOGG, ProviderName.PRODVISUAL.value: ProviderName.PRODVISUAL}


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def build_app(webhooks: Callable[[], ProviderWebhooks] = provider_webhooks) -> APIGatewayHttpResolver:
    app = EnvelopedResolver()

    def raw_body() -> bytes:
        event = app.current_event
        content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise ApiError(415, "unsupported_media_type", "webhook bodies must be application/json")
        body = event.body or ""
        try:
            data = base64.b64decode(body, validate=True) if event.is_base64_encoded else body.encode("utf-8")
        except (binascii.Error, ValueError) as exc:
            raise ApiError(400, "malformed_body", "the body could not be decoded") from exc
        if len(data) > MAX_BODY_BYTES:
            raise ApiError(413, "body_too_large", f"webhook bodies are limited to {MAX_BODY_BYTES} bytes")
        if not data:
            raise ApiError(400, "empty_body", "the webhook body is empty")
        try:
            parse_json(data)
        except MalformedJsonError as exc:
            raise MalformedJsonError(f"the webhook body is not JSON: {exc.message}") from exc
        return data

    def headers() -> dict[str, str]:
        return {k.lower(): v for k, v in app.current_event.headers.items()}

    @app.post("/v1/webhooks/creatify/<token>")
    def creatify(token: str) -> Response[Any]:
        body = raw_body()  # refused before the job's services are touched
        outcome = webhooks().receive_creatify(token, headers(), body)
        return _json(200, {"received": True, "outcome": outcome.value})

    @app.post("/v1/webhooks/<provider>")
    def signed(provider: str) -> Response[Any]:
        name = SIGNED.get(provider)
        if name is None:
            raise ApiError(404, "unknown_provider", "webhooks are received for jogg and prodvisual here")
        hint = (app.current_event.query_string_parameters or {}).get("job")
        body = raw_body()
        outcome = webhooks().receive_signed(name, headers(), body, hint=hint)
        return _json(200, {"received": True, "outcome": outcome.value})

    @app.exception_handler(ApiError)
    def api_error(exc: ApiError) -> Response[Any]:
        return _json(exc.status, exc.body())

    @app.exception_handler(WebhookVerificationError)
    def forged(exc: WebhookVerificationError) -> Response[Any]:
        logger.warning("webhook rejected", extra={"reason": str(exc)})
        return _json(
            401, ApiError(401, "invalid_signature", "the webhook signature is missing or wrong").body()
        )

    @app.exception_handler(UnknownCallbackError)
    def unknown_callback(_exc: UnknownCallbackError) -> Response[Any]:
        return _json(404, ApiError(404, "not_found", "no such callback").body())

    @app.exception_handler(ProviderError)
    def provider_down(exc: ProviderError) -> Response[Any]:
        if not exc.retryable:
            # a body that does not parse as the documented payload, or a task the provider denies
            logger.warning("webhook payload refused", extra={"kind": exc.kind.value})
            return _json(
                400,
                ApiError(400, "invalid_payload", "the body is not the provider's documented payload").body(),
            )
        # the provider retries deliveries we could not act on; polling covers the rest
        logger.warning("could not re-fetch the task for a webhook", extra={"kind": exc.kind.value})
        return _json(503, ApiError(503, "provider_unavailable", "try again later").body())

    @app.exception_handler(MediajobsError)
    def failed(_exc: MediajobsError) -> Response[Any]:
        logger.exception("webhook could not be processed")
        return _json(503, ApiError(503, "service_unavailable", "try again later").body())

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response[Any]:
        # the last resort: a bug still answers our envelope, and the provider retries
        logger.exception("unexpected error in the webhook receiver", extra={"error_type": type(exc).__name__})
        return _json(500, ApiError(500, "internal_error", "try again later").body())

    @app.not_found
    def unknown_route(_exc: Exception) -> Response[Any]:
        return _json(404, ApiError(404, "not_found", "no such webhook route").body())

    return app
