"""Per-API-key budgets on the local stack: 50 creates race with one key, another key is not limited."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from local.sample_shop import SampleShop
from local.stack import LocalStack

from tests.e2e.billing_support import generations_of, set_budget, tenant_with_keys
from tests.e2e.conftest import Client, fast_sandboxes

RACERS = 50


def prodvisual_job(shop: SampleShop) -> dict[str, object]:
    return {
        "provider": "prodvisual",
        "product": {"image_url": shop.url("product.png")},
        "options": {"style": "mockup"},
    }


def budget_of(client: Client) -> dict[str, Any]:
    answer = client.http.get("/v1/budget")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_fifty_racing_creates_with_a_key_whose_budget_covers_six_accept_exactly_six(
    stack: LocalStack, shop: SampleShop
) -> None:
    # Given a tenant without a budget of its own and two keys; the first key's daily budget
    # covers exactly 6 ProdVisual jobs (1 credit each), the second key has none
    tenant, [(limited_id, limited), (free_id, free)] = tenant_with_keys(stack, 2)
    budget = 6
    shown = set_budget(stack, tenant, "--key", limited_id, "--daily", str(budget))
    assert (shown["api_key"]["key_id"], shown["api_key"]["daily"]["limit"]) == (limited_id, budget)
    assert shown["daily"]["limit"] is None

    # When 50 creates race with the first key
    def create(_: int) -> httpx.Response:
        with httpx.Client(
            base_url=stack.api_url, headers=limited.http.headers, timeout=httpx.Timeout(60.0)
        ) as http:
            return http.post("/v1/jobs", json=prodvisual_job(shop))

    with fast_sandboxes(stack):
        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            answers = list(pool.map(create, range(RACERS)))
        accepted = [a.json()["job_id"] for a in answers if a.status_code == 202]
        refused = [a.json()["error"] for a in answers if a.status_code == 402]
        reserved = budget_of(limited)
        # and the second key creates while the first is at its limit
        other = [free.create(prodvisual_job(shop))["job_id"] for _ in range(2)]
        finals = [limited.wait_final(job_id, timeout=120) for job_id in accepted]
        other_finals = [free.wait_final(job_id, timeout=120) for job_id in other]

    # Then exactly 6 were accepted and the rest refused, naming the key's daily budget
    assert len(accepted) == budget, [a.text for a in answers if a.status_code not in {202, 402}]
    assert len(refused) == RACERS - budget
    assert {r["code"] for r in refused} == {"budget_exceeded"}
    assert all(f"API key {limited_id}'s daily credit budget" in r["message"] for r in refused)
    assert {d["path"] for r in refused for d in r["details"]} == {"api_key.daily"}
    assert (reserved["api_key"]["key_id"], reserved["api_key"]["daily"]["spent"]) == (limited_id, budget)
    assert reserved["api_key"]["daily"]["remaining"] == 0
    # the second key of the tenant was not limited by the first key's budget
    assert [j["status"] for j in other_finals] == ["succeeded"] * 2
    assert [j["status"] for j in finals] == ["succeeded"] * budget
    # and ProdVisual made one generation per accepted job (counted by their product links, so
    # other tests' jobs still in flight on the shared stack do not move the count)
    assert generations_of(stack, accepted + other) == budget + 2

    # and once settled, each key's counters are the sum of what its accepted jobs cost
    used = sum(j["cost"]["credits"] for j in finals)
    other_used = sum(j["cost"]["credits"] for j in other_finals)
    deadline = time.monotonic() + 20
    while True:
        settled, free_view = budget_of(limited), budget_of(free)
        usage = limited.http.get("/v1/usage").json()
        if usage["jobs"] >= budget + 2 or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert usage["jobs"] == budget + 2  # every job's hold was settled
    assert (settled["api_key"]["daily"]["spent"], settled["api_key"]["monthly"]["spent"]) == (used, used)
    assert used == budget
    assert free_view["api_key"]["key_id"] == free_id
    assert free_view["api_key"]["daily"] == {
        "period": settled["daily"]["period"],
        "limit": None,
        "spent": other_used,
        "remaining": None,
    }
    assert (settled["daily"]["spent"], settled["daily"]["limit"]) == (used + other_used, None)


def test_a_key_budget_of_zero_refuses_with_402_while_the_tenants_other_key_creates(
    stack: LocalStack, shop: SampleShop
) -> None:
    tenant, [(blocked_id, blocked), (_, other)] = tenant_with_keys(stack, 2)
    set_budget(stack, tenant, "--key", blocked_id, "--monthly", "0")

    refused = blocked.http.post("/v1/jobs", json=prodvisual_job(shop))
    dry_run = blocked.http.post("/v1/estimates", json={"items": [prodvisual_job(shop)]})
    accepted = other.http.post("/v1/jobs", json=prodvisual_job(shop))

    assert refused.status_code == 402, refused.text
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert f"API key {blocked_id}'s monthly credit budget (this month: 0 of 0 left)" in error["message"]
    assert [d["path"] for d in error["details"]] == ["api_key.monthly"]
    assert dry_run.json()["within_budget"] is False
    assert dry_run.json()["budget"]["api_key"]["key_id"] == blocked_id
    assert accepted.status_code == 202, accepted.text
    # the refused create wrote nothing: the tenant's only job is the other key's
    assert [j["job_id"] for j in blocked.http.get("/v1/jobs").json()["jobs"]] == [accepted.json()["job_id"]]
    # it ends before the next test counts provider calls
    assert other.wait_final(accepted.json()["job_id"], timeout=120)["status"] == "succeeded"
