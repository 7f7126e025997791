"""ProdVisual API v1 request and response bodies, field by field from the provider document.

Request models forbid unknown fields so a typo fails here, not at the provider; response models
ignore fields they do not know because the provider adds fields without a new version. Fields the
provider echoes back (style, platform, format) are plain strings in responses: a preset added by
the provider (as v1.1.0 added WooCommerce and Mercado Libre) must not make a finished generation
unreadable. Statuses stay enums because the adapter acts on them.

The document gives no length limits; :data:`MAX_URL_LENGTH` and :data:`MAX_STYLE_LENGTH` are ours,
generous enough for any real URL or style id and small enough to refuse garbage before a request.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_BATCH_ITEMS = 50
MAX_SOURCE_BYTES = 10 * 1024 * 1024
MAX_URL_LENGTH = 2048
MAX_STYLE_LENGTH = 64
DEFAULT_QUALITY = 90

#: the styles the document names; ``GET /v1/styles`` lists these and 14 more
DOCUMENTED_STYLES = (
    "lifestyle",
    "white_bg",
    "mockup",
    "infographic",
    "social_square",
    "social_story",
    "hero_banner",
    "comparison",
)


class Platform(StrEnum):
    """Platform presets. ``woocommerce`` and ``mercadolibre`` are the v1.1.0 changelog's presets.

    The changelog names them "WooCommerce" and "Mercado Libre" only in prose; the ids follow the
    documented ones (lowercase, no separators).
    """

    AMAZON = "amazon"
    EBAY = "ebay"
    ETSY = "etsy"
    SHOPIFY = "shopify"
    GENERIC = "generic"
    WOOCOMMERCE = "woocommerce"
    MERCADOLIBRE = "mercadolibre"


class OutputFormat(StrEnum):
    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"


class GenerationState(StrEnum):
    """``status`` of a generation or a batch."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class ErrorCode(StrEnum):
    """The ``error.code`` values of the document's error table."""

    INVALID_REQUEST = "invalid_request"
    UNAUTHORIZED = "unauthorized"
    INSUFFICIENT_CREDITS = "insufficient_credits"
    NOT_FOUND = "not_found"
    FILE_TOO_LARGE = "file_too_large"
    INVALID_IMAGE = "invalid_image"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"


class WebhookEvent(StrEnum):
    """Webhook ``event`` values. Only ``generation.completed`` is documented; the rest are ours.

    ``generation.failed`` reports a failed generation, ``batch.completed`` / ``batch.failed`` the
    one callback a batch sends when its last item is done (``failed`` only when every item failed).
    """

    GENERATION_COMPLETED = "generation.completed"
    GENERATION_FAILED = "generation.failed"
    BATCH_COMPLETED = "batch.completed"
    BATCH_FAILED = "batch.failed"


SourceUrl = Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH, pattern=r"^https?://\S+$")]
StyleId = Annotated[str, Field(min_length=1, max_length=MAX_STYLE_LENGTH)]
Dimensions = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$", description="WxH")]
Background = Annotated[str, Field(pattern=r"^(#[0-9a-fA-F]{6}|transparent)$")]
Quality = Annotated[int, Field(ge=1, le=100)]


class _Request(BaseModel):
    # built on first use: a function talks to one provider, and only its models are needed
    model_config = ConfigDict(extra="forbid", defer_build=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)


# -- requests ------------------------------------------------------------------------------------


class GenerationItem(_Request):
    """One generation: the body of ``POST /v1/generate`` without the callback, and a batch item."""

    image_url: SourceUrl
    style: StyleId
    platform: Platform | None = None
    dimensions: Dimensions | None = None
    background: Background | None = None
    format: OutputFormat | None = None
    quality: Quality | None = None


class GenerateRequest(GenerationItem):
    """``POST /v1/generate``. Without ``webhook_url`` the answer is the finished generation."""

    webhook_url: SourceUrl | None = None


class BatchRequest(_Request):
    """``POST /v1/generate/batch``: 1 to 50 items and one callback for the whole batch."""

    items: Annotated[list[GenerationItem], Field(min_length=1, max_length=MAX_BATCH_ITEMS)]
    webhook_url: SourceUrl | None = None


# -- responses -----------------------------------------------------------------------------------


class GenerationError(_Response):
    """Why a generation failed (not in the document, which shows no failed body; see the adapter)."""

    code: str
    message: str


class GenerateResponse(_Response):
    """Answer of ``POST /v1/generate``: finished at once, or pending when a webhook_url was given."""

    id: str
    status: GenerationState
    output_url: str | None = None
    style: str | None = None
    platform: str | None = None
    dimensions: str | None = None
    format: str | None = None
    file_size: int | None = None
    credits_used: int | None = None
    credits_remaining: int | None = None
    generation_time_ms: int | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    error: GenerationError | None = None


class BatchResponse(_Response):
    """Answer of ``POST /v1/generate/batch``; credits for every item are taken at submit."""

    batch_id: str
    status: GenerationState
    total_items: int
    credits_used: int
    credits_remaining: int | None = None
    estimated_time_ms: int | None = None
    results_url: str | None = None


class Style(_Response):
    id: str
    name: str
    description: str | None = None


class StylesResponse(_Response):
    """``GET /v1/styles``. ``total`` is the provider's count, not checked against ``styles``."""

    styles: list[Style]
    total: int


class LastPurchase(_Response):
    amount: int
    date: datetime


class CreditsResponse(_Response):
    """``GET /v1/account/credits``."""

    credits_remaining: int
    credits_used_total: int | None = None
    credits_used_today: int | None = None
    last_purchase: LastPurchase | None = None


class GenerationStatus(_Response):
    """``GET /v1/generations/{id}`` for a generation id or a batch id.

    The document shows only a generation. A batch answers ``{id, status, total_items,
    credits_used, created_at, items: [<generation>...]}``, each item shaped like a generation.
    """

    id: str
    status: GenerationState
    output_url: str | None = None
    generation_time_ms: int | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    style: str | None = None
    platform: str | None = None
    dimensions: str | None = None
    format: str | None = None
    file_size: int | None = None
    credits_used: int | None = None
    error: GenerationError | None = None
    total_items: int | None = None
    items: list[GenerationStatus] | None = None


class WebhookData(_Response):
    """``data`` of a webhook. A batch callback carries the batch id and its ``items``."""

    id: str
    status: GenerationState
    output_url: str | None = None
    credits_used: int | None = None
    error: GenerationError | None = None
    items: list[GenerationStatus] | None = None


class WebhookPayload(_Response):
    """A webhook body. ``event`` stays a string (see :class:`WebhookEvent` for the known ones)."""

    event: str
    data: WebhookData
    timestamp: datetime


class ErrorDetail(_Response):
    code: str
    message: str
    status: int | None = None


class ErrorBody(_Response):
    """Every error answer: ``{"error": {"code", "message", "status"}}``."""

    error: ErrorDetail


class RateLimitStatus(BaseModel):
    """``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` of one answer (``None``: header absent)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None


# -- our API -------------------------------------------------------------------------------------


class ProdVisualOptions(_Request):
    """The ProdVisual options a mediajobs client may send, checked before any provider call.

    ``style`` must be one of the ids ``GET /v1/styles`` lists (the provider answers 400 for any
    other); the list can grow, so it is not frozen into an enum here.
    """

    style: StyleId
    platform: Platform | None = None
    dimensions: Dimensions | None = None
    background: Background | None = None
    format: OutputFormat | None = None
    quality: Quality | None = None

    @model_validator(mode="after")
    def _transparency_needs_alpha(self) -> Self:
        # JPEG has no alpha channel; the default format (png) does
        if self.background == "transparent" and self.format is OutputFormat.JPEG:
            raise ValueError("background 'transparent' needs format png or webp")
        return self

    def to_request(self, image_url: str, webhook_url: str | None = None) -> GenerateRequest:
        return GenerateRequest(
            image_url=image_url,
            webhook_url=webhook_url,
            **self.model_dump(exclude_none=True),
        )
