"""What a client asks mediajobs to make: the job request every entry point validates.

``POST /v1/jobs``, batch items, uploads and S3 drops with a sidecar all take this one model, so it
belongs to the jobs capability; the HTTP edge publishes it as its request schema. A job request is
a union discriminated by ``provider``; each member embeds that provider's own options model, so
options are validated per provider from its document.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self, get_args

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from mediajobs.providers.creatify import CreatifyOptions
from mediajobs.providers.jogg import JoggOptions
from mediajobs.providers.jogg.models import ScriptStyle
from mediajobs.providers.prodvisual import ProdVisualOptions
from mediajobs.providers.prodvisual.models import (
    Background,
    Dimensions,
    OutputFormat,
    Platform,
    Quality,
    StyleId,
)

HttpUrl = Annotated[AnyHttpUrl, Field(max_length=2048)]
MetadataKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
MetadataValue = Annotated[str, Field(max_length=512)]
#: the client event types (mediajobs.notifications.models.EVENT_TYPES names the same)
WebhookEventName = Literal["job.progress", "job.succeeded", "job.failed", "job.cancelled", "batch.completed"]
WEBHOOK_EVENT_NAMES: Final = get_args(WebhookEventName)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProductRequest(_Input):
    image_url: Annotated[
        HttpUrl | None, Field(description="JPEG, PNG or WebP product image, at most 10 MB")
    ] = None
    page_url: Annotated[HttpUrl | None, Field(description="product page (JoggAI reads it)")] = None
    title: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    description: Annotated[str | None, Field(min_length=1, max_length=5000)] = None
    target_audience: Annotated[str | None, Field(min_length=1, max_length=500)] = None


class CreatifyFallback(_Input):
    provider: Literal["creatify"]
    options: CreatifyOptions = Field(default_factory=CreatifyOptions)


class JoggFallback(_Input):
    provider: Literal["jogg"]
    options: JoggOptions = Field(default_factory=JoggOptions)


class ProdVisualFallback(_Input):
    provider: Literal["prodvisual"]
    options: ProdVisualOptions


#: a provider to try, with its own options, after a verified terminal failure of the one before
FallbackRequest = Annotated[
    CreatifyFallback | JoggFallback | ProdVisualFallback, Field(discriminator="provider")
]


def check_product_suits(provider: str, product: ProductRequest) -> None:
    """Refuse a product the provider cannot work from (the main provider and every fallback)."""
    if provider in {"creatify", "prodvisual"} and product.image_url is None:
        raise ValueError(f"product.image_url is required for provider {provider}")
    if provider == "jogg" and product.page_url is None and product.title is None:
        raise ValueError("jogg needs product.page_url, or product.title (with description and image_url)")


class _JobRequest(_Input):
    product: ProductRequest
    webhook_url: Annotated[HttpUrl | None, Field(description="where to POST the job's final state")] = None
    webhook_events_filter: Annotated[
        list[WebhookEventName] | None,
        Field(
            min_length=1,
            max_length=len(WEBHOOK_EVENT_NAMES),
            description="the event types this job's webhooks carry (default: the tenant's choice, else all)",
        ),
    ] = None
    metadata: Annotated[
        dict[MetadataKey, MetadataValue],
        Field(max_length=20, description="your own keys, returned with the job"),
    ] = Field(default_factory=dict)
    external_id: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=128,
            description=(
                "your own id for the job (in a batch: unique within it); echoed in the job's view, "
                "webhooks, the batch view and its results manifest"
            ),
        ),
    ] = None
    fallback: Annotated[
        list[FallbackRequest],
        Field(
            max_length=3,
            description=(
                "providers tried in order, each only after a verified terminal failure of the one "
                "before (its generation failed, its credits ran out, or it stayed unreachable); "
                "never after a create call that got no answer"
            ),
        ),
    ] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fallbacks_suit_product(self) -> Self:
        for fallback in self.fallback:
            check_product_suits(fallback.provider, self.product)
        return self

    deadline_seconds: Annotated[
        int | None,
        Field(
            ge=1,
            le=604800,
            description="give up after this many seconds (at most the service's own deadline)",
        ),
    ] = None
    dry_run: Annotated[
        bool,
        Field(
            description=(
                "POST /v1/jobs only: answer 200 with the job's cost estimate; nothing is created "
                "and no provider is called"
            )
        ),
    ] = False

    def _require_image(self) -> None:
        if self.product.image_url is None:
            raise ValueError(f"product.image_url is required for provider {self.provider_name()}")

    def provider_name(self) -> str:
        raise NotImplementedError


class CreatifyJobRequest(_JobRequest):
    provider: Literal["creatify"]
    options: CreatifyOptions = Field(default_factory=CreatifyOptions)

    def provider_name(self) -> str:
        return "creatify"

    @model_validator(mode="after")
    def _needs_image(self) -> Self:
        self._require_image()
        return self


class JoggJobRequest(_JobRequest):
    provider: Literal["jogg"]
    options: JoggOptions = Field(default_factory=JoggOptions)

    def provider_name(self) -> str:
        return "jogg"

    @model_validator(mode="after")
    def _needs_page_or_title(self) -> Self:
        if self.product.page_url is None and self.product.title is None:
            raise ValueError("jogg needs product.page_url, or product.title (with description and image_url)")
        return self


class ProdVisualJobRequest(_JobRequest):
    provider: Literal["prodvisual"]
    options: ProdVisualOptions

    def provider_name(self) -> str:
        return "prodvisual"

    @model_validator(mode="after")
    def _needs_image(self) -> Self:
        self._require_image()
        return self


JobRequest = Annotated[
    CreatifyJobRequest | JoggJobRequest | ProdVisualJobRequest,
    Field(discriminator="provider"),
]


# -- what to change when a job is regenerated or continued ---------------------------------------

Prompt = Annotated[str, Field(min_length=1, max_length=2000)]
Script = Annotated[str, Field(min_length=1, max_length=5000)]


class RegenerateRequest(_Input):
    """What the new job changes. Which fields apply depends on the source job's provider:

    - Creatify: exactly one of ``image_prompt`` (a new preview image, then its video unless the
      source stopped after the image) and ``video_prompt`` (a new video from the source's video);
    - ProdVisual: ``style`` and optionally the other generation options (a new generation of the
      source's product image);
    - JoggAI: ``script_style`` and/or ``override_script`` (a new video of the source's product).
    """

    image_prompt: Annotated[Prompt | None, Field(description="Creatify: the new preview image's prompt")] = (
        None
    )
    video_prompt: Annotated[Prompt | None, Field(description="Creatify: the new video's prompt")] = None
    style: Annotated[
        StyleId | None, Field(description="ProdVisual: a style id of GET /v1/providers/prodvisual/styles")
    ] = None
    platform: Annotated[Platform | None, Field(description="ProdVisual")] = None
    dimensions: Annotated[Dimensions | None, Field(description="ProdVisual")] = None
    background: Annotated[Background | None, Field(description="ProdVisual")] = None
    format: Annotated[OutputFormat | None, Field(description="ProdVisual")] = None
    quality: Annotated[Quality | None, Field(description="ProdVisual")] = None
    script_style: Annotated[ScriptStyle | None, Field(description="JoggAI: the script's style")] = None
    override_script: Annotated[
        Script | None, Field(description="JoggAI: the script to speak, word for word")
    ] = None


class VideoRequest(_Input):
    """``POST /v1/jobs/{id}/video``: the video of a Creatify job that stopped after its preview."""

    video_prompt: Annotated[Prompt | None, Field(description="what the video should show")] = None
