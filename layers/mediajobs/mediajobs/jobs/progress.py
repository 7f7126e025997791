"""How far a job has come: its stage of how many, the provider's own status, and a percent.

The stages are the provider's (Creatify ``image`` then ``video``; JoggAI ``product`` then
``video``; ProdVisual ``generate``), less those a job skips: a Creatify job with
``stop_after: image`` has one stage, and a regeneration or continuation that starts from another
job's task starts at that task's stage.

The percent comes from the provider's documented status sequence for the stage (Creatify's
``initializing, image_generating, image_generated, video_generating, video_generated``; JoggAI's
and ProdVisual's ``pending, processing, completed``): a stage counts as started, halfway or done.
No provider document states how long a stage takes, so ``eta_seconds`` stays unknown (None)
rather than invented. Archiving the outputs is the last 5 percent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from mediajobs.jobs.models import Job, JobStatus
from mediajobs.providers.base import ProviderName, StartKind

STAGES: Final[dict[ProviderName, tuple[str, ...]]] = {
    ProviderName.CREATIFY: ("image", "video"),
    ProviderName.JOGG: ("product", "video"),
    ProviderName.PRODVISUAL: ("generate",),
}
#: how much of its stage a provider status means (documented statuses; others count as started)
_STATUS_SHARE: Final[dict[str, float]] = {
    "pending": 0.1,
    "initializing": 0.1,
    "processing": 0.5,
    "image_generating": 0.5,
    "video_generating": 0.5,
    "created": 1.0,
    "completed": 1.0,
    "image_generated": 1.0,
    "video_generated": 1.0,
}
_PROVIDER_SHARE: Final = 95.0


@dataclass(frozen=True)
class Progress:
    stage: str
    stage_index: int
    stage_count: int
    provider_status: str | None
    percent: float | None
    eta_seconds: float | None = None


def stages_of(job: Job) -> tuple[str, ...]:
    """The stages this job runs, in order."""
    stages = STAGES[job.provider]
    start = job.spec.start_from
    if job.provider is ProviderName.CREATIFY:
        if start is not None and start.kind in {StartKind.REGEN_VIDEO, StartKind.GEN_VIDEO}:
            return ("video",)
        if job.spec.options.get("stop_after") == "image":
            return ("image",)
    if job.provider is ProviderName.JOGG and start is not None and start.kind is StartKind.RENDER:
        return ("video",)
    return stages


def progress(job: Job) -> Progress:
    stages = stages_of(job)
    stage = job.stage if job.stage in stages else stages[0]
    index = stages.index(stage)
    status = job.task.provider_status if job.task is not None else None
    return Progress(
        stage=stage,
        stage_index=index + 1,
        stage_count=len(stages),
        provider_status=status,
        percent=_percent(job, index, len(stages), status),
    )


def _percent(job: Job, index: int, count: int, status: str | None) -> float | None:
    if job.status is JobStatus.SUCCEEDED:
        return 100.0
    if job.status in {JobStatus.FAILED, JobStatus.CANCELLED}:
        return None
    if job.status is JobStatus.ARCHIVING:
        return _PROVIDER_SHARE
    if job.task is None:
        return 0.0
    share = _STATUS_SHARE.get(status or "", 0.1)
    return round((index + share) / count * _PROVIDER_SHARE, 1)
