"""What clients do with existing jobs: regenerate, continue to video, cancel, list.

Regenerate and continue create a NEW job linked to its source (``regenerated_from`` /
``continued_from``); the source keeps its outputs. The new job's first stage acts on the source's
provider task through ``JobSpec.start_from`` (Creatify regen_image / regen_video / gen_video, a
JoggAI render of the source's product); a ProdVisual regeneration is a new generation of a copy of
the source's product image.

Cancel moves the job to ``cancelled`` with a conditional write (status only moves forward) and
then wakes the execution if it waits for the provider, so it ends at once through NotifyClient
(the one place that tells clients and batches a job ended). Every later step sees a final job and
does nothing: a late provider result is neither recorded nor archived (the archive step deletes
what it copied when the job became final meanwhile).

Size: regenerate and continue share the linked-job creation (ids, copies of the product image,
idempotent retries) and cancel shares their state rules; split apart, each would repeat them.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ValidationError

from mediajobs import cursors
from mediajobs.errors import (
    ConflictError,
    InvalidRequestError,
    Problem,
    ServiceUnavailableError,
    ValidationFailedError,
    invalid_field,
)
from mediajobs.jobs.intake import product_image_key
from mediajobs.jobs.models import (
    Job,
    JobSpec,
    JobStatus,
    JobSummary,
    ProductImage,
    TimelineEntry,
)
from mediajobs.jobs.requests import RegenerateRequest, VideoRequest
from mediajobs.jobs.store import ConcurrentUpdateError
from mediajobs.jobs.styles import check_style
from mediajobs.observability import logger
from mediajobs.providers.base import ProviderName, ProviderTask, StartFrom, StartKind, TaskState
from mediajobs.providers.registry import OPTIONS_MODELS

if TYPE_CHECKING:
    from mediajobs.jobs.service import JobService

#: the regenerate fields each provider takes (see RegenerateRequest)
REGENERATE_FIELDS: Mapping[ProviderName, tuple[str, ...]] = {
    ProviderName.CREATIFY: ("image_prompt", "video_prompt"),
    ProviderName.PRODVISUAL: ("style", "platform", "dimensions", "background", "format", "quality"),
    ProviderName.JOGG: ("script_style", "override_script"),
}
#: how many failed or cancelled continuations of one job may be retried
MAX_CONTINUATIONS = 5
LISTING_KEY = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#[0-9a-f]{32}$")


@dataclass(frozen=True)
class JobListing:
    """One page of a tenant's jobs; ``next_cursor`` continues the listing (``None``: the last page)."""

    jobs: list[JobSummary]
    next_cursor: str | None


def _invalid(path: str, message: str) -> ValidationFailedError:
    return invalid_field(path, message)


def _require_succeeded(job: Job, action: str) -> None:
    if not job.status.final:
        raise ConflictError(
            "job_not_finished",
            f"job {job.job_id} is still {job.status.value}; it can be {action} once it has succeeded",
        )
    if job.status is not JobStatus.SUCCEEDED:
        raise ConflictError(
            "job_not_succeeded",
            f"job {job.job_id} is {job.status.value}; only a succeeded job can be {action}",
        )


def _completed(job: Job, stage: str) -> ProviderTask | None:
    return next((t for t in reversed(job.tasks) if t.stage == stage and t.state is TaskState.COMPLETED), None)


def _validated_options(provider: ProviderName, options: dict[str, Any]) -> dict[str, Any]:
    model: type[BaseModel] = OPTIONS_MODELS[provider]
    try:
        checked = model.model_validate(options)
    except ValidationError as exc:
        details = [
            Problem(".".join(str(p) for p in e["loc"]) or "body", e["msg"])
            for e in exc.errors(include_url=False)
        ]
        summary = "; ".join(f"{d.path}: {d.message}" for d in details[:5])
        raise ValidationFailedError(
            "validation_error",
            f"with the source job's options the request is invalid: {summary}",
            details,
        ) from exc
    return checked.model_dump(mode="json", exclude_none=True)


class JobActions:
    """Regenerate, continue, cancel and list, on top of the job service (its store, S3, Step Functions)."""

    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs
        self.store = jobs.store
        self.settings = jobs.settings

    # -- regenerate ----------------------------------------------------------------------------

    def regenerate(
        self,
        tenant_id: str,
        job_id: str,
        request: RegenerateRequest,
        *,
        public_base_url: str,
        api_key_id: str | None = None,
    ) -> Job:
        source = self.jobs.get(tenant_id, job_id)
        changes: dict[str, Any] = request.model_dump(mode="json", exclude_none=True)
        self._check_regenerate_fields(source.provider, changes)
        _require_succeeded(source, "regenerated")
        options = dict(source.spec.options) | changes
        start: StartFrom | None = None
        if source.provider is ProviderName.CREATIFY:
            start = self._creatify_regeneration(source, changes)
        elif source.provider is ProviderName.JOGG:
            if "script_style" in changes and "override_script" not in changes:
                # a word-for-word script would make the new style moot
                options.pop("override_script", None)
            start = StartFrom(
                kind=StartKind.RENDER, source_task_id=self._jogg_product(source), source_job_id=source.job_id
            )
        elif source.product_image is None:
            raise ConflictError(
                "no_product_image", f"job {source.job_id} has no product image to generate from"
            )
        job = self._create(
            source,
            options=_validated_options(source.provider, options),
            start=start,
            public_base_url=public_base_url,
            regenerated_from=source.job_id,
            api_key_id=api_key_id,
        )
        logger.info("job regenerated", extra={"job_id": job.job_id, "source_job_id": source.job_id})
        return job

    def _check_regenerate_fields(self, provider: ProviderName, changes: Mapping[str, Any]) -> None:
        allowed = REGENERATE_FIELDS[provider]
        foreign = [name for name in changes if name not in allowed]
        if foreign:
            raise _invalid(
                foreign[0],
                f"is not something a {provider.value} job regenerates with; send {' / '.join(allowed)}",
            )
        if provider is ProviderName.CREATIFY and len(changes) != 1:
            raise _invalid(
                "body", "a creatify job regenerates with exactly one of image_prompt and video_prompt"
            )
        if provider is ProviderName.PRODVISUAL and "style" not in changes:
            raise _invalid(
                "style", "a prodvisual job regenerates with a style (and optionally other options)"
            )
        if provider is ProviderName.PRODVISUAL:
            check_style(str(changes["style"]), self.jobs.styles(), path="style")
        if provider is ProviderName.JOGG and not changes:
            raise _invalid("body", "a jogg job regenerates with script_style and/or override_script")

    def _creatify_regeneration(self, source: Job, changes: Mapping[str, Any]) -> StartFrom:
        if "image_prompt" in changes:
            # every stage of a Creatify job is the same provider task: its preview is on it
            image = _completed(source, "image") or _completed(source, "video")
            if image is None:
                raise ConflictError("no_preview", f"job {source.job_id} has no preview image to regenerate")
            return StartFrom(
                kind=StartKind.REGEN_IMAGE, source_task_id=image.task_id, source_job_id=source.job_id
            )
        video = _completed(source, "video")
        if video is None:
            raise ConflictError(
                "no_video",
                f"job {source.job_id} stopped after its preview image and has no video to regenerate; "
                f"make its video with POST /v1/jobs/{source.job_id}/video, or regenerate with image_prompt",
            )
        return StartFrom(
            kind=StartKind.REGEN_VIDEO, source_task_id=video.task_id, source_job_id=source.job_id
        )

    def _jogg_product(self, source: Job) -> str:
        product = _completed(source, "product")
        if product is not None:
            return product.task_id
        origin = source.spec.start_from
        if origin is not None and origin.kind is StartKind.RENDER:
            return origin.source_task_id
        raise ConflictError("no_product", f"job {source.job_id} has no JoggAI product to make a video of")

    # -- continue to video ---------------------------------------------------------------------

    def continue_to_video(
        self,
        tenant_id: str,
        job_id: str,
        request: VideoRequest | None,
        *,
        public_base_url: str,
        api_key_id: str | None = None,
    ) -> Job:
        source = self.jobs.get(tenant_id, job_id)
        if source.provider is not ProviderName.CREATIFY or source.spec.options.get("stop_after") != "image":
            raise ConflictError(
                "not_continuable",
                f"job {source.job_id} is not a creatify job created with options.stop_after 'image'; "
                "only such a job has a preview to make the video from",
            )
        _require_succeeded(source, "continued to its video")
        image = _completed(source, "image")
        if image is None:
            raise ConflictError(
                "no_preview", f"job {source.job_id} has no preview image to make the video from"
            )
        options = dict(source.spec.options) | {"stop_after": "video"}
        if request is not None and request.video_prompt is not None:
            options["video_prompt"] = request.video_prompt
        start = StartFrom(kind=StartKind.GEN_VIDEO, source_task_id=image.task_id, source_job_id=source.job_id)
        validated = _validated_options(source.provider, options)
        for candidate in _continuation_ids(source):
            existing = self.store.find(candidate)
            if existing is not None and existing.status in {JobStatus.FAILED, JobStatus.CANCELLED}:
                continue
            if existing is not None:
                raise self._already_continued(source, existing.job_id)
            try:
                job = self._create(
                    source,
                    options=validated,
                    start=start,
                    public_base_url=public_base_url,
                    job_id=candidate,
                    continued_from=source.job_id,
                    api_key_id=api_key_id,
                )
            except ConcurrentUpdateError:
                raise self._already_continued(source, candidate) from None
            logger.info(
                "job continued to video", extra={"job_id": job.job_id, "source_job_id": source.job_id}
            )
            return job
        raise ConflictError(
            "too_many_continuations",
            f"the video of job {source.job_id} failed {MAX_CONTINUATIONS} times; "
            "regenerate its image with an image_prompt instead",
        )

    @staticmethod
    def _already_continued(source: Job, job_id: str) -> ConflictError:
        return ConflictError(
            "already_continued",
            f"job {source.job_id} is already continued to its video by job {job_id}; "
            f"for another video regenerate job {job_id} with a video_prompt",
        )

    # -- cancel --------------------------------------------------------------------------------

    def cancel(self, tenant_id: str, job_id: str) -> Job:
        self.jobs.get(tenant_id, job_id)
        now = self.jobs.now()

        def change(job: Job) -> Job:
            if job.status.final:
                raise ConflictError(
                    "job_final",
                    f"job {job.job_id} is already {job.status.value}; only a queued, running or "
                    "archiving job can be cancelled",
                )
            return job.moved_to(JobStatus.CANCELLED, now=now, detail="cancelled by the client")

        job = self.store.update(job_id, change)
        logger.info("job cancelled", extra={"job_id": job_id, "provider": job.provider.value})
        self._wake(job_id)
        return job

    def _wake(self, job_id: str) -> None:
        """Resume an execution that waits for the provider: it sees the final job and ends.

        An execution in any other step sees the final job at its next step; one that parks its
        token after this point resumes itself (AwaitProvider re-reads the job after parking).
        """
        token = self.store.claim_task_token(job_id)
        if token is None:
            return
        try:
            self.jobs.sfn.send_task_success(taskToken=token, output=json.dumps({"source": "cancel"}))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            logger.info(
                "the cancelled job's execution no longer waits", extra={"job_id": job_id, "error_code": code}
            )

    # -- list ----------------------------------------------------------------------------------

    def list_jobs(
        self,
        tenant_id: str,
        *,
        status: JobStatus | None = None,
        provider: ProviderName | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> JobListing:
        """One page of the tenant's jobs, newest first, and the cursor of the next page (or None)."""
        after = decode_cursor(tenant_id, cursor) if cursor is not None else None
        page = self.store.list_jobs(
            tenant_id,
            statuses=(status,) if status else (),
            providers=(provider,) if provider else (),
            after=after,
            limit=limit,
        )
        return JobListing(
            jobs=list(page.jobs),
            next_cursor=encode_cursor(tenant_id, page.next_after) if page.next_after else None,
        )

    # -- creating the linked job ---------------------------------------------------------------

    def _create(
        self,
        source: Job,
        *,
        options: dict[str, Any],
        start: StartFrom | None,
        public_base_url: str,
        job_id: str | None = None,
        regenerated_from: str | None = None,
        continued_from: str | None = None,
        api_key_id: str | None = None,
    ) -> Job:
        job_id = job_id or uuid.uuid4().hex
        now = self.jobs.now()
        spec = JobSpec(
            provider=source.provider,
            product=source.spec.product,
            options=options,
            webhook_url=source.spec.webhook_url,
            metadata=source.spec.metadata,
            start_from=start,
        )
        link = (
            f"regenerated from {regenerated_from}" if regenerated_from else f"continued from {continued_from}"
        )
        job = Job(
            job_id=job_id,
            tenant_id=source.tenant_id,
            created_at=now,
            updated_at=now,
            deadline_at=now + timedelta(seconds=self.settings.job_deadline_seconds),
            spec=spec,
            public_base_url=public_base_url.rstrip("/"),
            product_image=None,
            callback_token=secrets.token_urlsafe(24) if source.provider is ProviderName.CREATIFY else None,
            timeline=[TimelineEntry(status=JobStatus.QUEUED, at=now, detail=link)],
            regenerated_from=regenerated_from,
            continued_from=continued_from,
        )
        if start is None and source.product_image is not None:
            job = job.model_copy(
                update={"product_image": self._copy_product_image(source.product_image, job_id)}
            )
        # the caller's key pays for the new job, not the key that created its source
        self.jobs.reserve_credits(job, api_key_id=api_key_id)
        self.store.create(job)
        self.jobs.start_execution(job)
        return job

    def _copy_product_image(self, image: ProductImage, job_id: str) -> ProductImage:
        """The new job gets its own copy: its product link and lifetime do not depend on the source."""
        extension = image.s3_key.rsplit(".", 1)[-1]
        image_format = {"jpg": "jpeg"}.get(extension, extension)
        key = product_image_key(job_id, image_format)
        bucket = self.settings.media_bucket
        try:
            self.jobs.s3.copy_object(
                Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": image.s3_key}
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            logger.error("could not copy the product image", extra={"job_id": job_id, "error_code": code})
            raise ServiceUnavailableError(
                "service_unavailable", "the job could not be created; please retry"
            ) from exc
        return image.model_copy(update={"s3_key": key})


def _continuation_ids(source: Job) -> Iterator[str]:
    """The ids a continuation of ``source`` may take, in order: a repeated POST finds the first.

    Salted with the source's secret callback token so nobody can guess them from the source id.
    """
    salt = source.callback_token or ""
    for attempt in range(MAX_CONTINUATIONS):
        yield hashlib.sha256(f"{source.job_id}:video:{attempt}:{salt}".encode()).hexdigest()[:32]


# -- cursors --------------------------------------------------------------------------------------


def encode_cursor(tenant_id: str, after: str) -> str:
    """An opaque cursor: the listing position, bound to the tenant it was made for."""
    return cursors.encode_cursor(tenant_id, after)


def decode_cursor(tenant_id: str, cursor: str) -> str:
    after = cursors.decode_cursor(tenant_id, cursor, position=LISTING_KEY)
    if after is None:
        raise InvalidRequestError(
            "invalid_cursor", "cursor is not a next_cursor this API gave you; start again without it"
        )
    return after


__all__ = [
    "MAX_CONTINUATIONS",
    "REGENERATE_FIELDS",
    "JobActions",
    "decode_cursor",
    "encode_cursor",
]
