"""The one interface every provider adapter implements, and the normalized models it speaks.

A mediajobs job runs one or more provider *stages* (Creatify: ``image`` then ``video``; JoggAI:
``product`` then ``video``; ProdVisual: ``generate``). Each stage is a provider task with its own
provider id. Adapters translate between the provider's documents and these models:

- ``start(request)`` submits the first stage and returns its task,
- ``fetch(task_ref)`` reads a task's current state from the provider,
- ``advance(task, request)`` submits the next stage after a completed one, or returns ``None``
  when the job's provider work is done,
- ``parse_webhook(headers, body)`` verifies (where the provider signs) and parses a delivery.

Errors surface as :mod:`mediajobs.errors` domain errors, never as raw ``httpx`` exceptions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class ProviderName(StrEnum):
    CREATIFY = "creatify"
    JOGG = "jogg"
    PRODVISUAL = "prodvisual"


class TaskState(StrEnum):
    """Where one provider task is, whatever the provider calls it."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self in {TaskState.COMPLETED, TaskState.FAILED}


class OutputKind(StrEnum):
    IMAGE = "image"
    PREVIEW = "preview"
    VIDEO = "video"
    COVER = "cover"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OutputRef(_Frozen):
    """One file a provider made, still at the provider's (expiring) URL."""

    kind: OutputKind
    url: str
    expires_at: datetime | None = None


class ProviderTask(_Frozen):
    """The normalized state of one provider task (one stage of a job)."""

    provider: ProviderName
    stage: str
    task_id: str
    state: TaskState
    provider_status: str
    outputs: tuple[OutputRef, ...] = ()
    credits_used: float | None = None
    error_code: str | None = None
    error_message: str | None = None


class ProductInput(_Frozen):
    """What a job knows about the product: an image (already taken in) and/or a page."""

    image_url: str | None = None
    page_url: str | None = None
    title: Annotated[str | None, Field(max_length=500)] = None
    description: Annotated[str | None, Field(max_length=5000)] = None
    target_audience: Annotated[str | None, Field(max_length=500)] = None


class StartKind(StrEnum):
    """How a job starts from another job's provider task instead of from the product."""

    #: Creatify: a NEW task with a new preview image from the source task (``regen_image``)
    REGEN_IMAGE = "regen_image"
    #: Creatify: a NEW task with a new video from the source task's video (``regen_video``)
    REGEN_VIDEO = "regen_video"
    #: Creatify: the video of the source task's preview, on the SAME task id (``gen_video``)
    GEN_VIDEO = "gen_video"
    #: JoggAI: a new video of the source's product (``create_video_from_product``)
    RENDER = "render"


class StartFrom(_Frozen):
    """A job's first stage acts on ``source_task_id`` (a task of ``source_job_id``)."""

    kind: StartKind
    source_task_id: Annotated[str, Field(min_length=1, max_length=200)]
    source_job_id: str | None = None


class StartRequest(BaseModel):
    """Everything an adapter needs to run a job's stages.

    ``options`` is the provider's own options model (see each adapter's ``Options``), and
    ``webhook_url`` the callback URL for this job (``None``: poll only). ``start_from`` makes
    ``start`` act on an earlier job's task (regenerate, continue) instead of the product.
    """

    model_config = ConfigDict(extra="forbid")

    product: ProductInput
    options: BaseModel
    webhook_url: str | None = None
    start_from: StartFrom | None = None


class WebhookNotice(_Frozen):
    """A verified (or, for an unsigned provider, merely parsed) webhook delivery.

    ``task`` is set when the delivery is signed and complete enough to act on without asking the
    provider again; otherwise the receiver must re-fetch ``task_id`` before changing anything.
    ``event_id`` identifies the delivery for de-duplication.
    """

    provider: ProviderName
    task_id: str
    event_id: str
    task: ProviderTask | None = None


class ProviderAdapter(ABC):
    """Submit, fetch status, advance to the next stage, verify a webhook, map errors."""

    name: ProviderName

    @abstractmethod
    def start(self, request: StartRequest) -> ProviderTask:
        """Submit the first stage of a job."""

    @abstractmethod
    def fetch(self, stage: str, task_id: str) -> ProviderTask:
        """Read the current state of one task."""

    @abstractmethod
    def advance(self, completed: ProviderTask, request: StartRequest) -> ProviderTask | None:
        """Submit the stage after ``completed``; ``None`` when there is none."""

    @abstractmethod
    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookNotice:
        """Verify and parse a webhook delivery; raise ``WebhookVerificationError`` if forged."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the adapter's HTTP client."""
