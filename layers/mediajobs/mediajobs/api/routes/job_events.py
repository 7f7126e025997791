"""``GET /v1/jobs/{id}/events``: a job's timeline as Server-Sent Events, or JSON, with long polling.

API Gateway's HTTP API answers a Lambda integration in one piece, it cannot stream: an answer
here is "every event after Last-Event-ID, then close". An EventSource (or the SDK) reconnects
with the last ``id:`` it saw as ``Last-Event-ID`` (``retry:`` says when) and gets only later
events. ``?wait=N`` (at most 25 seconds) holds the request until a new event is written, so a
reconnecting client long-polls instead of asking every second. The last event of a job has
``final: true`` (SSE: it is followed by ``event: end``); after it, stop reconnecting.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query

from mediajobs.api.context import ERROR_RESPONSES, ApiServices, answer, tenant_id
from mediajobs.api.errors import ApiError, ErrorResponse
from mediajobs.api.event_schemas import JobEventsPage
from mediajobs.jobs.events import MAX_WAIT_SECONDS, EventBatch, wait_for_events

EVENT_STREAM = "text/event-stream"
#: what an EventSource waits before it reconnects (milliseconds)
RECONNECT_MS = 1000


def _last_event_id(header: str | None, after: int | None) -> int:
    if after is not None:
        return after
    if header is None or not header.strip():
        return 0
    if not header.strip().isdigit():
        raise ApiError(400, "invalid_last_event_id", "Last-Event-ID is the id: of an event (a number)")
    return int(header.strip())


def event_stream(batch: EventBatch, after: int) -> str:
    lines = [f"retry: {RECONNECT_MS}", ""]
    for event in batch.events:
        data = json.dumps(event.model_dump(mode="json"), separators=(",", ":"))
        lines += [f"id: {event.sequence}", "event: job.progress", f"data: {data}", ""]
    if batch.final:
        last = batch.events[-1].sequence if batch.events else after
        lines += [f"id: {last}", "event: end", "data: {}", ""]
    return "\n".join(lines) + "\n"


def register(app: APIGatewayHttpResolver, services: Callable[[], ApiServices]) -> None:
    @app.get(
        "/v1/jobs/<job_id>/events",
        summary="A job's events (Server-Sent Events, or JSON)",
        description=(
            "The job's timeline entries after Last-Event-ID (or ?after=), as text/event-stream "
            "(id: = sequence) or, with Accept: application/json, as JSON. The answer holds every "
            "event since Last-Event-ID and then closes (API Gateway cannot stream): reconnect with "
            "the last id. ?wait=N holds the request up to N seconds (max 25) for a new event."
        ),
        operation_id="listJobEvents",
        responses={
            200: {
                "description": "the events after Last-Event-ID (possibly none after ?wait=)",
                "content": {
                    EVENT_STREAM: {"schema": {"type": "string"}},
                    "application/json": {"model": JobEventsPage},
                },
            },
            400: answer("Last-Event-ID is not a number", ErrorResponse),
            **ERROR_RESPONSES,
        },
        tags=["jobs"],
    )
    def list_job_events(
        job_id: Annotated[str, Path(max_length=64)],
        after: Annotated[
            int | None, Query(ge=0, description="like Last-Event-ID: the events after this sequence")
        ] = None,
        wait: Annotated[
            int, Query(ge=0, le=MAX_WAIT_SECONDS, description="seconds to hold the request for a new event")
        ] = 0,
        last_event_id: Annotated[
            str | None,
            Header(max_length=20, description="the id: of the last event seen: only later events come"),
        ] = None,
    ) -> Response[Any]:
        tenant = tenant_id(app)
        jobs = services().jobs
        start = _last_event_id(last_event_id, after)
        jobs.get(tenant, job_id)  # 404 for an unknown job or another tenant's, before any wait
        batch = wait_for_events(lambda: jobs.get(tenant, job_id), after=start, wait_seconds=wait)
        headers = {"Cache-Control": "no-cache"}
        if "application/json" in (app.current_event.headers.get("accept") or ""):
            page = JobEventsPage(
                job_id=job_id,
                events=batch.events,
                final=batch.final,
                last_event_id=batch.events[-1].sequence if batch.events else start,
            )
            return Response(
                status_code=200, content_type=content_types.APPLICATION_JSON, body=page, headers=headers
            )
        return Response(
            status_code=200, content_type=EVENT_STREAM, body=event_stream(batch, start), headers=headers
        )
