"""Accepting a job (its product taken in first), reading one, and serving its product link."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import httpx
from botocore.exceptions import ClientError

from mediajobs.billing.service import Billing
from mediajobs.config import Settings
from mediajobs.errors import (
    JobNotFoundError,
    MediajobsError,
    NotFoundError,
    ServiceUnavailableError,
    ValidationFailedError,
)
from mediajobs.fetching import FetchError, UnsafeUrlError, UrlPolicy, check_url
from mediajobs.jobs.intake import take_in_product_image
from mediajobs.jobs.models import (
    ErrorInfo,
    FallbackSpec,
    Job,
    JobSpec,
    JobStatus,
    ProductImage,
    TimelineEntry,
    utcnow,
)
from mediajobs.jobs.product_links import ProductLinks
from mediajobs.jobs.requests import CreatifyJobRequest, JobRequest, ProdVisualFallback, ProdVisualJobRequest
from mediajobs.jobs.store import JobStore
from mediajobs.jobs.styles import StyleList, check_style, unchecked
from mediajobs.observability import logger
from mediajobs.providers.base import ProductInput, ProviderName

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_stepfunctions.client import SFNClient


def spec_from_request(request: JobRequest) -> JobSpec:
    """The stored spec of a validated job request (POST /v1/jobs, uploads, batch items)."""
    product = request.product
    return JobSpec(
        provider=ProviderName(request.provider),
        product=ProductInput(
            image_url=str(product.image_url) if product.image_url else None,
            page_url=str(product.page_url) if product.page_url else None,
            title=product.title,
            description=product.description,
            target_audience=product.target_audience,
        ),
        options=request.options.model_dump(mode="json", exclude_none=True),
        webhook_url=str(request.webhook_url) if request.webhook_url else None,
        webhook_events_filter=list(request.webhook_events_filter) if request.webhook_events_filter else None,
        metadata=request.metadata,
        fallback=[
            FallbackSpec(
                provider=ProviderName(f.provider),
                options=f.options.model_dump(mode="json", exclude_none=True),
            )
            for f in request.fallback
        ],
    )


class JobService:
    def __init__(
        self,
        *,
        store: JobStore,
        s3: S3Client,
        sfn: SFNClient,
        http: httpx.Client,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        styles: StyleList = unchecked,
        links: ProductLinks | None = None,
        billing: Billing | None = None,
    ) -> None:
        self.billing = billing
        self.store = store
        self.links = links or ProductLinks.from_settings(settings, clock)
        self.styles = styles
        self.s3 = s3
        self.sfn = sfn
        self.http = http
        self.settings = settings
        self.now = clock
        self.policy = UrlPolicy(allow_loopback=settings.allow_loopback_urls)

    # -- create ---------------------------------------------------------------------------------

    def create(
        self, tenant_id: str, request: JobRequest, *, public_base_url: str, api_key_id: str | None = None
    ) -> Job:
        """Take the product image in, then :meth:`accept` the job (``api_key_id``: the caller's key)."""
        job_id = uuid.uuid4().hex
        self.check_request(request)
        product_image = None
        if request.product.image_url is not None:
            product_image = self._take_in(job_id, str(request.product.image_url))
        return self.accept(
            tenant_id,
            request,
            job_id=job_id,
            product_image=product_image,
            public_base_url=public_base_url,
            api_key_id=api_key_id,
        )

    def check_request(self, request: JobRequest) -> None:
        """What the request's models cannot check alone: its URLs, and a ProdVisual style."""
        if request.dry_run:
            raise ValidationFailedError(
                "validation_error", "dry_run is answered by POST /v1/jobs and POST /v1/estimates only"
            )
        self.check_urls(request)
        if isinstance(request, ProdVisualJobRequest):
            check_style(request.options.style, self.styles())
        for fallback in request.fallback:
            if isinstance(fallback, ProdVisualFallback):
                check_style(fallback.options.style, self.styles())

    def check_urls(self, request: JobRequest) -> None:
        """Refuse a webhook or product page URL mediajobs must not call (``unsafe_url`` and the like)."""
        if request.webhook_url is not None:
            self._check_url(str(request.webhook_url), "webhook_url")
        if request.product.page_url is not None:
            self._check_url(str(request.product.page_url), "product.page_url")

    def accept(
        self,
        tenant_id: str,
        request: JobRequest,
        *,
        job_id: str,
        product_image: ProductImage | None,
        public_base_url: str,
        api_key_id: str | None = None,
    ) -> Job:
        """Write the job, its product image already in S3, and start its execution.

        Every new job goes through here (``create``, uploads). A second accept of one ``job_id``
        raises ConcurrentUpdateError and starts nothing. ``api_key_id``: the key the job is
        created with, whose budget it must fit too (``None``: the tenant's budget only).
        """
        now = self.now()
        spec = spec_from_request(request)
        deadline = self.settings.job_deadline_seconds
        if request.deadline_seconds is not None:
            deadline = min(deadline, request.deadline_seconds)
        job = Job(
            job_id=job_id,
            tenant_id=tenant_id,
            created_at=now,
            updated_at=now,
            deadline_at=now + timedelta(seconds=deadline),
            spec=spec,
            public_base_url=public_base_url.rstrip("/"),
            product_image=product_image,
            callback_token=secrets.token_urlsafe(24) if _may_use_creatify(request) else None,
            attempt_started_at=now if spec.fallback else None,
            timeline=[TimelineEntry(status=JobStatus.QUEUED, at=now)],
            external_id=request.external_id,
        )
        self.reserve_credits(job, api_key_id=api_key_id)
        try:
            self.store.create(job)
        except MediajobsError:
            self.release_credits(job.job_id)
            raise
        self.start_execution(job)
        logger.info("job accepted", extra={"job_id": job_id, "provider": spec.provider.value})
        return job

    def reserve_credits(self, job: Job, *, api_key_id: str | None = None) -> None:
        """Reserve a new job's estimated credits in its tenant's and its key's budgets (402 if over)."""
        if self.billing is not None:
            self.billing.reserve(job.tenant_id, [(job.job_id, job.spec)], key_id=api_key_id)

    def release_credits(self, job_id: str) -> None:
        """Give back the credits of a job that never started."""
        if self.billing is not None:
            self.billing.release(job_id)

    def _check_url(self, url: str, field: str) -> None:
        try:
            check_url(url, self.policy)
        except UnsafeUrlError as exc:
            raise ValidationFailedError("unsafe_url", f"{field} is not allowed: {exc}") from exc
        except FetchError as exc:
            raise ValidationFailedError("unreachable_url", f"{field} cannot be reached: {exc}") from exc

    def _take_in(self, job_id: str, url: str) -> ProductImage:
        return take_in_product_image(
            http=self.http,
            s3=self.s3,
            bucket=self.settings.media_bucket,
            job_id=job_id,
            url=url,
            policy=self.policy,
            max_bytes=self.settings.max_image_bytes,
        )

    def resume(self, job: Job) -> None:
        """Start a queued job's execution again, after an accept cut short between write and start.

        Same name and input: Step Functions returns the running execution rather than a second
        one, and an execution that already ended is left alone. Other ClientErrors are raised and
        change nothing (the caller retries).
        """
        if job.status is not JobStatus.QUEUED:
            return
        try:
            self._start(job)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise

    def _start(self, job: Job) -> None:
        self.sfn.start_execution(
            stateMachineArn=self.settings.state_machine_arn,
            name=job.job_id,
            input=json.dumps({"job_id": job.job_id}),
        )

    def start_execution(self, job: Job) -> None:
        """Start a new job's execution; if that fails, the job fails cleanly (ServiceUnavailableError)."""
        try:
            self._start(job)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            logger.error(
                "could not start the job's execution", extra={"job_id": job.job_id, "error_code": code}
            )
            error = ErrorInfo(code="internal_error", message="the job could not be started; please retry")
            self.store.update(
                job.job_id,
                lambda j: (
                    None
                    if j.status.final
                    else j.moved_to(JobStatus.FAILED, now=self.now()).model_copy(update={"error": error})
                ),
            )
            self.release_credits(job.job_id)
            raise ServiceUnavailableError(
                "service_unavailable", "the job could not be started; please retry"
            ) from exc

    # -- read -----------------------------------------------------------------------------------

    def get(self, tenant_id: str, job_id: str) -> Job:
        job = self.store.find(job_id) if _plausible_id(job_id) else None
        if job is None or job.tenant_id != tenant_id:
            raise JobNotFoundError(job_id)
        return job

    def product_link_target(self, token: str) -> str:
        """The presigned URL a signed product link redirects to, while its job may still need it.

        Anything but a valid, unexpired link of a job that is not final (the job id alone, a
        wrong or another job's signature, a final job) is the same 404: a job id is no secret.
        """
        claim = self.links.check(token)
        job = self.store.find(claim.job_id) if claim is not None else None
        if job is None or job.product_image is None or job.status.final:
            raise NotFoundError("product link")
        if claim is not None and claim.legacy:
            logger.info("unsigned product link opened (transition window)", extra={"job_id": job.job_id})
        return self._presign(job.product_image.s3_key, PRODUCT_REDIRECT_SECONDS)

    def download_url(self, key: str, expires_in: int) -> str:
        """A presigned GET of one of the media bucket's objects (outputs, product images)."""
        return self._presign(key, expires_in)

    def _presign(self, key: str, expires_in: int) -> str:
        return self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.settings.media_bucket, "Key": key}, ExpiresIn=expires_in
        )


#: the presigned URL a product link redirects to is followed at once: it need not live long
PRODUCT_REDIRECT_SECONDS = 600


def _may_use_creatify(request: JobRequest) -> bool:
    return isinstance(request, CreatifyJobRequest) or any(f.provider == "creatify" for f in request.fallback)


def _plausible_id(job_id: str) -> bool:
    return len(job_id) == 32 and all(c in "0123456789abcdef" for c in job_id)
