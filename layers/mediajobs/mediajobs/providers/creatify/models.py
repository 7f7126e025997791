"""Creatify product-to-video models, field by field from the guide and the GET reference.

Response models ignore fields they do not know (Creatify adds fields); request models and
:class:`CreatifyOptions` forbid them so a typo fails here rather than being silently dropped.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

#: the reference's "Maximum length: 200" on product_url and webhook_url
MAX_URL_LENGTH = 200
#: ``GET /api/product_to_videos/?ids=`` takes at most this many comma-separated ids
MAX_IDS_PER_LIST = 100


class ProductToVideoType(StrEnum):
    PRODUCT_ANYSHOT = "product_anyshot"
    PRODUCT_AVATAR = "product_avatar"


class AspectRatio(StrEnum):
    PORTRAIT_9X16 = "9x16"
    LANDSCAPE_16X9 = "16x9"
    SQUARE_1X1 = "1x1"

    @property
    def ratio(self) -> float:
        """Width divided by height."""
        width, height = (int(part) for part in self.value.split("x"))
        return width / height


class MotionStyle(StrEnum):
    TALKING = "talking"
    DISPLAY = "display"


class ProductToVideoStatus(StrEnum):
    INITIALIZING = "initializing"
    IMAGE_GENERATING = "image_generating"
    IMAGE_GENERATED = "image_generated"
    VIDEO_GENERATING = "video_generating"
    VIDEO_GENERATED = "video_generated"
    FAILED = "failed"


class RegenType(StrEnum):
    """Values of ``regen_type`` seen in the guide's callbacks (the field itself is a free string)."""

    REGEN_IMAGE = "regen_image"
    REGEN_VIDEO = "regen_video"


def _empty_as_none(value: Any) -> Any:
    # the guide's payloads carry motion_style "" for "not set"
    return None if value == "" else value


Url200 = Annotated[str, Field(max_length=MAX_URL_LENGTH)]
OptionalMotionStyle = Annotated[MotionStyle | None, BeforeValidator(_empty_as_none)]


class ProductToVideo(BaseModel):
    """One product-to-video task, as ``GET /api/product_to_videos/{id}/`` and every callback return it.

    The reference marks ``generated_video_url``, ``generated_photo_url``, ``failed_reason``,
    ``regen_type`` and ``regen_source_id`` as required strings, yet its own callback examples carry
    ``null`` for them (and a task that has not produced anything cannot have the URLs), so they are
    ``str | None`` with default ``None``. ``regen_source_id`` stays a plain string because the
    examples put ``"<string>"`` there, not a UUID.
    """

    model_config = ConfigDict(extra="ignore", defer_build=True)

    id: UUID
    type: ProductToVideoType = ProductToVideoType.PRODUCT_ANYSHOT
    product_url: Url200
    aspect_ratio: AspectRatio = AspectRatio.LANDSCAPE_16X9
    override_avatar: UUID | None = None
    motion_style: OptionalMotionStyle = None
    product_showcase_url: str | None = None
    image_prompt: str | None = None
    video_prompt: str | None = None
    status: ProductToVideoStatus
    generated_video_url: str | None = None
    generated_photo_url: str | None = None
    created_at: datetime
    updated_at: datetime
    webhook_url: Url200 | None = None
    failed_reason: str | None = None
    regen_type: str | None = None
    regen_source_id: str | None = None


class _Request(BaseModel):
    # built on first use: a function talks to one provider, and only its models are needed
    model_config = ConfigDict(extra="forbid", defer_build=True)


class GenImageRequest(_Request):
    """``POST /api/product_to_videos/gen_image/``: creates the task and starts its preview image.

    The guide's example sends only ``product_url`` and ``webhook_url``; the other fields are the
    task's writable fields from the reference, sent when set.
    """

    product_url: Url200
    webhook_url: Url200 | None = None
    type: ProductToVideoType | None = None
    aspect_ratio: AspectRatio | None = None
    override_avatar: UUID | None = None
    motion_style: OptionalMotionStyle = None
    product_showcase_url: str | None = None
    image_prompt: str | None = None
    video_prompt: str | None = None


class RegenImageRequest(_Request):
    """``POST /api/product_to_videos/{id}/regen_image/``: a new task with a new preview image."""

    image_prompt: str | None = None
    webhook_url: Url200 | None = None


class GenVideoRequest(_Request):
    """``POST /api/product_to_videos/{id}/gen_video/``: the video of the same task from its preview."""

    video_prompt: str | None = None
    webhook_url: Url200 | None = None


class RegenVideoRequest(_Request):
    """``POST /api/product_to_videos/{id}/regen_video/``: a new task with a new video."""

    video_prompt: str | None = None
    webhook_url: Url200 | None = None


class CreatifyOptions(BaseModel):
    """The Creatify options our public API accepts for a job.

    ``stop_after="image"`` ends the job with the preview image (no ``gen_video``).
    """

    model_config = ConfigDict(extra="forbid")

    type: ProductToVideoType = ProductToVideoType.PRODUCT_ANYSHOT
    aspect_ratio: AspectRatio = AspectRatio.LANDSCAPE_16X9
    override_avatar: UUID | None = None
    motion_style: OptionalMotionStyle = None
    product_showcase_url: str | None = None
    image_prompt: str | None = None
    video_prompt: str | None = None
    stop_after: Literal["image", "video"] = "video"
