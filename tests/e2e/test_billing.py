"""Cost on the local stack: estimates and dry runs, budgets under a burst, usage, waiting for credits."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from local.sample_shop import SampleShop
from local.stack import LocalStack

from tests.e2e.billing_support import (
    generations_made,
    generations_of,
    generations_since,
    set_budget,
    tenant_client,
)
from tests.e2e.conftest import FINAL, Client, fast_sandboxes


def prodvisual_job(shop: SampleShop, **extra: object) -> dict[str, object]:
    return {
        "provider": "prodvisual",
        "product": {"image_url": shop.url("product.png")},
        "options": {"style": "mockup"},
        **extra,
    }


def wait_for_status(client: Client, job_id: str, status: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.job(job_id)
        if job["status"] == status or job["status"] in FINAL:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached {status}")


# -- estimates and dry runs ---------------------------------------------------------------------------


def test_an_estimate_prices_the_items_and_says_how_many_the_balance_covers(
    stack: LocalStack, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    tenant, client = tenant_client(stack)
    mark = generations_made(stack)
    items = [prodvisual_job(shop), prodvisual_job(shop), prodvisual_job(shop)]
    items.append({"provider": "creatify", "product": {"image_url": shop.url("product.jpg")}})

    answer = client.http.post("/v1/estimates", json={"items": items})

    assert answer.status_code == 200, answer.text
    estimate = answer.json()
    by_provider = {p["provider"]: p for p in estimate["providers"]}
    assert (estimate["items"], estimate["credits"], estimate["complete"]) == (4, 3, False)
    prodvisual = by_provider["prodvisual"]
    assert prodvisual["balance"] == stack.sandboxes.prodvisual.credits_remaining
    assert prodvisual["items_covered"] == 3
    assert "1 credit per successful generation" in prodvisual["price_source"]
    assert by_provider["creatify"]["credits"] is None
    assert estimate["aws_usd"] > 0
    assert generations_since(stack, mark, tenant) == []


def test_a_balance_too_small_for_the_batch_covers_only_part_of_it(
    stack: LocalStack, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    _, client = tenant_client(stack)
    sandbox = stack.sandboxes.prodvisual
    with sandbox.balance(2):
        answer = client.http.post("/v1/estimates", json={"items": [prodvisual_job(shop)] * 5})

    (prodvisual,) = answer.json()["providers"]
    assert (prodvisual["credits"], prodvisual["balance"], prodvisual["items_covered"]) == (5, 2, 2)


def test_a_dry_run_job_answers_the_estimate_and_creates_nothing(stack: LocalStack, shop: SampleShop) -> None:
    tenant, client = tenant_client(stack)
    mark = generations_made(stack)

    answer = client.http.post("/v1/jobs", json=prodvisual_job(shop, dry_run=True))

    assert answer.status_code == 200, answer.text
    assert (answer.json()["items"], answer.json()["credits"]) == (1, 1)
    assert "location" not in answer.headers
    assert client.http.get("/v1/jobs").json()["jobs"] == []
    assert generations_since(stack, mark, tenant) == []


def test_a_dry_run_batch_answers_the_estimate_and_creates_nothing(
    stack: LocalStack, shop: SampleShop
) -> None:
    tenant, client = tenant_client(stack)
    mark = generations_made(stack)

    answer = client.http.post("/v1/batches", json={"items": [prodvisual_job(shop)] * 4, "dry_run": True})

    assert answer.status_code == 200, answer.text
    assert answer.json()["credits"] == 4
    assert client.http.get("/v1/jobs").json()["jobs"] == []
    assert generations_since(stack, mark, tenant) == []


# -- budgets and usage ----------------------------------------------------------------------------


def test_fifty_racing_creates_against_a_budget_of_seven_accept_exactly_seven(
    stack: LocalStack, shop: SampleShop
) -> None:
    # Given a tenant whose daily budget covers exactly 7 ProdVisual jobs (1 credit each)
    tenant, client = tenant_client(stack)
    budget = 7
    shown = set_budget(stack, tenant, "--daily", str(budget), "--monthly", "100")
    assert (shown["daily"]["limit"], shown["daily"]["remaining"]) == (budget, budget)
    mark = generations_made(stack)

    # When 50 creates race
    def create(_: int) -> httpx.Response:
        with httpx.Client(
            base_url=stack.api_url, headers=client.http.headers, timeout=httpx.Timeout(60.0)
        ) as http:
            return http.post("/v1/jobs", json=prodvisual_job(shop))

    with fast_sandboxes(stack):
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(create, range(50)))
        elapsed = time.monotonic() - started
        accepted = [a.json()["job_id"] for a in answers if a.status_code == 202]
        refused = [a for a in answers if a.status_code == 402]
        reserved = client.http.get("/v1/budget").json()
        finals = [client.wait_final(job_id, timeout=120) for job_id in accepted]

    # Then exactly 7 were accepted, 43 refused with budget_exceeded, and nothing was overspent
    assert len(accepted) == budget, [a.text for a in answers if a.status_code not in {202, 402}]
    assert len(refused) == 50 - budget
    assert {r.json()["error"]["code"] for r in refused} == {"budget_exceeded"}
    assert reserved["daily"]["spent"] == budget * 1
    assert reserved["daily"]["remaining"] == 0
    assert [j["status"] for j in finals] == ["succeeded"] * budget
    # one generation for each accepted job (other tests' jobs may still call the sandbox meanwhile)
    assert generations_of(stack, accepted) == budget
    # and none for the refused creates (or for no job at all)
    assert len(generations_since(stack, mark, tenant)) == budget
    settled = client.http.get("/v1/budget").json()
    assert (settled["daily"]["spent"], settled["monthly"]["spent"]) == (budget, budget)
    print(f"\n50 racing creates in {elapsed:.1f}s: {len(accepted)} accepted, {len(refused)} refused (402)")


def test_usage_sums_the_tenants_final_jobs_and_credits_per_provider(
    stack: LocalStack, shop: SampleShop
) -> None:
    _, client = tenant_client(stack)
    with fast_sandboxes(stack):
        jobs = [client.run(prodvisual_job(shop)) for _ in range(2)]
        creatify = client.run(
            {
                "provider": "creatify",
                "product": {"image_url": shop.url("product.jpg")},
                "options": {"stop_after": "image"},
            }
        )
    assert [j["status"] for j in [*jobs, creatify]] == ["succeeded"] * 3

    # usage counts a job once its cost is settled, just after it is final (NotifyClient)
    deadline = time.monotonic() + 20
    while True:
        answer = client.http.get("/v1/usage")
        assert answer.status_code == 200, answer.text
        usage = answer.json()
        if usage["jobs"] >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    by_provider = {p["provider"]: p for p in usage["providers"]}
    assert (usage["jobs"], usage["credits"]) == (3, 2)
    assert (by_provider["prodvisual"]["jobs"], by_provider["prodvisual"]["credits"]) == (2, 2)
    assert by_provider["creatify"]["jobs_without_credits"] == 1
    assert jobs[0]["cost"]["credits"] == 1
    assert jobs[0]["cost"]["credits_source"] == "reported"
    assert creatify["cost"]["credits_source"] == "none"
    day = jobs[0]["created_at"][:10]
    other_day = client.http.get("/v1/usage", params={"from": "2020-01-01", "to": "2020-01-31"}).json()
    assert other_day["jobs"] == 0
    assert {d["day"] for d in usage["days"]} == {day}


def test_a_budget_of_zero_refuses_a_create_with_402_before_any_provider_call(
    stack: LocalStack, shop: SampleShop
) -> None:
    tenant, client = tenant_client(stack)
    set_budget(stack, tenant, "--daily", "0")
    mark = generations_made(stack)

    answer = client.http.post("/v1/jobs", json=prodvisual_job(shop))

    assert answer.status_code == 402
    assert answer.json()["error"]["code"] == "budget_exceeded"
    assert client.http.get("/v1/jobs").json()["jobs"] == []
    assert generations_since(stack, mark, tenant) == []


# -- waiting for credits --------------------------------------------------------------------------


def test_a_job_without_provider_credits_waits_and_succeeds_once_the_operator_tops_up(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    sandbox = stack.sandboxes.prodvisual
    with sandbox.balance(0):
        job_id = client.create(prodvisual_job(shop))["job_id"]
        parked = wait_for_status(client, job_id, "waiting_credits")
    job = client.wait_final(job_id, timeout=60)

    assert parked["status"] == "waiting_credits"
    reason = next(e for e in parked["timeline"] if e["status"] == "waiting_credits")
    assert "no credits left (insufficient_credits)" in reason["detail"]
    assert job["status"] == "succeeded"
    statuses = [e["status"] for e in job["timeline"]]
    assert statuses.index("waiting_credits") < statuses.index("running") < statuses.index("succeeded")
    assert len(job["outputs"]) == 1


def test_usage_refuses_a_range_that_ends_before_it_starts(stack: LocalStack) -> None:
    _, client = tenant_client(stack)

    answer = client.http.get("/v1/usage", params={"from": "2026-03-02", "to": "2026-03-01"})

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_range"


def test_an_estimate_without_items_is_refused_with_the_field_path(stack: LocalStack) -> None:
    _, client = tenant_client(stack)

    answer = client.http.post("/v1/estimates", json={"items": []})

    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["path"] == "items"


def test_a_dry_run_on_a_batch_item_is_refused(stack: LocalStack, shop: SampleShop) -> None:
    _, client = tenant_client(stack)

    answer = client.http.post("/v1/batches", json={"items": [prodvisual_job(shop, dry_run=True)]})

    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["path"] == "items.0.dry_run"
    assert client.http.get("/v1/jobs").json()["jobs"] == []
