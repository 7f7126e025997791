"""Cost through the Python SDK (sync and async) and the ``mediajobs`` command, on the local stack."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from local.sample_shop import SampleShop
from local.stack import LocalStack

from mediajobs_client import AsyncClient, Client, PaymentRequiredError
from tests.e2e.billing_support import generations_made, generations_since, set_budget, tenant_client
from tests.e2e.conftest import fast_sandboxes
from tests.e2e.test_cli import mediajobs


@pytest.fixture(scope="module", autouse=True)
def fast_providers(stack: LocalStack) -> Iterator[None]:
    with fast_sandboxes(stack):
        yield


def prodvisual(shop: SampleShop) -> dict[str, object]:
    return {
        "provider": "prodvisual",
        "product": {"image_url": shop.url("product.png")},
        "options": {"style": "mockup"},
    }


def test_the_sdk_estimates_refuses_past_the_budget_and_reports_usage(
    stack: LocalStack, shop: SampleShop
) -> None:
    tenant, raw = tenant_client(stack)
    set_budget(stack, tenant, "--daily", "1")
    key = raw.http.headers["authorization"].removeprefix("Bearer ")
    image = {"image_url": shop.url("product.png")}
    mark = generations_made(stack)

    with Client(stack.api_url, key) as sdk:
        estimate = sdk.billing.estimate([prodvisual(shop), prodvisual(shop)])
        dry_job = sdk.jobs.estimate(provider="prodvisual", product=image, options={"style": "mockup"})
        dry_batch = sdk.batches.estimate([prodvisual(shop)] * 3)
        assert generations_since(stack, mark, tenant) == []
        accepted = sdk.jobs.create(provider="prodvisual", product=image, options={"style": "mockup"})
        with pytest.raises(PaymentRequiredError) as refused:
            sdk.jobs.create(provider="prodvisual", product=image, options={"style": "mockup"})
        job = sdk.jobs.wait(accepted.job_id, timeout=60)
        budget = sdk.billing.budget()
        usage = sdk.billing.usage()

    assert (estimate.credits, estimate.within_budget) == (2, False)
    assert (dry_job.items, dry_job.credits, dry_batch.credits) == (1, 1, 3)
    assert (refused.value.status, refused.value.code) == (402, "budget_exceeded")
    assert job.status == "succeeded"
    assert job.cost is not None
    assert (job.cost.credits, job.cost.credits_source) == (1, "reported")
    assert (budget.daily.limit, budget.daily.spent, budget.daily.remaining) == (1, 1, 0)
    assert (usage.jobs, usage.credits) == (1, 1)
    assert usage.providers[0].provider == "prodvisual"


def test_the_async_sdk_estimates_and_reads_usage(stack: LocalStack, shop: SampleShop) -> None:
    _, raw = tenant_client(stack)
    key = raw.http.headers["authorization"].removeprefix("Bearer ")

    async def main() -> tuple[float, int, float | None]:
        async with AsyncClient(stack.api_url, key) as sdk:
            estimate = await sdk.billing.estimate([prodvisual(shop)] * 4)
            usage = await sdk.billing.usage("2020-01-01", "2020-01-31")
            budget = await sdk.billing.budget()
            return estimate.credits, usage.jobs, budget.daily.limit

    assert asyncio.run(main()) == (4, 0, None)


def test_the_cli_prints_an_estimate_usage_and_the_budget(
    stack: LocalStack, shop: SampleShop, tmp_path: Path
) -> None:
    tenant, raw = tenant_client(stack)
    key = raw.http.headers["authorization"].removeprefix("Bearer ")
    set_budget(stack, tenant, "--daily", "5", "--monthly", "50")
    manifest = tmp_path / "items.csv"
    rows = [f"prodvisual,{shop.url('product.png')},mockup\n"] * 3 + [f"creatify,{shop.url('product.jpg')},\n"]
    manifest.write_text("provider,image_url,style\n" + "".join(rows), encoding="utf-8")

    estimated = mediajobs(stack, "estimate", str(manifest), "--json", api_key=key)
    table = mediajobs(stack, "estimate", str(manifest), api_key=key)
    usage = mediajobs(stack, "usage", "--json", api_key=key)
    budget = mediajobs(stack, "budget", api_key=key)

    assert estimated.exit_code == 0, estimated.stderr
    answer = json.loads(estimated.stdout)
    assert (answer["items"], answer["credits"], answer["complete"]) == (4, 3, False)
    assert "3 credit(s)" in table.stdout
    assert "credits are unknown" in table.stdout
    assert json.loads(usage.stdout)["jobs"] == 0
    assert budget.exit_code == 0, budget.stderr
    assert "0 of 5 credit(s) spent, 5 left" in budget.stdout
    assert "0 of 50 credit(s) spent, 50 left" in budget.stdout
