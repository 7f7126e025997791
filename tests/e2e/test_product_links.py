"""Product links on the local stack: only the signed link handed to a provider opens, and only while
its job runs. Everything else (the job id alone, a tampered, expired or other job's signature, a
final job) is the same 404.

The expired link is signed for real with the stack's key (read from its Secrets Manager, where the
template's ``ProductLinkSecret`` is provisioned): only its expiry is in the past.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from local.sample_shop import SampleShop
from local.stack import LocalStack

from mediajobs.jobs.product_links import ProductLinks
from tests.e2e.conftest import FAST_PRODVISUAL, Client, sandbox_settings


@dataclass(frozen=True)
class RunningJob:
    job_id: str
    link: str

    @property
    def base(self) -> str:
        return self.link.rpartition("/p/")[0]

    @property
    def token(self) -> str:
        return self.link.rpartition("/p/")[2]


def product_job(client: Client, shop: SampleShop) -> str:
    product = {"image_url": shop.url("product.png")}
    body = {"provider": "prodvisual", "product": product, "options": {"style": "white_bg"}}
    return str(client.create(body)["job_id"])


def link_given_to_provider(stack: LocalStack, job_id: str, timeout: float = 30.0) -> str:
    assert stack.sandboxes is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for generation in list(stack.sandboxes.prodvisual.generations.values()):
            if f"/p/{job_id}." in generation.spec.image_url:
                return str(generation.spec.image_url)
        time.sleep(0.1)
    raise AssertionError(f"no ProdVisual generation got a product link of job {job_id}")


@pytest.fixture(scope="module")
def running(stack: LocalStack, shop: SampleShop) -> Iterator[tuple[RunningJob, RunningJob]]:
    """Two jobs whose generations run long enough to try their links, then finish."""
    assert stack.sandboxes is not None
    client = Client(stack.api_url, stack.api_key)
    with sandbox_settings(stack.sandboxes.prodvisual, pending_seconds=0.05, processing_seconds=8.0):
        ids = [product_job(client, shop) for _ in range(2)]
        first, second = (RunningJob(i, link_given_to_provider(stack, i)) for i in ids)
        yield first, second
        for job_id in ids:
            client.wait_final(job_id, timeout=60)


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10.0)


def assert_not_found(answer: httpx.Response) -> None:
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]["code"] == "not_found"
    assert answer.json()["error"]["request_id"]
    assert "location" not in answer.headers


def stack_links(stack: LocalStack) -> ProductLinks:
    assert stack.provisioned is not None
    arn = stack.provisioned.secrets["ProductLinkSecret"]
    key = stack.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"].encode()
    return ProductLinks(key=lambda: key, max_seconds=86400)


def test_given_a_running_job_when_the_provider_follows_its_signed_link_then_it_gets_the_product(
    running: tuple[RunningJob, RunningJob], shop: SampleShop
) -> None:
    job, _ = running

    answer = get(job.link)
    image = httpx.get(answer.headers["location"], timeout=10.0)

    assert answer.status_code == 302
    assert image.content == shop.images["png"]
    assert len(job.link) <= 200  # Creatify's product_url limit


def test_given_only_the_job_id_when_opening_its_product_link_then_404(
    running: tuple[RunningJob, RunningJob],
) -> None:
    job, _ = running

    assert_not_found(get(f"{job.base}/p/{job.job_id}"))


@pytest.mark.parametrize("part", ["signature", "stage", "expiry"])
def test_given_a_tampered_link_when_opened_then_404(
    running: tuple[RunningJob, RunningJob], part: str
) -> None:
    job, _ = running
    job_id, stage, expires, signature = job.token.split(".")
    tampered = {
        "signature": (stage, expires, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")),
        "stage": ("advance" if stage != "advance" else "submit", expires, signature),
        "expiry": (stage, str(int(expires) + 3600), signature),
    }[part]

    assert_not_found(get(f"{job.base}/p/{job_id}.{'.'.join(tampered)}"))


def test_given_another_jobs_signature_when_opened_then_404(running: tuple[RunningJob, RunningJob]) -> None:
    first, second = running
    _, stage, expires, signature = second.token.split(".")

    assert_not_found(get(f"{first.base}/p/{first.job_id}.{stage}.{expires}.{signature}"))


def test_given_a_correctly_signed_but_expired_link_when_opened_then_404(
    stack: LocalStack, running: tuple[RunningJob, RunningJob]
) -> None:
    job, _ = running
    links = stack_links(stack)
    live = links.token(job.job_id, "submit", int(time.time()) + 600)
    expired = links.token(job.job_id, "submit", int(time.time()) - 1)

    assert get(f"{job.base}/p/{live}").status_code == 302  # the same key, in the future: it opens
    assert_not_found(get(f"{job.base}/p/{expired}"))


def test_given_a_final_job_when_its_signed_link_is_opened_then_404(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    with sandbox_settings(stack.sandboxes.prodvisual, **FAST_PRODVISUAL):
        job_id = product_job(client, shop)
        link = link_given_to_provider(stack, job_id)
        job: dict[str, Any] = client.wait_final(job_id)

    assert job["status"] == "succeeded", job.get("error")  # the sandbox fetched through the link
    assert_not_found(get(link))
