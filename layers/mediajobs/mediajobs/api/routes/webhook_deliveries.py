"""The tenant's webhook delivery log: ``GET /v1/webhook-deliveries`` and replaying one delivery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from mediajobs.api.context import ERROR_RESPONSES, ApiServices, answer, tenant_id
from mediajobs.api.errors import ApiError, ErrorResponse
from mediajobs.api.event_schemas import WebhookDelivery, WebhookDeliveryPage
from mediajobs.notifications.listing import DeliverySummary
from mediajobs.notifications.log import DeliveryLog
from mediajobs.notifications.models import Delivery, DeliveryStatus


def delivery_view(delivery: Delivery | DeliverySummary) -> WebhookDelivery:
    return WebhookDelivery(
        id=delivery.webhook_id,
        event_type=delivery.event_type,
        subject_id=delivery.subject_id,
        sequence=delivery.sequence,
        url=delivery.url,
        status=delivery.status,
        attempts=delivery.attempts,
        last_http_status=delivery.last_http_status,
        last_error=delivery.last_error,
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=delivery.delivered_at,
        replays=delivery.replays,
        created_at=delivery.created_at,
        updated_at=delivery.updated_at,
    )


def register(app: APIGatewayHttpResolver, services: Callable[[], ApiServices]) -> None:
    def deliveries() -> DeliveryLog:
        log = services().deliveries
        if log is None:
            raise ApiError(503, "service_unavailable", "the delivery log is not configured")
        return log

    @app.get(
        "/v1/webhook-deliveries",
        summary="List your webhook deliveries",
        description="Newest first; given-up deliveries show status failed. Filter by status.",
        operation_id="listWebhookDeliveries",
        responses={
            200: answer("a page of deliveries", WebhookDeliveryPage),
            400: answer(
                "invalid_cursor: the cursor is not one a page of your deliveries answered", ErrorResponse
            ),
            **ERROR_RESPONSES,
        },
        tags=["webhooks"],
    )
    def list_webhook_deliveries(
        status: Annotated[DeliveryStatus | None, Query(description="only deliveries in this status")] = None,
        limit: Annotated[int, Query(ge=1, le=100, description="deliveries per page")] = 20,
        cursor: Annotated[
            str | None,
            Query(max_length=512, description="next_cursor of the previous page (bound to your tenant)"),
        ] = None,
    ) -> WebhookDeliveryPage:
        page = deliveries().list(tenant_id(app), status=status, limit=limit, cursor=cursor)
        return WebhookDeliveryPage(
            deliveries=[delivery_view(d) for d in page.deliveries], next_cursor=page.next_cursor
        )

    @app.post(
        "/v1/webhook-deliveries/<delivery_id>/replay",
        summary="Replay a webhook delivery",
        description=(
            "Sends the recorded event again (same webhook-id and body, a fresh signature) with a "
            "fresh retry schedule. Delivered, failed and disabled deliveries can be replayed; a "
            "disabled one enables its URL again. The replay is for your webhook URL only: the "
            "event is not put on the EventBridge bus again (the bus took it once, its id in the "
            "detail, and EventBridge retries its rules' targets itself), so bus consumers get no "
            "duplicate; an event that never reached the bus is published by the replay."
        ),
        operation_id="replayWebhookDelivery",
        responses={
            202: answer("the delivery, pending again", WebhookDelivery),
            409: answer("the delivery is pending or has no URL", ErrorResponse),
            **ERROR_RESPONSES,
        },
        tags=["webhooks"],
    )
    def replay_webhook_delivery(
        delivery_id: Annotated[str, Path(max_length=64)],
    ) -> Response[WebhookDelivery]:
        delivery = deliveries().replay(tenant_id(app), delivery_id)
        return Response(
            status_code=202,
            content_type=content_types.APPLICATION_JSON,
            body=delivery_view(delivery),
            headers={"Location": "/v1/webhook-deliveries"},
        )
