"""JoggAI v2 request and response models, field by field from the provider's documents.

Sources: the OpenAPI document of ``POST /v2/create_video_from_product`` (``shared/provider-docs/
jogg-create-video-from-product-v2.txt``), and JoggAI's public v2 reference for ``POST /v2/product``,
``PUT /v2/product`` and ``GET /v2/product_video/{id}``. Request models forbid unknown fields so a
typo fails here, not at the provider; response models ignore fields JoggAI adds.

JoggAI documents no length limits for any field, so the provider models carry none. Our own
:class:`JoggOptions` bounds its free-text fields, because our API must not accept unbounded text.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Request(BaseModel):
    # built on first use: a function talks to one provider, and only its models are needed
    model_config = ConfigDict(extra="forbid", defer_build=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)


class BusinessCode(IntEnum):
    """``code`` of the ``{code, msg, data}`` envelope every JoggAI answer carries."""

    SUCCESS = 0
    RECORD_NOT_FOUND = 10104
    INVALID_API_KEY = 10105
    INSUFFICIENT_CREDIT = 18020
    NO_PERMISSION = 18025
    PARAMETER_ERROR = 40000
    SYSTEM_ERROR = 50000


class AspectRatio(StrEnum):
    PORTRAIT = "portrait"
    LANDSCAPE = "landscape"
    SQUARE = "square"


class VideoLength(StrEnum):
    """Video length class in seconds; JoggAI sends it as a string."""

    SECONDS_15 = "15"
    SECONDS_30 = "30"
    SECONDS_60 = "60"


class AvatarType(IntEnum):
    PUBLIC = 0
    CUSTOM = 1


class ScriptStyle(StrEnum):
    DONT_WORRY = "Don't Worry"
    STORYTIME = "Storytime"
    DISCOVERY = "Discovery"
    DATA = "Data"
    TOP_3_REASONS = "Top 3 reasons"
    LIGHT_MARKETING = "Light marketing"


class MediaType(IntEnum):
    """Product media kinds. Only images (1) are documented, and only images are what we send."""

    IMAGE = 1


class ProductVideoStatus(StrEnum):
    """Statuses of ``GET /v2/product_video/{id}``; the create answer uses the last three."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


# -- the envelope ---------------------------------------------------------------------------------


class JoggEnvelope(_Response):
    """``{code, msg, data}``: ``code`` 0 is success, anything else a business error."""

    code: int
    msg: str
    data: Any = None


# -- POST /v2/product, PUT /v2/product --------------------------------------------------------------


class ProductMediaInput(_Request):
    type: MediaType
    url: str
    name: str | None = None
    description: str | None = None


class CreateProductRequest(_Request):
    """``POST /v2/product``: from a page ``url`` (JoggAI crawls it) and/or from details."""

    url: str | None = None
    name: str | None = None
    description: str | None = None
    target_audience: str | None = None
    media: list[ProductMediaInput] | None = None

    @model_validator(mode="after")
    def _name_or_url(self) -> Self:
        if not self.url and not self.name:
            raise ValueError("name is required when there is no url")
        return self


class UpdateProductRequest(_Request):
    """``PUT /v2/product``: fields left out keep their value."""

    product_id: Annotated[str, Field(min_length=1)]
    name: str | None = None
    description: str | None = None
    target_audience: str | None = None
    media: list[ProductMediaInput] | None = None


class ProductMedia(_Response):
    type: int
    url: str
    name: str | None = None
    description: str | None = None


class ProductData(_Response):
    """``data`` of the ``POST /v2/product`` answer."""

    product_id: str
    url: str | None = None
    name: str | None = None
    description: str | None = None
    target_audience: str | None = None
    media: list[ProductMedia] | None = None


# -- POST /v2/create_video_from_product ------------------------------------------------------------


class VideoSpec(_Request):
    aspect_ratio: AspectRatio = AspectRatio.LANDSCAPE
    length: VideoLength
    caption: bool | None = None
    name: str | None = None


class AvatarConfig(_Request):
    id: int
    type: AvatarType | None = None


class VoiceConfig(_Request):
    id: str | None = None


class AudioConfig(_Request):
    music_id: Annotated[int | None, Field(ge=0)] = None


class ScriptConfig(_Request):
    style: ScriptStyle
    language: Annotated[str, Field(min_length=1)]


class CreateVideoFromProductRequest(_Request):
    """The documented body. ``voice`` and ``audio`` are required objects with optional fields."""

    product_id: Annotated[str, Field(min_length=1)]
    visual_style: str | None = None
    video_spec: VideoSpec
    avatar: AvatarConfig
    voice: VoiceConfig
    audio: AudioConfig
    script: ScriptConfig
    override_script: str | None = None
    webhook_url: str | None = None


class CreateVideoData(_Response):
    """``data`` of the create answer; the document lists processing, completed and failed."""

    video_id: str
    status: ProductVideoStatus


# -- GET /v2/product_video/{id} and the webhook -----------------------------------------------------


def _blank_is_none(value: object) -> object:
    # JoggAI's backend answers "" for a string it does not have yet; "" is never a usable URL.
    return None if value == "" else value


class ProductVideoData(_Response):
    """``data`` of ``GET /v2/product_video/{id}``. ``error_message`` is present when failed."""

    title: str | None = None
    video_url: str | None = None
    cover_url: str | None = None
    status: ProductVideoStatus
    created_at: int | None = None
    deducted_credit: float | None = None
    error_message: str | None = None

    @field_validator("video_url", "cover_url", "error_message", "title", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return _blank_is_none(value)


class WebhookEvent(StrEnum):
    VIDEO_SUCCESS = "generated_product_video_success"
    VIDEO_FAILED = "generated_product_video_failed"


class WebhookVideoData(ProductVideoData):
    video_id: str


class WebhookPayload(_Response):
    """A product-video webhook delivery (shape decided in the adapter docstring).

    ``event`` stays a plain string: JoggAI sends other events (avatar videos, ...) to the same
    endpoint, and a delivery we do not act on must still parse.
    """

    event_id: str
    event: str
    timestamp: int
    data: WebhookVideoData


# -- our API's options for a JoggAI job ---------------------------------------------------------------


class JoggOptions(BaseModel):
    """Per-job options our API accepts for JoggAI; defaults give a 15 s landscape video."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    aspect_ratio: AspectRatio = AspectRatio.LANDSCAPE
    length: VideoLength = VideoLength.SECONDS_15
    caption: bool | None = None
    video_name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    avatar_id: Annotated[int, Field(ge=0)] = 1
    avatar_type: AvatarType = AvatarType.PUBLIC
    voice_id: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    music_id: Annotated[int | None, Field(ge=0)] = None
    script_style: ScriptStyle = ScriptStyle.STORYTIME
    language: Annotated[str, Field(min_length=1, max_length=50)] = "english"
    visual_style: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    override_script: Annotated[str | None, Field(min_length=1, max_length=5000)] = None
