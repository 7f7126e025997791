"""Creatify product-to-video: adapter, document models and error mapping."""

from mediajobs.providers.creatify.adapter import (
    STAGE_IMAGE,
    STAGE_VIDEO,
    STAGES,
    STATE_TABLE,
    CreatifyAdapter,
    to_task,
)
from mediajobs.providers.creatify.errors import STATUS_KINDS, map_error
from mediajobs.providers.creatify.models import (
    MAX_IDS_PER_LIST,
    MAX_URL_LENGTH,
    AspectRatio,
    CreatifyOptions,
    GenImageRequest,
    GenVideoRequest,
    MotionStyle,
    ProductToVideo,
    ProductToVideoStatus,
    ProductToVideoType,
    RegenImageRequest,
    RegenType,
    RegenVideoRequest,
)

#: the provider's options model our public API embeds
Options = CreatifyOptions

__all__ = [
    "MAX_IDS_PER_LIST",
    "MAX_URL_LENGTH",
    "STAGES",
    "STAGE_IMAGE",
    "STAGE_VIDEO",
    "STATE_TABLE",
    "STATUS_KINDS",
    "AspectRatio",
    "CreatifyAdapter",
    "CreatifyOptions",
    "GenImageRequest",
    "GenVideoRequest",
    "MotionStyle",
    "Options",
    "ProductToVideo",
    "ProductToVideoStatus",
    "ProductToVideoType",
    "RegenImageRequest",
    "RegenType",
    "RegenVideoRequest",
    "map_error",
    "to_task",
]
