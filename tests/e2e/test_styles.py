"""A ProdVisual style the provider does not list is refused at the door, naming the valid ones."""

from __future__ import annotations

from typing import Any

import httpx
from local.sample_shop import SampleShop
from local.sandboxes.prodvisual import STYLE_IDS
from local.stack import LocalStack

from tests.e2e.conftest import Client, fast_sandboxes


def refused_style(answer: httpx.Response, path: str) -> dict[str, Any]:
    assert answer.status_code == 422, answer.text
    error = dict(answer.json()["error"])
    assert error["code"] == "unknown_style"
    assert "watercolour" in error["message"]
    assert all(style in error["message"] for style in STYLE_IDS)
    assert error["details"] == [{"path": path, "message": error["details"][0]["message"]}]
    return error


def generations(stack: LocalStack) -> int:
    assert stack.sandboxes is not None
    return sum(1 for r in stack.sandboxes.prodvisual.requests if r.endpoint in {"generate", "batch"})


def body(shop: SampleShop, style: str) -> dict[str, Any]:
    return {
        "provider": "prodvisual",
        "product": {"image_url": shop.url("product.png")},
        "options": {"style": style},
    }


def test_a_job_with_an_unknown_style_is_a_422_and_creates_nothing(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    jobs_before = client.http.get("/v1/jobs", params={"limit": 100}).json()["jobs"]
    calls_before = generations(stack)

    answer = client.http.post("/v1/jobs", json=body(shop, "watercolour"))

    refused_style(answer, "options.style")
    assert client.http.get("/v1/jobs", params={"limit": 100}).json()["jobs"] == jobs_before
    assert generations(stack) == calls_before


def test_an_upload_with_an_unknown_style_is_a_422(client: Client) -> None:
    answer = client.http.post(
        "/v1/uploads", json={"provider": "prodvisual", "options": {"style": "watercolour"}}
    )

    refused_style(answer, "options.style")


def test_a_batch_names_the_item_with_the_unknown_style(client: Client, shop: SampleShop) -> None:
    answer = client.http.post(
        "/v1/batches", json={"items": [body(shop, "mockup"), body(shop, "watercolour")]}
    )

    refused_style(answer, "items.1.options.style")


def test_a_regeneration_with_an_unknown_style_is_a_422(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    with fast_sandboxes(stack):
        source = client.run(body(shop, "mockup"))
    assert source["status"] == "succeeded"

    answer = client.http.post(f"/v1/jobs/{source['job_id']}/regenerate", json={"style": "watercolour"})

    refused_style(answer, "style")


def test_every_listed_style_is_accepted(stack: LocalStack, client: Client, shop: SampleShop) -> None:
    listed = client.http.get("/v1/providers/prodvisual/styles").json()["styles"]
    assert {s["id"] for s in listed} == STYLE_IDS

    with fast_sandboxes(stack):
        job = client.run(body(shop, sorted(STYLE_IDS)[0]))

    assert job["status"] == "succeeded"
