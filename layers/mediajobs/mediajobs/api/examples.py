"""Request examples of the OpenAPI document: one job body per provider, an upload, a batch.

Each example is a plain dict of Powertools' ``Example`` fields (``summary``, ``value``): Powertools
validates them into its OpenAPI models when the document is made, so they are not imported at cold
start.

Each is a request the API accepts as it is; every option is one the provider's document (and the
local stack's sandbox) knows. Only the product URLs are placeholders for your own.
"""

from __future__ import annotations

from typing import Any

PRODUCT_IMAGE = "https://shop.example.com/media/kettle.png"
PRODUCT_PAGE = "https://shop.example.com/products/kettle"

PRODVISUAL_JOB: dict[str, Any] = {
    "provider": "prodvisual",
    "product": {"image_url": PRODUCT_IMAGE},
    "options": {"style": "lifestyle", "platform": "amazon", "format": "png"},
    "metadata": {"sku": "KETTLE-01"},
}
CREATIFY_JOB: dict[str, Any] = {
    "provider": "creatify",
    "product": {"image_url": PRODUCT_IMAGE, "title": "Steel kettle"},
    "options": {"aspect_ratio": "9x16", "video_prompt": "slow turntable on a kitchen counter"},
}
JOGG_JOB: dict[str, Any] = {
    "provider": "jogg",
    "product": {"page_url": PRODUCT_PAGE, "target_audience": "home cooks"},
    "options": {"aspect_ratio": "landscape", "length": "15", "script_style": "Discovery"},
}


def example(summary: str, value: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI example object (Powertools' ``Example``: summary and value)."""
    return {"summary": summary, "value": value}


JOB_EXAMPLES: dict[str, dict[str, Any]] = {
    "prodvisual": example(summary="ProdVisual: a lifestyle image for Amazon", value=PRODVISUAL_JOB),
    "creatify": example(summary="Creatify: a vertical product video with a prompt", value=CREATIFY_JOB),
    "jogg": example(summary="JoggAI: an avatar video from the product page", value=JOGG_JOB),
}

UPLOAD_EXAMPLES: dict[str, dict[str, Any]] = {
    "prodvisual": example(
        summary="ProdVisual on the image you upload (no product.image_url)",
        value={"provider": "prodvisual", "product": {}, "options": {"style": "white_bg", "format": "jpeg"}},
    ),
}

BATCH_EXAMPLES: dict[str, dict[str, Any]] = {
    "mixed": example(
        summary="Two ProdVisual styles (one provider batch) and a Creatify preview image",
        value={
            "items": [
                {
                    "provider": "prodvisual",
                    "product": {"image_url": PRODUCT_IMAGE},
                    "options": {"style": "mockup"},
                },
                {
                    "provider": "prodvisual",
                    "product": {"image_url": PRODUCT_IMAGE},
                    "options": {"style": "hero_banner"},
                },
                {
                    "provider": "creatify",
                    "product": {"image_url": PRODUCT_IMAGE},
                    "options": {"stop_after": "image"},
                },
            ],
            "metadata": {"campaign": "spring"},
        },
    ),
}
