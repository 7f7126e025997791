"""Hostile deliveries to the provider webhook receiver: each gets its 4xx and changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from local.sample_shop import SampleShop
from local.stack import LocalStack

from tests.e2e.conftest import Client

PRODVISUAL_KEY = b"pv_test_sandbox"  # the sandbox's API key, which ProdVisual signs webhooks with


def stable(job: dict[str, Any]) -> dict[str, Any]:
    """A job view without the fields that change on every read (fresh presigned links)."""
    outputs = [{k: v for k, v in o.items() if not k.startswith("download_url")} for o in job["outputs"]]
    return job | {"outputs": outputs}


def signed(body: bytes) -> dict[str, str]:
    signature = hmac.new(PRODVISUAL_KEY, body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-ProdVisual-Signature": signature}


@pytest.fixture(scope="module")
def finished(stack: LocalStack, shop: SampleShop) -> dict[str, Any]:
    client = Client(stack.api_url, stack.api_key)
    job = client.run(
        {
            "provider": "prodvisual",
            "product": {"image_url": shop.url("product.png")},
            "options": {"style": "white_bg"},
        }
    )
    assert job["status"] == "succeeded", job.get("error")
    return job


def completed_body(task_id: str) -> bytes:
    return json.dumps(
        {
            "event": "generation.completed",
            "data": {"id": task_id, "status": "completed", "output_url": "http://127.0.0.1:9/evil.png"},
            "timestamp": "2026-11-22T10:00:00Z",
        }
    ).encode()


HOSTILE: dict[str, tuple[Callable[[str], tuple[bytes, dict[str, str]]], int, str]] = {
    "oversized": (
        lambda task: (b'{"pad": "' + b"x" * 300_000 + b'"}', signed(b"")),
        413,
        "body_too_large",
    ),
    "not json content type": (
        lambda task: (completed_body(task), signed(completed_body(task)) | {"Content-Type": "text/plain"}),
        415,
        "unsupported_media_type",
    ),
    "empty": (lambda task: (b"", signed(b"")), 400, "empty_body"),
    "signed but malformed": (lambda task: (b'{"event": ', signed(b'{"event": ')), 400, "malformed_json"),
    "signed but not the documented payload": (
        lambda task: (b'{"hello": "world"}', signed(b'{"hello": "world"}')),
        400,
        "invalid_payload",
    ),
    "forged": (
        lambda task: (
            completed_body(task),
            {"Content-Type": "application/json", "X-ProdVisual-Signature": "00" * 32},
        ),
        401,
        "invalid_signature",
    ),
    "unsigned": (
        lambda task: (completed_body(task), {"Content-Type": "application/json"}),
        401,
        "invalid_signature",
    ),
}


@pytest.mark.parametrize("attack", list(HOSTILE))
def test_a_hostile_prodvisual_delivery_gets_its_4xx_and_changes_nothing(
    stack: LocalStack, client: Client, finished: dict[str, Any], attack: str
) -> None:
    make, status, code = HOSTILE[attack]
    body, headers = make(finished["provider_jobs"][0]["provider_job_id"])

    answer = httpx.post(f"{stack.api_url}/v1/webhooks/prodvisual", content=body, headers=headers)

    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert stable(client.job(finished["job_id"])) == stable(finished)


def test_a_signed_delivery_naming_another_job_in_its_url_adopts_nothing(
    stack: LocalStack, client: Client, shop: SampleShop, finished: dict[str, Any]
) -> None:
    other = client.run(
        {
            "provider": "prodvisual",
            "product": {"image_url": shop.url("product.png")},
            "options": {"style": "white_bg"},
        }
    )
    body = completed_body("gen_not_known_here")
    url = f"{stack.api_url}/v1/webhooks/prodvisual?job={other['job_id']}.guessed-key"

    answer = httpx.post(url, content=body, headers=signed(body))

    assert answer.status_code == 200
    assert answer.json()["outcome"] == "ignored"
    assert stable(client.job(other["job_id"])) == stable(other)


def test_a_creatify_callback_url_is_dead_once_its_job_is_final(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    job = client.run(
        {"provider": "creatify", "product": {"image_url": shop.url("product.jpg")}, "options": {}}
    )
    assert job["status"] == "succeeded", job.get("error")
    task = stack.sandboxes.creatify.tasks[job["provider_jobs"][0]["provider_job_id"]]
    assert task.webhook_url is not None
    assert job["job_id"] in task.webhook_url

    replayed = httpx.post(task.webhook_url, json={"id": task.id, "status": "video_generated"})

    assert replayed.status_code == 404
    assert replayed.json()["error"]["code"] == "not_found"
    assert stable(client.job(job["job_id"])) == stable(job)
