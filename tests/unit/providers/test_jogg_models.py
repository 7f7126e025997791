"""JoggAI document examples parse into the models; the request and options models reject bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from mediajobs.providers.jogg import (
    AspectRatio,
    AvatarType,
    CreateProductRequest,
    CreateVideoData,
    CreateVideoFromProductRequest,
    JoggEnvelope,
    JoggOptions,
    ProductData,
    ProductVideoData,
    ProductVideoStatus,
    ScriptStyle,
    UpdateProductRequest,
    VideoLength,
    WebhookPayload,
)

DOCS = Path(__file__).resolve().parents[2] / "fixtures" / "provider_docs" / "jogg"


def load(name: str) -> Any:
    return json.loads((DOCS / name).read_text())


def valid_video_request() -> dict[str, Any]:
    body: dict[str, Any] = load("v2-create-video-from-product-request-schema-examples.json")
    return body


# -- documented examples ----------------------------------------------------------------------------


def test_given_the_schema_examples_when_parsed_as_a_create_video_request_then_every_field_is_kept() -> None:
    body = valid_video_request()

    parsed = CreateVideoFromProductRequest.model_validate(body)

    assert parsed.video_spec.aspect_ratio is AspectRatio.LANDSCAPE
    assert parsed.video_spec.length is VideoLength.SECONDS_30
    assert parsed.avatar.type is AvatarType.PUBLIC
    assert parsed.script.style is ScriptStyle.STORYTIME
    assert parsed.audio.music_id == 13
    assert parsed.model_dump(mode="json", exclude_none=True) == body


def test_given_the_curl_example_when_parsed_then_it_is_rejected_because_it_contradicts_the_schema() -> None:
    body = load("v2-create-video-from-product-request-curl-example.json")

    with pytest.raises(ValidationError) as caught:
        CreateVideoFromProductRequest.model_validate(body)

    problems = {(error["loc"][0], error["type"]) for error in caught.value.errors()}
    assert ("avatar_id", "extra_forbidden") in problems
    assert ("aspect_ratio", "extra_forbidden") in problems
    assert ("video_spec", "missing") in problems
    assert ("avatar", "missing") in problems


def test_given_the_documented_create_answer_when_parsed_then_video_id_and_status_are_read() -> None:
    envelope = JoggEnvelope.model_validate(load("v2-create-video-from-product-response-schema-examples.json"))

    data = CreateVideoData.model_validate(envelope.data)

    assert envelope.code == 0
    assert envelope.msg == "Success"
    assert data.video_id == "video_789"
    assert data.status is ProductVideoStatus.PROCESSING


@pytest.mark.parametrize(
    "name", ["url-to-video-extract-product-response.json", "url-to-video-render-response.json"]
)
def test_given_the_older_flow_answers_when_parsed_then_the_envelope_reads_success(name: str) -> None:
    envelope = JoggEnvelope.model_validate(load(name))

    assert envelope.code == 0
    assert envelope.msg == "success"


# -- the v2 product and status answers (JoggAI's public v2 reference) -----------------------------------


def test_given_a_product_answer_with_media_when_parsed_then_the_media_are_read() -> None:
    data = {
        "product_id": "NTIzMzc0NjI5",
        "url": "https://shop.example/p/1",
        "name": "Aurora",
        "description": "A bottle",
        "target_audience": "hikers",
        "media": [{"type": 1, "name": "front", "url": "https://cdn.example/1.jpg", "description": ""}],
        "added_later_by_jogg": True,
    }

    product = ProductData.model_validate(data)

    assert product.product_id == "NTIzMzc0NjI5"
    assert product.media is not None
    assert product.media[0].url == "https://cdn.example/1.jpg"


def test_given_a_processing_status_with_blank_urls_when_parsed_then_the_urls_are_none() -> None:
    data = {
        "title": "",
        "video_url": "",
        "cover_url": "",
        "status": "processing",
        "created_at": 1,
        "deducted_credit": 0,
    }

    parsed = ProductVideoData.model_validate(data)

    assert parsed.video_url is None
    assert parsed.cover_url is None
    assert parsed.status is ProductVideoStatus.PROCESSING


def test_given_an_undocumented_status_when_parsed_then_it_is_rejected() -> None:
    with pytest.raises(ValidationError):
        ProductVideoData.model_validate({"status": "rendering"})


def test_given_a_webhook_of_another_event_when_parsed_then_the_event_is_kept_as_text() -> None:
    payload = WebhookPayload.model_validate(
        {
            "event_id": "e1",
            "event": "generated_avatar_video_success",
            "timestamp": 1,
            "data": {"video_id": "v", "status": "completed"},
        }
    )

    assert payload.event == "generated_avatar_video_success"


# -- request validation ---------------------------------------------------------------------------------


def test_given_no_url_and_no_name_when_a_product_request_is_made_then_it_is_rejected() -> None:
    with pytest.raises(ValidationError, match="name is required"):
        CreateProductRequest(description="only a description")


def test_given_a_url_only_when_a_product_request_is_made_then_it_is_accepted() -> None:
    assert CreateProductRequest(url="https://shop.example/p/1").name is None


def test_given_an_update_without_product_id_when_validated_then_it_is_rejected() -> None:
    with pytest.raises(ValidationError, match="product_id"):
        UpdateProductRequest.model_validate({"name": "x"})


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("video_spec", "aspect_ratio"), "vertical"),
        (("video_spec", "length"), "45"),
        (("video_spec", "length"), 15),
        (("avatar", "type"), 2),
        (("script", "style"), "Storytime!"),
        (("audio", "music_id"), -1),
    ],
)
def test_given_an_undocumented_value_when_a_video_request_is_validated_then_it_is_rejected(
    path: tuple[str, str], value: object
) -> None:
    body = valid_video_request()
    body[path[0]][path[1]] = value

    with pytest.raises(ValidationError) as caught:
        CreateVideoFromProductRequest.model_validate(body)

    assert caught.value.errors()[0]["loc"][:2] == path


@pytest.mark.parametrize("missing", ["product_id", "video_spec", "avatar", "voice", "audio", "script"])
def test_given_a_required_field_missing_when_a_video_request_is_validated_then_it_is_rejected(
    missing: str,
) -> None:
    body = valid_video_request()
    del body[missing]

    with pytest.raises(ValidationError) as caught:
        CreateVideoFromProductRequest.model_validate(body)

    assert caught.value.errors()[0]["loc"] == (missing,)


@pytest.mark.parametrize(
    ("section", "field"),
    [("video_spec", "length"), ("avatar", "id"), ("script", "style"), ("script", "language")],
)
def test_given_a_required_nested_field_missing_when_validated_then_it_is_rejected(
    section: str, field: str
) -> None:
    body = valid_video_request()
    del body[section][field]

    with pytest.raises(ValidationError) as caught:
        CreateVideoFromProductRequest.model_validate(body)

    assert caught.value.errors()[0]["loc"] == (section, field)


# -- our options ----------------------------------------------------------------------------------------


def test_given_no_options_when_defaults_apply_then_a_15_second_landscape_storytime_video_is_asked() -> None:
    options = JoggOptions()

    assert options.aspect_ratio is AspectRatio.LANDSCAPE
    assert options.length is VideoLength.SECONDS_15
    assert options.script_style is ScriptStyle.STORYTIME
    assert options.language == "english"
    assert options.avatar_type is AvatarType.PUBLIC


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("video_name", "v" * 201),
        ("override_script", "s" * 5001),
        ("visual_style", "x" * 101),
        ("voice_id", "x" * 101),
        ("language", "l" * 51),
        ("language", ""),
    ],
)
def test_given_an_over_long_or_empty_text_option_when_validated_then_it_is_rejected(
    field: str, value: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        JoggOptions.model_validate({field: value})

    assert caught.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("aspect_ratio", "9:16"),
        ("length", "20"),
        ("script_style", "Hype"),
        ("avatar_type", 3),
        ("music_id", -1),
    ],
)
def test_given_a_bad_enum_or_range_option_when_validated_then_it_is_rejected(
    field: str, value: object
) -> None:
    with pytest.raises(ValidationError) as caught:
        JoggOptions.model_validate({field: value})

    assert caught.value.errors()[0]["loc"] == (field,)


def test_given_an_unknown_option_when_validated_then_it_is_rejected() -> None:
    with pytest.raises(ValidationError, match="extra"):
        JoggOptions.model_validate({"avatar": 3})
