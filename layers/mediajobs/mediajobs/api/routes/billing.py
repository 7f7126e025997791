"""Cost routes: estimates, the tenant's and the calling key's credit budgets, usage per provider."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from mediajobs.api.billing_schemas import (
    BudgetStatus,
    EstimateRequest,
    EstimateView,
    UsageDayView,
    UsageProviderView,
    UsageView,
)
from mediajobs.api.context import (
    BODY_ERROR_RESPONSES,
    ERROR_RESPONSES,
    ApiServices,
    answer,
    api_key_id,
    tenant_id,
)
from mediajobs.api.errors import ErrorResponse
from mediajobs.api.views import estimate_view
from mediajobs.billing.service import Billing
from mediajobs.errors import ServiceUnavailableError
from mediajobs.jobs.requests import JobRequest
from mediajobs.jobs.service import spec_from_request

USAGE_DEFAULT_DAYS = 30

#: the create routes' refusal when the tenant's or the calling key's credit budget does not allow it
BUDGET_RESPONSES: dict[int, OpenAPIResponse] = {
    402: {
        "description": (
            "budget_exceeded: the tenant's or the calling API key's daily or monthly credit budget "
            "does not allow it; the message names which, and details[].path points at it in "
            "GET /v1/budget (daily, monthly, api_key.daily, api_key.monthly)"
        ),
        "content": {"application/json": {"model": ErrorResponse}},
    },
}


def billing_of(services: ApiServices) -> Billing:
    if services.billing is None:
        raise ServiceUnavailableError("service_unavailable", "cost accounting is not configured")
    return services.billing


def estimate_response(
    services: ApiServices, tenant: str, items: Sequence[JobRequest], *, key_id: str | None
) -> Response[Any]:
    """The 200 answer of a dry run: the estimate (an :class:`EstimateView`); nothing is created.

    ``Response[Any]`` like the create routes' idempotent answers, whose other answer it is.
    """
    specs = [spec_from_request(item) for item in items]
    view = estimate_view(billing_of(services).estimate(tenant, specs, key_id=key_id))
    return Response(status_code=HTTPStatus.OK, content_type=content_types.APPLICATION_JSON, body=view)


def register(app: APIGatewayHttpResolver, services: Callable[[], ApiServices]) -> None:
    @app.post(
        "/v1/estimates",
        summary="Estimate what jobs will cost",
        description=(
            "Prices the items (a job is one item, a batch up to 500) in provider credits from each "
            "provider's documented price, says how many the provider's current balance covers "
            "(ProdVisual's credits endpoint; the other providers have none), mediajobs' own AWS cost "
            "estimate, and whether the tenant's and the calling key's budgets allow them now. Nothing "
            "is created and no "
            "provider job is started. POST /v1/jobs and POST /v1/batches with dry_run: true answer the same."
        ),
        operation_id="createEstimate",
        responses={
            200: answer("the estimate", EstimateView),
            **ERROR_RESPONSES,
            **BODY_ERROR_RESPONSES,
        },
        tags=["billing"],
    )
    def create_estimate(request: Annotated[EstimateRequest, Body(embed=False)]) -> EstimateView:
        specs = [spec_from_request(item) for item in request.items]
        return estimate_view(billing_of(services()).estimate(tenant_id(app), specs, key_id=api_key_id(app)))

    @app.get(
        "/v1/usage",
        summary="Credits and jobs per provider",
        description=(
            "Sums the tenant's final jobs (counted on the UTC day each was created) and the credits "
            "they used, per provider and per day, between two UTC days (both included; default: the "
            f"last {USAGE_DEFAULT_DAYS} days)."
        ),
        operation_id="getUsage",
        responses={
            200: answer("the usage", UsageView),
            400: {
                "description": "'to' is before 'from', or the range is over 366 days",
                "content": {"application/json": {"model": ErrorResponse}},
            },
            **ERROR_RESPONSES,
        },
        tags=["billing"],
    )
    def get_usage(
        from_day: Annotated[date | None, Query(alias="from", description="first UTC day, YYYY-MM-DD")] = None,
        to_day: Annotated[date | None, Query(alias="to", description="last UTC day, YYYY-MM-DD")] = None,
    ) -> UsageView:
        billing = billing_of(services())
        end = to_day or billing.now().date()
        start = from_day or end - timedelta(days=USAGE_DEFAULT_DAYS - 1)
        rows = billing.usage(tenant_id(app), start, end)
        providers: dict[str, UsageProviderView] = {}
        for row in rows:
            total = providers.setdefault(
                row.provider.value,
                UsageProviderView(
                    provider=row.provider,
                    jobs=0,
                    succeeded=0,
                    failed=0,
                    cancelled=0,
                    credits=0,
                    jobs_without_credits=0,
                    aws_usd=0,
                ),
            )
            total.jobs += row.jobs
            total.succeeded += row.succeeded
            total.failed += row.failed
            total.cancelled += row.cancelled
            total.credits += row.credits
            total.jobs_without_credits += row.jobs_without_credits
            total.aws_usd = round(total.aws_usd + row.aws_usd, 8)
        return UsageView(
            from_day=start,
            to_day=end,
            jobs=sum(p.jobs for p in providers.values()),
            credits=sum(p.credits for p in providers.values()),
            providers=sorted(providers.values(), key=lambda p: p.provider.value),
            days=[UsageDayView(**row.model_dump()) for row in rows],
        )

    @app.get(
        "/v1/budget",
        summary="The tenant's and this API key's credit budgets",
        description=(
            "Today's and this month's (UTC) credit limits, what jobs reserved or spent against them, "
            "and what is left: the tenant's, and in api_key the calling key's own (what jobs created "
            "with this key reserved or spent; a create must fit both). The operator sets the limits "
            "(python -m scripts.budgets, --key KEY_ID for a key's)."
        ),
        operation_id="getBudget",
        responses={200: answer("the budget", BudgetStatus), **ERROR_RESPONSES},
        tags=["billing"],
    )
    def get_budget() -> BudgetStatus:
        return billing_of(services()).budget(tenant_id(app), key_id=api_key_id(app))
