"""An upload request is the job request of POST /v1/jobs without the product image URL."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mediajobs.api.errors import from_domain
from mediajobs.api.upload_schemas import (
    CreatifyUploadRequest,
    JoggUploadRequest,
    ProdVisualUploadRequest,
)
from mediajobs.errors import DomainError
from mediajobs.uploads.models import UPLOAD_REQUEST
from mediajobs.uploads.service import safe_filename


def test_given_a_creatify_spec_without_image_when_validated_then_it_is_accepted() -> None:
    request = UPLOAD_REQUEST.validate_python({"provider": "creatify", "options": {"aspect_ratio": "9x16"}})

    assert isinstance(request, CreatifyUploadRequest)
    assert request.product.image_url is None


def test_given_a_prodvisual_spec_without_product_when_validated_then_it_is_accepted() -> None:
    request = UPLOAD_REQUEST.validate_python({"provider": "prodvisual", "options": {"style": "mockup"}})

    assert isinstance(request, ProdVisualUploadRequest)


def test_given_an_image_url_when_validated_then_it_is_refused_at_product_image_url() -> None:
    body = {
        "provider": "prodvisual",
        "product": {"image_url": "https://shop.example.com/p.png"},
        "options": {"style": "mockup"},
    }

    with pytest.raises(ValidationError) as caught:
        UPLOAD_REQUEST.validate_python(body)

    (error,) = caught.value.errors()
    assert error["loc"] == ("prodvisual", "product", "image_url")
    assert "the file you upload is the product image" in error["msg"]


def test_given_a_jogg_spec_without_page_or_title_when_validated_then_jogg_s_own_rule_refuses_it() -> None:
    with pytest.raises(ValidationError, match=r"jogg needs product\.page_url"):
        UPLOAD_REQUEST.validate_python({"provider": "jogg", "product": {}})


def test_given_provider_options_of_another_provider_when_validated_then_they_are_refused() -> None:
    with pytest.raises(ValidationError, match="style"):
        UPLOAD_REQUEST.validate_python({"provider": "prodvisual", "options": {"aspect_ratio": "9x16"}})


@pytest.mark.parametrize(
    "spec",
    [
        {"provider": "creatify", "options": {"video_prompt": "slow pan"}, "metadata": {"sku": "A-1"}},
        {"provider": "jogg", "product": {"title": "Bottle", "description": "Cold for 24 h"}},
        {"provider": "prodvisual", "options": {"style": "lifestyle"}, "webhook_url": "https://c.example/h"},
    ],
)
def test_given_a_valid_spec_when_stored_as_json_then_it_validates_again_unchanged(
    spec: dict[str, Any],
) -> None:
    request = UPLOAD_REQUEST.validate_python(spec)

    again = UPLOAD_REQUEST.validate_json(request.model_dump_json(exclude_none=True))

    assert again == request
    assert isinstance(again, CreatifyUploadRequest | JoggUploadRequest | ProdVisualUploadRequest)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "product"),
        ("bottle.png", "bottle.png"),
        ("C:\\photos\\my bottle (1).JPG", "my-bottle-1-.JPG"),
        ("../../etc/passwd", "passwd"),
        ("...", "product"),
        ("flaschen ä.webp", "flaschen-.webp"),
    ],
)
def test_given_a_client_file_name_when_made_safe_then_only_a_plain_last_part_remains(
    given: str | None, expected: str
) -> None:
    assert safe_filename(given) == expected


def test_given_a_json_file_name_when_made_safe_then_it_is_refused_as_a_sidecar_name() -> None:
    with pytest.raises(DomainError) as caught:
        safe_filename("spec.JSON")

    assert (from_domain(caught.value).status, from_domain(caught.value).code) == (422, "validation_error")
