"""Creatify document models: every example in the documents parses; limits and enums are enforced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel, ValidationError

from mediajobs.providers.creatify import (
    AspectRatio,
    CreatifyOptions,
    GenImageRequest,
    GenVideoRequest,
    ProductToVideo,
    ProductToVideoStatus,
    RegenImageRequest,
    RegenType,
    RegenVideoRequest,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "provider_docs" / "creatify"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


RESPONSE_EXAMPLES = {
    "reference-get-product-to-video-response.json": ProductToVideoStatus.INITIALIZING,
    "guide-callback-image-generated.json": ProductToVideoStatus.IMAGE_GENERATED,
    "guide-callback-regen-image-generated.json": ProductToVideoStatus.IMAGE_GENERATED,
    "guide-callback-video-generated.json": ProductToVideoStatus.VIDEO_GENERATED,
    "guide-callback-regen-video-generated.json": ProductToVideoStatus.VIDEO_GENERATED,
}

REQUEST_EXAMPLES: dict[str, type[BaseModel]] = {
    "guide-gen-image-request.json": GenImageRequest,
    "guide-regen-image-request.json": RegenImageRequest,
    "guide-gen-video-request.json": GenVideoRequest,
    "guide-regen-video-request.json": RegenVideoRequest,
}


def test_given_the_fixture_folder_then_every_example_file_is_covered_by_a_test() -> None:
    on_disk = {path.name for path in FIXTURES.glob("*.json")}

    assert on_disk == set(RESPONSE_EXAMPLES) | set(REQUEST_EXAMPLES)


@pytest.mark.parametrize(("name", "status"), RESPONSE_EXAMPLES.items())
def test_given_a_documented_task_body_when_parsed_then_it_keeps_id_and_status(
    name: str, status: ProductToVideoStatus
) -> None:
    raw = load(name)

    task = ProductToVideo.model_validate(raw)

    assert task.id == UUID(raw["id"])
    assert task.status is status
    assert task.aspect_ratio == AspectRatio(raw["aspect_ratio"])


@pytest.mark.parametrize(("name", "model"), REQUEST_EXAMPLES.items())
def test_given_a_documented_request_body_when_parsed_then_its_fields_round_trip(
    name: str, model: type[BaseModel]
) -> None:
    raw = load(name)

    parsed = model.model_validate(raw)

    assert parsed.model_dump(exclude_unset=True) == raw


def test_given_a_callback_with_empty_motion_style_when_parsed_then_motion_style_is_none() -> None:
    task = ProductToVideo.model_validate(load("guide-callback-image-generated.json"))

    assert task.motion_style is None


def test_given_the_reference_example_when_parsed_then_documented_optional_fields_are_kept() -> None:
    task = ProductToVideo.model_validate(load("reference-get-product-to-video-response.json"))

    assert task.override_avatar == UUID("3c90c3cc-0d44-4b50-8888-8dd25736052a")
    assert task.motion_style == "talking"
    assert task.generated_video_url == "<string>"


@pytest.mark.parametrize(
    ("name", "regen_type", "source"),
    [
        (
            "guide-callback-regen-image-generated.json",
            RegenType.REGEN_IMAGE,
            "7e5e8a6f-d0d5-4736-b390-03e696ffc969",
        ),
        (
            "guide-callback-regen-video-generated.json",
            RegenType.REGEN_VIDEO,
            "7e5e8a6f-d0d5-4736-b390-03e696ffc969",
        ),
    ],
)
def test_given_a_regen_callback_when_parsed_then_it_names_its_source_and_regen_type(
    name: str, regen_type: RegenType, source: str
) -> None:
    task = ProductToVideo.model_validate(load(name))

    assert task.regen_type == regen_type
    assert task.regen_source_id == source


def test_given_the_regen_video_example_when_parsed_then_null_video_url_is_accepted() -> None:
    # the guide's regen_video callback says video_generated with a null video URL
    task = ProductToVideo.model_validate(load("guide-callback-regen-video-generated.json"))

    assert task.generated_video_url is None


def test_given_fields_creatify_added_when_parsed_then_they_are_ignored() -> None:
    raw = load("guide-callback-video-generated.json") | {"credits_used": 5, "thumbnail": "x"}

    task = ProductToVideo.model_validate(raw)

    assert not hasattr(task, "thumbnail")


def test_given_an_unknown_status_when_parsed_then_the_task_body_is_rejected() -> None:
    raw = load("guide-callback-video-generated.json") | {"status": "queued"}

    with pytest.raises(ValidationError, match="status"):
        ProductToVideo.model_validate(raw)


def test_given_a_product_url_of_200_characters_when_building_gen_image_then_it_is_accepted() -> None:
    url = "https://e.example/" + "a" * (200 - len("https://e.example/"))

    assert GenImageRequest(product_url=url).product_url == url


def test_given_a_product_url_over_200_characters_when_building_gen_image_then_it_is_rejected() -> None:
    url = "https://e.example/" + "a" * 200

    with pytest.raises(ValidationError, match="product_url"):
        GenImageRequest(product_url=url)


@pytest.mark.parametrize("model", [GenImageRequest, RegenImageRequest, GenVideoRequest, RegenVideoRequest])
def test_given_a_webhook_url_over_200_characters_when_building_a_request_then_it_is_rejected(
    model: type[BaseModel],
) -> None:
    body: dict[str, Any] = {"webhook_url": "https://hook.example/" + "t" * 200}
    if model is GenImageRequest:
        body["product_url"] = "https://e.example/p.jpg"

    with pytest.raises(ValidationError, match="webhook_url"):
        model.model_validate(body)


@pytest.mark.parametrize("model", [GenImageRequest, RegenImageRequest, GenVideoRequest, RegenVideoRequest])
def test_given_an_undocumented_field_when_building_a_request_then_it_is_rejected(
    model: type[BaseModel],
) -> None:
    body: dict[str, Any] = {"webhook_url": "https://hook.example/", "resolution": "4k"}
    if model is GenImageRequest:
        body["product_url"] = "https://e.example/p.jpg"

    with pytest.raises(ValidationError, match="resolution"):
        model.model_validate(body)


def test_given_no_options_when_building_creatify_options_then_documented_defaults_apply() -> None:
    options = CreatifyOptions()

    assert (options.type, options.aspect_ratio, options.stop_after) == ("product_anyshot", "16x9", "video")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", "product_unboxing"),
        ("aspect_ratio", "4x3"),
        ("motion_style", "dancing"),
        ("override_avatar", "not-a-uuid"),
        ("stop_after", "preview"),
    ],
)
def test_given_an_undocumented_option_value_when_building_options_then_it_is_rejected(
    field: str, value: str
) -> None:
    with pytest.raises(ValidationError, match=field):
        CreatifyOptions.model_validate({field: value})


def test_given_an_unknown_option_when_building_options_then_it_is_rejected() -> None:
    with pytest.raises(ValidationError, match="duration"):
        CreatifyOptions.model_validate({"duration": 30})


@pytest.mark.parametrize(("ratio", "value"), [("16x9", 16 / 9), ("9x16", 9 / 16), ("1x1", 1.0)])
def test_given_an_aspect_ratio_then_its_numeric_ratio_is_width_over_height(ratio: str, value: float) -> None:
    assert AspectRatio(ratio).ratio == pytest.approx(value)
