"""ProdVisual models: every example in the document parses; requests and options refuse bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from mediajobs.providers.prodvisual import (
    DOCUMENTED_STYLES,
    MAX_BATCH_ITEMS,
    BatchRequest,
    BatchResponse,
    CreditsResponse,
    ErrorBody,
    GenerateRequest,
    GenerateResponse,
    GenerationItem,
    GenerationState,
    GenerationStatus,
    OutputFormat,
    Platform,
    ProdVisualOptions,
    StylesResponse,
    WebhookPayload,
)

DOCS = Path(__file__).parents[2] / "fixtures" / "provider_docs" / "prodvisual"


def _strip_jsonc(text: str) -> str:
    """Drop ``//`` comments and the trailing commas they leave, outside strings (URLs keep ``//``)."""
    out: list[str] = []
    in_string = escaped = False
    index = 0
    while index < len(text):
        char = text[index]
        if in_string:
            out.append(char)
            escaped = char == "\\" and not escaped
            in_string = not (char == '"' and not escaped)
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("//", index):
            index = text.find("\n", index)
            if index < 0:
                break
            continue
        elif char in "]}":
            while out and out[-1].isspace():
                out.pop()
            if out and out[-1] == ",":
                out.pop()
            out.append(char)
        else:
            out.append(char)
        index += 1
    return "".join(out)


def load_example(name: str) -> Any:
    """A documented example; ``.jsonc`` files keep the document's ``//`` comments verbatim."""
    text = (DOCS / name).read_text()
    return json.loads(_strip_jsonc(text) if name.endswith(".jsonc") else text)


VALID_ITEM: dict[str, Any] = {"image_url": "https://example.com/p.jpg", "style": "lifestyle"}


# -- documented examples -------------------------------------------------------------------------


def test_given_documented_generate_request_when_parsed_then_fields_match() -> None:
    request = GenerateRequest.model_validate(load_example("generate-request.json"))

    assert request.platform is Platform.AMAZON
    assert request.format is OutputFormat.PNG
    assert request.style == "lifestyle"


def test_given_documented_generate_response_when_parsed_then_output_and_credits_are_read() -> None:
    response = GenerateResponse.model_validate(load_example("generate-response.json"))

    assert response.status is GenerationState.COMPLETED
    assert response.output_url == "https://cdn.prodvisual.com/output/gen_7kX2mP9qR4.png"
    assert (response.file_size, response.credits_used, response.credits_remaining) == (847293, 1, 49)
    assert response.expires_at is not None
    assert response.created_at is not None
    assert (response.expires_at - response.created_at).days == 7


def test_given_documented_batch_request_when_parsed_then_three_items_and_webhook() -> None:
    request = BatchRequest.model_validate(load_example("batch-request.json"))

    assert [item.style for item in request.items] == ["lifestyle", "white_bg", "mockup"]
    assert request.webhook_url == "https://yoursite.com/webhook/prodvisual"


def test_given_documented_batch_response_when_parsed_then_credits_are_per_item() -> None:
    response = BatchResponse.model_validate(load_example("batch-response.json"))

    assert response.status is GenerationState.PROCESSING
    assert response.total_items == response.credits_used == 3
    assert response.results_url == "https://api.prodvisual.com/v1/generations/batch_Qx8mR2kP"


def test_given_documented_styles_excerpt_when_parsed_then_documented_styles_are_listed() -> None:
    response = StylesResponse.model_validate(load_example("styles-response-excerpt.jsonc"))

    assert tuple(style.id for style in response.styles) == DOCUMENTED_STYLES
    assert response.total == 22


def test_given_documented_credits_response_when_parsed_then_last_purchase_is_read() -> None:
    response = CreditsResponse.model_validate(load_example("credits-response.json"))

    assert response.credits_remaining == 142
    assert response.last_purchase is not None
    assert response.last_purchase.amount == 100


def test_given_documented_generation_status_when_parsed_then_completed_with_output() -> None:
    status = GenerationStatus.model_validate(load_example("generation-status-response.jsonc"))

    assert status.status is GenerationState.COMPLETED
    assert status.output_url is not None
    assert status.items is None


def test_given_documented_webhook_payload_when_parsed_then_data_is_read() -> None:
    payload = WebhookPayload.model_validate(load_example("webhook-payload-generation-completed.json"))

    assert payload.event == "generation.completed"
    assert payload.data.id == "gen_7kX2mP9qR4"
    assert payload.data.credits_used == 1


def test_given_documented_error_body_when_parsed_then_code_message_status_are_read() -> None:
    body = ErrorBody.model_validate(load_example("error-insufficient-credits.json"))

    assert (body.error.code, body.error.status) == ("insufficient_credits", 402)
    assert body.error.message.startswith("Your account has 0 credits")


def test_given_response_with_unknown_fields_when_parsed_then_they_are_ignored() -> None:
    body = load_example("generate-response.json") | {"seed": 42, "platform": "tiktok_shop"}

    response = GenerateResponse.model_validate(body)

    assert response.platform == "tiktok_shop"


def test_given_batch_status_shape_when_parsed_then_items_are_generations() -> None:
    item = load_example("generation-status-response.jsonc")
    body = {"id": "batch_1", "status": "completed", "total_items": 1, "items": [item]}

    status = GenerationStatus.model_validate(body)

    assert status.items is not None
    assert status.items[0].output_url == item["output_url"]


# -- request validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image_url", "https://example.com/" + "a" * 2100),
        ("image_url", "ftp://example.com/p.jpg"),
        ("style", "s" * 65),
        ("style", ""),
        ("platform", "tiktok"),
        ("format", "gif"),
        ("quality", 0),
        ("quality", 101),
        ("dimensions", "1500*1500"),
        ("dimensions", "0x100"),
        ("background", "#fff"),
        ("background", "red"),
        ("webhook_url", "not a url"),
        ("seed", 42),
    ],
)
def test_given_bad_field_when_generate_request_is_built_then_it_is_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        GenerateRequest.model_validate(VALID_ITEM | {field: value})

    assert caught.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize("platform", ["woocommerce", "mercadolibre"])
def test_given_changelog_platform_when_request_is_built_then_it_is_accepted(platform: str) -> None:
    request = GenerateRequest.model_validate(VALID_ITEM | {"platform": platform})

    assert request.platform == platform


@pytest.mark.parametrize("count", [0, MAX_BATCH_ITEMS + 1])
def test_given_batch_outside_1_to_50_items_when_built_then_it_is_refused(count: int) -> None:
    with pytest.raises(ValidationError, match="items"):
        BatchRequest(items=[GenerationItem.model_validate(VALID_ITEM)] * count)


def test_given_fifty_items_when_batch_is_built_then_it_is_accepted() -> None:
    batch = BatchRequest(items=[GenerationItem.model_validate(VALID_ITEM)] * MAX_BATCH_ITEMS)

    assert len(batch.items) == MAX_BATCH_ITEMS


def test_given_batch_item_with_its_own_webhook_when_built_then_it_is_refused() -> None:
    with pytest.raises(ValidationError, match="webhook_url"):
        BatchRequest.model_validate({"items": [VALID_ITEM | {"webhook_url": "https://x.example/h"}]})


# -- our options ---------------------------------------------------------------------------------


def test_given_options_with_unknown_field_when_validated_then_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        ProdVisualOptions.model_validate({"style": "lifestyle", "aspect_ratio": "1:1"})


def test_given_options_without_style_when_validated_then_refused() -> None:
    with pytest.raises(ValidationError, match="style"):
        ProdVisualOptions.model_validate({"platform": "amazon"})


def test_given_transparent_background_with_jpeg_when_options_validated_then_refused() -> None:
    with pytest.raises(ValidationError, match="transparent"):
        ProdVisualOptions(style="white_bg", background="transparent", format=OutputFormat.JPEG)


def test_given_options_when_turned_into_request_then_only_given_fields_are_sent() -> None:
    options = ProdVisualOptions(style="mockup", platform=Platform.ETSY, quality=80)

    request = options.to_request("https://example.com/p.png", "https://hooks.example/pv")

    assert request.model_dump(mode="json", exclude_none=True) == {
        "image_url": "https://example.com/p.png",
        "style": "mockup",
        "platform": "etsy",
        "quality": 80,
        "webhook_url": "https://hooks.example/pv",
    }
