"""Batches through the HTTP API: mixed providers, ProdVisual in provider batches, every item final."""

from __future__ import annotations

import time
from typing import Any

import pytest
from local.sample_shop import SampleShop
from local.stack import LocalStack

from tests.e2e.conftest import Client, sandbox_settings


def wait_batch(client: Client, batch_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.http.get(f"/v1/batches/{batch_id}").json()
        if batch["status"] == "completed":
            return dict(batch)
        time.sleep(0.5)
    raise AssertionError(
        f"batch {batch_id} not completed: {client.http.get(f'/v1/batches/{batch_id}').json()['counts']}"
    )


def test_a_mixed_batch_completes_with_every_item_succeeded(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    image = shop.url("product.png")
    items: list[dict[str, Any]] = [
        {"provider": "prodvisual", "product": {"image_url": image}, "options": {"style": style}}
        for style in ("lifestyle", "white_bg", "mockup")
    ]
    items.append(
        {"provider": "creatify", "product": {"image_url": image}, "options": {"stop_after": "image"}}
    )
    items.append(
        {"provider": "jogg", "product": {"page_url": shop.url("page.html")}, "options": {"length": "15"}}
    )
    batch_requests_before = [r for r in stack.sandboxes.prodvisual.requests if r.endpoint == "batch"]

    answer = client.http.post("/v1/batches", json={"items": items, "metadata": {"campaign": "spring"}})

    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["total"] == 5
    assert answer.headers["location"] == f"/v1/batches/{accepted['batch_id']}"
    batch = wait_batch(client, accepted["batch_id"])
    assert batch["counts"] == {"succeeded": 5}
    assert [i["job_id"] for i in batch["items"]] == accepted["job_ids"]
    assert batch["metadata"] == {"campaign": "spring"}
    batch_requests = [r for r in stack.sandboxes.prodvisual.requests if r.endpoint == "batch"]
    assert len(batch_requests) - len(batch_requests_before) == 1
    for job_id in accepted["job_ids"]:
        job = client.job(job_id)
        assert job["status"] == "succeeded"
        assert job["outputs"]


def test_an_item_with_an_unusable_image_fails_alone(client: Client, shop: SampleShop) -> None:
    items = [
        {
            "provider": "prodvisual",
            "product": {"image_url": shop.url("product.png")},
            "options": {"style": "mockup"},
        },
        {
            "provider": "prodvisual",
            "product": {"image_url": shop.url("not-an-image.txt")},
            "options": {"style": "mockup"},
        },
    ]

    accepted = client.http.post("/v1/batches", json={"items": items}).json()
    batch = wait_batch(client, accepted["batch_id"])

    assert batch["counts"] == {"succeeded": 1, "failed": 1}
    failed = next(i for i in batch["items"] if i["status"] == "failed")
    assert failed["index"] == 1
    assert failed["error_code"] == "invalid_product_image"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"items": []}, "items"),
        (
            {"items": [{"provider": "prodvisual", "product": {"image_url": "https://a.example/p.png"}}]},
            "items.0.options",
        ),
        ({"items": [{"provider": "nope"}]}, "provider"),
        ({"items": [], "extra": 1}, "extra"),
    ],
)
def test_an_invalid_batch_is_a_422_naming_the_item(client: Client, body: dict[str, Any], path: str) -> None:
    answer = client.http.post("/v1/batches", json=body)

    assert answer.status_code == 422
    assert path in [d["path"] for d in answer.json()["error"]["details"]], answer.json()


def test_a_batch_over_500_items_is_refused(client: Client) -> None:
    item = {
        "provider": "prodvisual",
        "product": {"image_url": "https://a.example/p.png"},
        "options": {"style": "x"},
    }

    answer = client.http.post("/v1/batches", json={"items": [item] * 501})

    assert answer.status_code == 422


def test_another_tenants_batch_is_not_found(stack: LocalStack, client: Client, shop: SampleShop) -> None:
    items = [
        {
            "provider": "prodvisual",
            "product": {"image_url": shop.url("product.png")},
            "options": {"style": "mockup"},
        }
    ]
    accepted = client.http.post("/v1/batches", json={"items": items}).json()

    answer = Client(stack.api_url, "other-tenant-key").http.get(f"/v1/batches/{accepted['batch_id']}")

    assert answer.status_code == 404
    wait_batch(client, accepted["batch_id"])


def test_a_batch_of_120_prodvisual_items_stays_within_60_requests_a_minute(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    sandbox = stack.sandboxes.prodvisual
    items = [
        {
            "provider": "prodvisual",
            "product": {"image_url": shop.url("product.jpg")},
            "options": {"style": "lifestyle"},
        }
        for _ in range(120)
    ]
    with sandbox_settings(sandbox, rate_limit_per_minute=60, batch_item_seconds=0.02):
        started = time.time()
        accepted = client.http.post("/v1/batches", json={"items": items})
        assert accepted.status_code == 202, accepted.text
        batch = wait_batch(client, accepted.json()["batch_id"], timeout=400)
        requests = [r for r in sandbox.requests if r.at >= started]

    assert batch["counts"] == {"succeeded": 120}
    assert not [r for r in requests if r.status == 429]
    times = sorted(r.at for r in requests)
    busiest = max(sum(1 for t in times if start <= t < start + 60) for start in times)
    assert busiest <= 60
    assert len([r for r in requests if r.endpoint == "batch"]) == 3
