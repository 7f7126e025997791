"""Each provider's whole flow through the API: create, wait for succeeded, download every output."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import av
import httpx
import pytest
from local.sample_shop import SampleShop
from PIL import Image

from tests.e2e.conftest import Client


def image_url(shop: SampleShop) -> str:
    return shop.url("product.png")


def download(output: dict[str, Any]) -> bytes:
    answer = httpx.get(output["download_url"], timeout=30.0)
    assert answer.status_code == 200
    data = answer.content
    assert len(data) == output["bytes"]
    assert hashlib.sha256(data).hexdigest() == output["sha256"]
    return data


def check_image(output: dict[str, Any], fmt: str) -> Image.Image:
    image = Image.open(io.BytesIO(download(output)))
    assert image.format == fmt
    assert output["content_type"] == Image.MIME[fmt]
    assert (image.width, image.height) == (output["width"], output["height"])
    return image


def check_video(output: dict[str, Any], size: tuple[int, int], seconds: float) -> None:
    data = download(output)
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == size == (output["width"], output["height"])
        duration = float(container.duration or 0) / 1_000_000
    assert output["content_type"] == "video/mp4"
    assert output["codec"] == "h264"
    assert duration == pytest.approx(seconds, abs=0.5)
    assert output["duration_seconds"] == pytest.approx(duration, abs=0.2)


def test_prodvisual_job_succeeds_with_the_requested_image(client: Client, shop: SampleShop) -> None:
    job = client.run(
        {
            "provider": "prodvisual",
            "product": {"image_url": image_url(shop)},
            "options": {"style": "white_bg", "dimensions": "800x600", "format": "webp", "quality": 80},
            "metadata": {"sku": "AUR-750"},
        }
    )

    assert job["status"] == "succeeded", job.get("error")
    assert [o["kind"] for o in job["outputs"]] == ["image"]
    image = check_image(job["outputs"][0], "WEBP")
    assert image.size == (800, 600)
    assert job["metadata"] == {"sku": "AUR-750"}
    assert job["provider_jobs"][0]["provider_job_id"].startswith("gen_")
    assert job["credits_used"] == 1
    assert job["timeline"][0]["status"] == "queued"
    assert job["timeline"][-1]["status"] == "succeeded"


def test_creatify_job_archives_preview_and_video_in_the_requested_aspect_ratio(
    client: Client, shop: SampleShop
) -> None:
    job = client.run(
        {
            "provider": "creatify",
            "product": {"image_url": image_url(shop)},
            "options": {"aspect_ratio": "9x16"},
        }
    )

    assert job["status"] == "succeeded", job.get("error")
    outputs = {o["kind"]: o for o in job["outputs"]}
    assert set(outputs) == {"preview", "video"}
    preview = check_image(outputs["preview"], "JPEG")
    assert preview.height > preview.width
    check_video(outputs["video"], (360, 640), 4.0)
    stages = [(p["stage"], p["provider_status"]) for p in job["provider_jobs"]]
    assert stages == [("image", "image_generated"), ("video", "video_generated")]


def test_jogg_job_from_a_product_page_makes_a_video_of_its_length_class(
    client: Client, shop: SampleShop
) -> None:
    job = client.run(
        {
            "provider": "jogg",
            "product": {"page_url": shop.url("page.html"), "target_audience": "hikers"},
            "options": {"aspect_ratio": "portrait", "length": "15"},
        }
    )

    assert job["status"] == "succeeded", job.get("error")
    outputs = {o["kind"]: o for o in job["outputs"]}
    check_video(outputs["video"], (360, 640), 15.0)
    check_image(outputs["preview"], "JPEG")
    assert [p["stage"] for p in job["provider_jobs"]] == ["product", "video"]
    assert job["credits_used"] == pytest.approx(1.0)
