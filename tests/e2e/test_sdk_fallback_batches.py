"""The SDK and CLI for fallbacks, batch manifests and batch retries, against the local stack."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import pytest
from local.sample_shop import SampleShop
from local.stack import LocalStack

from mediajobs_client import AsyncClient, Client, ValidationError
from tests.e2e.conftest import FAST_CREATIFY, FAST_PRODVISUAL, fast_sandboxes, sandbox_settings
from tests.e2e.test_cli import mediajobs


def write_manifest(path: Path, shop: SampleShop, broken: int = 0) -> Path:
    """A CSV of three ProdVisual rows; the first ``broken`` rows point at a file that is no image."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["external_id", "provider", "image_url", "style"])
        for n in range(3):
            image = shop.url("not-an-image.txt") if n < broken else shop.url("product.png")
            writer.writerow([f"row-{n}", "prodvisual", image, "white_bg"])
    return path


def test_given_the_sdk_when_a_job_with_a_fallback_fails_on_its_first_provider_then_run_returns_the_fallbacks(
    stack: LocalStack, shop: SampleShop, tmp_path: Path
) -> None:
    assert stack.sandboxes is not None
    with (
        sandbox_settings(stack.sandboxes.prodvisual, **FAST_PRODVISUAL, faults={"job_failure_rate": 1.0}),
        sandbox_settings(stack.sandboxes.creatify, **FAST_CREATIFY),
        Client(stack.api_url, stack.api_key) as client,
    ):
        result = client.jobs.run(
            provider="prodvisual",
            product={"image_url": shop.url("product.png")},
            options={"style": "lifestyle"},
            fallback=[{"provider": "creatify", "options": {"stop_after": "image"}}],
            download_to=tmp_path,
            timeout=120,
        )

    assert result.job.provider == "creatify"
    assert [(a.provider, a.outcome) for a in result.job.attempts] == [
        ("prodvisual", "provider_failed"),
        ("creatify", "succeeded"),
    ]
    assert len(result.files) == 1
    assert result.files[0].stat().st_size == result.job.outputs[0].bytes


def test_given_the_sdk_when_a_manifest_has_a_broken_row_then_retry_reruns_it_alone(
    stack: LocalStack, shop: SampleShop, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path / "items.csv", shop, broken=1)
    with fast_sandboxes(stack), Client(stack.api_url, stack.api_key) as client:
        started = client.batch_manifests.create_from_file(manifest, metadata={"via": "sdk"})
        assert started.status == "started"
        assert started.batch_id is not None
        first = client.batches.wait(started.batch_id, timeout=120)
        retried = client.batches.retry(started.batch_id)
        second = client.batches.wait(started.batch_id, timeout=120)

    assert first.outcome == "partially_succeeded"
    assert [i.external_id for i in first.items] == ["row-0", "row-1", "row-2"]
    assert (retried.round, retried.retried) == (1, 1)
    assert second.round == 1
    assert second.items[0].retried_from == first.items[0].job_id
    assert [i.job_id for i in second.items[1:]] == [i.job_id for i in first.items[1:]]
    assert second.counts == {"succeeded": 2, "failed": 1}


def test_given_the_async_sdk_when_a_manifest_is_invalid_then_it_raises_with_the_problems(
    stack: LocalStack, tmp_path: Path
) -> None:
    manifest = tmp_path / "items.json"
    manifest.write_text(json.dumps({"items": [{"provider": "jogg", "product": {}}]}))

    async def send() -> None:
        async with AsyncClient(stack.api_url, stack.api_key) as client:
            await client.batch_manifests.create_from_file(manifest)

    with pytest.raises(ValidationError) as refused:
        asyncio.run(send())

    assert refused.value.code == "validation_error"
    assert refused.value.details
    assert refused.value.details[0]["path"].startswith("items.0")


def test_given_the_cli_when_a_manifest_is_uploaded_and_retried_then_it_reports_each_round(
    stack: LocalStack, shop: SampleShop, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path / "items.csv", shop, broken=2)
    with fast_sandboxes(stack):
        uploaded = mediajobs(stack, "batch", "upload", str(manifest), "--json")
        assert uploaded.exit_code == 0, uploaded.stderr
        batch = json.loads(uploaded.stdout)["batch"]
        retried = mediajobs(stack, "batch", "retry", batch["batch_id"], "--json")

    assert batch["outcome"] == "partially_succeeded"
    assert batch["counts"] == {"succeeded": 1, "failed": 2}
    assert retried.exit_code == 0, retried.stderr
    answer = json.loads(retried.stdout)
    assert answer["retried"]["retried"] == 2
    assert answer["batch"]["round"] == 1
    assert answer["batch"]["counts"] == {"succeeded": 1, "failed": 2}
