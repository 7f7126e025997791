"""The Python SDK against the local stack: what a client app written with it sees and saves."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from local.sample_shop import SampleShop
from local.stack import LocalStack

from mediajobs.notifications.signing import generate_secret
from mediajobs_client import (
    AsyncClient,
    AuthenticationError,
    Client,
    DownloadIntegrityError,
    Job,
    NotFoundError,
    UploadFailedError,
    ValidationError,
    WebhookVerificationError,
    webhooks,
)
from tests.e2e.conftest import FAST_JOGG, fast_sandboxes, sandbox_settings
from tests.e2e.media_checks import check_h264, check_image
from tests.support.servers import WebhookReceiver


@pytest.fixture(scope="module", autouse=True)
def fast_providers(stack: LocalStack) -> Iterator[None]:
    with fast_sandboxes(stack):
        yield


@pytest.fixture
def sdk(stack: LocalStack) -> Iterator[Client]:
    with Client(stack.api_url, stack.api_key) as client:
        yield client


def fresh_tenant(stack: LocalStack) -> str:
    key = f"sdk-{uuid.uuid4().hex}"
    stack.add_api_key(key, f"tenant-{key}")
    return key


def test_run_prodvisual_saves_the_requested_image_and_reports_each_change(
    sdk: Client, shop: SampleShop, tmp_path: Path
) -> None:
    updates: list[Job] = []

    result = sdk.jobs.run(
        provider="prodvisual",
        product={"image_url": shop.url("product.png")},
        options={"style": "white_bg", "dimensions": "800x600", "format": "webp"},
        metadata={"sku": "AUR-750"},
        download_to=tmp_path,
        on_update=updates.append,
    )

    assert result.job.status == "succeeded"
    assert result.files == [tmp_path / f"{result.job.job_id}-image.webp"]
    image = check_image(result.files[0], result.job.outputs[0], "WEBP")
    assert image.size == (800, 600)
    assert result.job.metadata == {"sku": "AUR-750"}
    assert updates[-1].status == "succeeded"
    assert updates[0].status != "succeeded"  # it saw the job before it was done
    assert len({(u.status, u.provider_status) for u in updates}) == len(updates)  # one call per change


def test_run_creatify_saves_a_preview_and_an_h264_video(
    sdk: Client, shop: SampleShop, tmp_path: Path
) -> None:
    result = sdk.jobs.run(
        provider="creatify",
        product={"image_url": shop.url("product.png")},
        options={"aspect_ratio": "9x16"},
        download_to=tmp_path,
    )

    outputs = {o.kind: (o, path) for o, path in zip(result.job.outputs, result.files, strict=True)}
    assert set(outputs) == {"preview", "video"}
    preview = check_image(outputs["preview"][1], outputs["preview"][0], "JPEG")
    assert preview.height > preview.width
    video, path = outputs["video"]
    assert path.suffix == ".mp4"
    assert check_h264(path, video) == pytest.approx(4.0, abs=0.5)
    assert (video.width, video.height) == (360, 640)


def test_run_jogg_from_a_product_page_saves_an_h264_video(
    sdk: Client, shop: SampleShop, tmp_path: Path
) -> None:
    result = sdk.jobs.run(
        provider="jogg",
        product={"page_url": shop.url("page.html")},
        options={"aspect_ratio": "portrait", "length": "15"},
        download_to=tmp_path,
    )

    saved = dict(
        zip(
            (o.kind for o in result.job.outputs),
            zip(result.job.outputs, result.files, strict=True),
            strict=True,
        )
    )
    video, path = saved["video"]
    # the fast sandbox renders 15 s scripts at FAST_JOGG's length scale
    expected = 15.0 * FAST_JOGG["length_scale"]
    assert check_h264(path, video) == pytest.approx(expected, abs=0.2)
    assert video.duration_seconds == pytest.approx(expected, abs=0.2)
    check_image(saved["preview"][1], saved["preview"][0], "JPEG")


def test_an_upload_from_a_file_starts_a_job_that_succeeds(
    sdk: Client, shop: SampleShop, tmp_path: Path
) -> None:
    source = tmp_path / "bottle.png"
    source.write_bytes(shop.images["png"])

    upload = sdk.uploads.create_from_file(source, provider="prodvisual", options={"style": "lifestyle"})

    assert upload.status == "started"
    assert upload.key.endswith("/bottle.png")
    assert upload.job_id is not None
    result = sdk.jobs.finish(upload.job_id, download_to=tmp_path / "out")
    check_image(result.files[0], result.job.outputs[0], "PNG")


def test_an_upload_of_a_file_that_is_not_an_image_fails_with_the_apis_code(
    sdk: Client, tmp_path: Path
) -> None:
    source = tmp_path / "bottle.png"
    source.write_text("hello, I am text")

    with pytest.raises(UploadFailedError) as raised:
        sdk.uploads.create_from_file(source, provider="prodvisual", options={"style": "lifestyle"})

    assert raised.value.code == "invalid_product_image"
    assert raised.value.upload.job_id is None


def test_a_batch_completes_and_reports_its_counts_as_they_change(sdk: Client, shop: SampleShop) -> None:
    image = shop.url("product.png")
    items = [
        {"provider": "prodvisual", "product": {"image_url": image}, "options": {"style": style}}
        for style in ("lifestyle", "white_bg")
    ]
    items.append(
        {"provider": "creatify", "product": {"image_url": image}, "options": {"stop_after": "image"}}
    )
    updates: list[dict[str, int]] = []

    accepted = sdk.batches.create(items, metadata={"campaign": "sdk"})
    batch = sdk.batches.wait(
        accepted.batch_id, on_update=lambda b: updates.append(dict(b.counts)), timeout=120
    )

    assert accepted.total == 3
    assert batch.counts == {"succeeded": 3}
    assert [item.job_id for item in batch.items] == accepted.job_ids
    assert batch.metadata == {"campaign": "sdk"}
    assert updates[-1] == {"succeeded": 3}
    assert all(sdk.jobs.get(job_id).outputs for job_id in accepted.job_ids)


def test_cancelling_a_running_job_ends_it_cancelled(stack: LocalStack, sdk: Client, shop: SampleShop) -> None:
    assert stack.sandboxes is not None
    with sandbox_settings(stack.sandboxes.prodvisual, processing_seconds=2.0):
        job_id = sdk.jobs.create(
            provider="prodvisual", product={"image_url": shop.url("product.png")}, options={"style": "mockup"}
        ).job_id
        deadline = time.monotonic() + 20
        while not sdk.jobs.get(job_id).provider_jobs and time.monotonic() < deadline:
            time.sleep(0.1)

        cancelled = sdk.jobs.cancel(job_id)
        final = sdk.jobs.wait(job_id, timeout=30)

    assert cancelled.status == "cancelled"
    assert final.status == "cancelled"
    assert final.outputs == []


def test_listing_iterates_every_page_newest_first(stack: LocalStack, shop: SampleShop) -> None:
    with Client(stack.api_url, fresh_tenant(stack)) as client:
        spec = {"image_url": shop.url("product.png")}
        created = [
            client.jobs.create(provider="prodvisual", product=spec, options={"style": "mockup"}).job_id
            for _ in range(5)
        ]

        listed = [summary.job_id for summary in client.jobs.list(page_size=2)]
        first_page = client.jobs.list_page(limit=2)

    assert listed == created[::-1]
    assert len(first_page.jobs) == 2
    assert first_page.next_cursor is not None


def test_the_same_idempotency_key_creates_one_job(sdk: Client, shop: SampleShop) -> None:
    key = f"sdk-{uuid.uuid4()}"
    spec = {
        "provider": "prodvisual",
        "product": {"image_url": shop.url("product.png")},
        "options": {"style": "mockup"},
    }

    first = sdk.jobs.create(**spec, idempotency_key=key)
    again = sdk.jobs.create(**spec, idempotency_key=key)

    assert again.job_id == first.job_id


def test_api_errors_arrive_as_typed_exceptions(stack: LocalStack, sdk: Client, shop: SampleShop) -> None:
    with pytest.raises(NotFoundError) as missing:
        sdk.jobs.get("no-such-job")
    with pytest.raises(ValidationError) as invalid:
        sdk.jobs.create(provider="prodvisual", product={"image_url": shop.url("product.png")}, options={})
    with Client(stack.api_url, "wrong-key") as stranger, pytest.raises(AuthenticationError) as refused:
        stranger.providers.list()

    assert (missing.value.status, missing.value.code) == (404, "not_found")
    assert invalid.value.code == "validation_error"
    assert any("style" in detail["path"] for detail in invalid.value.details)
    assert (refused.value.status, refused.value.code) == (401, "unauthorized")


def test_a_download_that_does_not_match_its_reported_hash_is_refused(
    sdk: Client, shop: SampleShop, tmp_path: Path
) -> None:
    job = sdk.jobs.run(
        provider="prodvisual", product={"image_url": shop.url("product.png")}, options={"style": "mockup"}
    ).job
    wrong = job.outputs[0].model_copy(update={"sha256": "0" * 64})

    with pytest.raises(DownloadIntegrityError):
        sdk.download(wrong, tmp_path)

    assert list(tmp_path.iterdir()) == []
    assert sdk.download(job.outputs[0], tmp_path).stat().st_size == job.outputs[0].bytes


def test_the_async_client_runs_a_job_to_its_files(
    stack: LocalStack, shop: SampleShop, tmp_path: Path
) -> None:
    async def main() -> list[Path]:
        async with AsyncClient(stack.api_url, stack.api_key) as client:
            result = await client.jobs.run(
                provider="prodvisual",
                product={"image_url": shop.url("product.png")},
                options={"style": "lifestyle", "format": "jpeg"},
                download_to=tmp_path,
            )
            return result.files

    [saved] = asyncio.run(main())

    assert saved.suffix == ".jpg"
    with saved.open("rb") as data:
        assert data.read(3) == b"\xff\xd8\xff"


def test_the_webhook_mediajobs_sends_for_a_job_verifies_with_the_tenants_secret(
    stack: LocalStack, shop: SampleShop
) -> None:
    receiver = WebhookReceiver()
    secret = generate_secret()
    key = fresh_tenant(stack)
    stack.set_tenant_webhooks(f"tenant-{key}", url=None, secrets=[secret])
    try:
        with Client(stack.api_url, key) as client:
            job = client.jobs.run(
                provider="prodvisual",
                product={"image_url": shop.url("product.png")},
                options={"style": "mockup"},
                webhook_url=receiver.url("sdk"),
                webhook_events_filter=["job.succeeded"],  # the final event only, no job.progress
            ).job
        deadline = time.monotonic() + 30
        while not receiver.deliveries and time.monotonic() < deadline:
            time.sleep(0.1)
        [delivery] = receiver.deliveries

        event = webhooks.verify(delivery.body, delivery.headers, secret)

        assert event.type == "job.succeeded"
        assert event.webhook_id == delivery.headers["webhook-id"]
        assert event.job().job_id == job.job_id
        assert [o.sha256 for o in event.job().outputs] == [o.sha256 for o in job.outputs]
        with pytest.raises(WebhookVerificationError):
            webhooks.verify(delivery.body.replace(b"succeeded", b"failed"), delivery.headers, secret)
    finally:
        receiver.stop()


def test_a_preview_only_job_is_continued_to_its_video_and_a_job_is_regenerated_in_another_style(
    sdk: Client, shop: SampleShop, tmp_path: Path
) -> None:
    image = {"image_url": shop.url("product.png")}
    preview = sdk.jobs.run(provider="creatify", product=image, options={"stop_after": "image"}).job
    shot = sdk.jobs.run(provider="prodvisual", product=image, options={"style": "white_bg"}).job

    continued = sdk.jobs.finish(sdk.jobs.video(preview.job_id).job_id, download_to=tmp_path / "video")
    restyled = sdk.jobs.finish(sdk.jobs.regenerate(shot.job_id, style="lifestyle").job_id)

    assert [o.kind for o in preview.outputs] == ["preview"]
    assert continued.job.continued_from == preview.job_id
    video = next(o for o in continued.job.outputs if o.kind == "video")
    check_h264(next(p for p in continued.files if p.suffix == ".mp4"), video)
    assert restyled.job.regenerated_from == shot.job_id
    assert restyled.job.outputs[0].sha256 != shot.outputs[0].sha256
