"""The API's answers as typed models. They keep fields the API adds later (``extra="allow"``) and
take enum-like values as plain strings, so a newer API never breaks an older SDK."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: the job statuses after which nothing changes any more
FINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
PROVIDERS = ("creatify", "jogg", "prodvisual")


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Links(ApiModel):
    self: str
    job: str | None = None


class ErrorInfo(ApiModel):
    code: str
    message: str
    provider_code: str | None = None


class Progress(ApiModel):
    """Where a job is within its provider's stages (absent on APIs that do not report it yet)."""

    stage: str
    stage_index: int  # 1-based
    stage_count: int
    provider_status: str | None = None
    percent: float | None = None
    eta_seconds: float | None = None


class TimelineEntry(ApiModel):
    status: str
    stage: str | None = None
    at: datetime
    detail: str | None = None


class ProviderTask(ApiModel):
    stage: str
    provider_job_id: str
    state: str
    provider_status: str
    credits_used: float | None = None


class Output(ApiModel):
    kind: str
    stage: str
    content_type: str
    bytes: int
    sha256: str
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    codec: str | None = None
    download_url: str
    download_url_expires_at: datetime | None = None


class Attempt(ApiModel):
    """One provider a job tried; the last is the provider that made (or last failed) the job."""

    provider: str
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str | None = None
    message: str | None = None


class JobCost(ApiModel):
    """Provider credits (``credits_source``: reported, documented_price or none) and the AWS estimate."""

    credits: float | None = None
    credits_source: str
    aws_usd_estimate: float
    aws_prices_as_of: date | None = None


class Job(ApiModel):
    job_id: str
    provider: str
    status: str
    stage: str | None = None
    created_at: datetime
    updated_at: datetime
    deadline_at: datetime | None = None
    provider_jobs: list[ProviderTask] = Field(default_factory=list)
    credits_used: float | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    outputs: list[Output] = Field(default_factory=list)
    error: ErrorInfo | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    regenerated_from: str | None = None
    continued_from: str | None = None
    external_id: str | None = None
    batch_id: str | None = None
    retried_from: str | None = None
    progress: Progress | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    links: Links | None = None
    cost: JobCost | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def provider_status(self) -> str | None:
        """The provider's own word for where the job is: from ``progress``, else its latest task."""
        if self.progress is not None and self.progress.provider_status is not None:
            return self.progress.provider_status
        return self.provider_jobs[-1].provider_status if self.provider_jobs else None


class JobSummary(ApiModel):
    job_id: str
    provider: str
    status: str
    stage: str | None = None
    created_at: datetime
    updated_at: datetime
    error: ErrorInfo | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    regenerated_from: str | None = None
    continued_from: str | None = None
    links: Links | None = None


class JobPage(ApiModel):
    jobs: list[JobSummary]
    next_cursor: str | None = None


class JobAccepted(ApiModel):
    job_id: str
    status: str
    links: Links | None = None


class UploadCreated(ApiModel):
    """The presigned S3 POST form of a new upload."""

    upload_id: str
    status: str
    url: str
    fields: dict[str, str]
    key: str
    expires_at: datetime
    max_bytes: int
    links: Links | None = None


class Upload(ApiModel):
    upload_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    key: str
    job_id: str | None = None
    error: ErrorInfo | None = None
    links: Links | None = None


class BatchAccepted(ApiModel):
    batch_id: str
    status: str
    total: int
    job_ids: list[str]
    links: dict[str, str] = Field(default_factory=dict)


class BatchItem(ApiModel):
    index: int
    job_id: str
    provider: str
    status: str
    error_code: str | None = None
    external_id: str | None = None
    retried_from: str | None = None


class BatchResults(ApiModel):
    """The completed round's results manifest (presigned, short-lived URLs)."""

    round: int
    csv_url: str
    json_url: str
    expires_at: datetime


class ManifestCreated(ApiModel):
    """The presigned S3 POST form of a new batch manifest."""

    manifest_id: str
    status: str
    url: str
    fields: dict[str, str]
    key: str
    expires_at: datetime
    max_bytes: int
    links: dict[str, str | None] = Field(default_factory=dict)


class ManifestProblem(ApiModel):
    path: str
    message: str


class ManifestError(ApiModel):
    code: str
    message: str
    details: list[ManifestProblem] = Field(default_factory=list)


class BatchManifest(ApiModel):
    """A manifest file: ``awaiting_file``, ``started`` (``batch_id``) or ``refused`` (``error``)."""

    manifest_id: str
    status: str
    format: str
    key: str
    batch_id: str | None = None
    error: ManifestError | None = None
    created_at: datetime
    updated_at: datetime
    links: dict[str, str | None] = Field(default_factory=dict)


class BatchRetried(ApiModel):
    batch_id: str
    status: str
    round: int
    retried: int
    job_ids: list[str]
    links: dict[str, str] = Field(default_factory=dict)


class Batch(ApiModel):
    batch_id: str
    status: str
    total: int
    counts: dict[str, int]
    created_at: datetime
    completed_at: datetime | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    items: list[BatchItem] = Field(default_factory=list)
    #: once completed: ``succeeded``, ``partially_succeeded`` or ``failed``
    outcome: str | None = None
    round: int = 0
    results: BatchResults | None = None

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def finished_items(self) -> int:
        return sum(count for status, count in self.counts.items() if status in FINAL_STATUSES)


class RegenerateSupport(ApiModel):
    supported: bool
    fields: list[str]
    description: str


class Provider(ApiModel):
    provider: str
    name: str
    description: str
    stages: list[str]
    output_kinds: list[str]
    regenerate: RegenerateSupport | None = None
    continue_to_video: bool = False
    webhook_signing: str | None = None
    credits: bool = False
    styles_url: str | None = None
    options_schema: dict[str, Any] = Field(default_factory=dict)


class Style(ApiModel):
    id: str
    name: str
    description: str | None = None


class Styles(ApiModel):
    provider: str
    styles: list[Style]
    total: int
    fetched_at: datetime | None = None


class Purchase(ApiModel):
    amount: int
    date: datetime


class Credits(ApiModel):
    provider: str
    credits_remaining: int
    credits_used_total: int | None = None
    credits_used_today: int | None = None
    last_purchase: Purchase | None = None


class WebhookEvent(ApiModel):
    """A verified client webhook: ``job.succeeded``, ``job.failed``, ``job.cancelled`` or
    ``batch.completed``."""

    type: str
    timestamp: datetime
    data: dict[str, Any]
    webhook_id: str = ""

    def job(self) -> Job:
        """``data`` as a job (for the ``job.*`` events); it carries no download URLs."""
        data = dict(self.data)
        for output in data.get("outputs", []):
            output.setdefault("download_url", "")
        return Job.model_validate(data)


class JobEvent(ApiModel):
    """One entry of a job's timeline as ``GET /v1/jobs/{id}/events`` and ``job.progress`` carry it."""

    job_id: str
    sequence: int  # 1 for the job's first entry; resume after it (Last-Event-ID)
    status: str
    stage: str | None = None
    detail: str | None = None
    at: datetime
    final: bool = False


class WebhookDelivery(ApiModel):
    """One webhook delivery of your tenant: the event, its URL and how its attempts went."""

    id: str  # the webhook-id header every attempt and replay sends
    event_type: str
    subject_id: str
    sequence: int | None = None
    url: str | None = None
    status: str  # pending, delivered, failed, disabled, no_webhook
    attempts: int
    last_http_status: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    replays: int = 0
    created_at: datetime
    updated_at: datetime


class WebhookDeliveryPage(ApiModel):
    deliveries: list[WebhookDelivery]
    next_cursor: str | None = None


class PeriodSpend(ApiModel):
    """One budget period (a UTC day or month): its limit (None: none), what is spent, what is left."""

    period: str
    limit: float | None = None
    spent: float
    remaining: float | None = None


class KeyBudget(ApiModel):
    """The calling API key's own budget: what jobs created with this key reserved or spent."""

    key_id: str
    daily: PeriodSpend
    monthly: PeriodSpend


class Budget(ApiModel):
    """The tenant's budget, and the calling key's beside it (``api_key``; None on older APIs).

    A create must fit both: a 402 ``budget_exceeded`` names which one it would pass.
    """

    tenant_id: str
    daily: PeriodSpend
    monthly: PeriodSpend
    api_key: KeyBudget | None = None


class ProviderEstimate(ApiModel):
    provider: str
    items: int
    credits_per_item: float | None = None
    credits: float | None = None
    price_source: str = ""
    balance: int | None = None
    items_covered: int | None = None
    balance_note: str = ""
    aws_usd: float = 0.0


class Estimate(ApiModel):
    """What jobs will cost (``POST /v1/estimates``, or a dry run); nothing was created."""

    items: int
    credits: float
    complete: bool
    providers: list[ProviderEstimate]
    aws_usd: float
    aws_prices_as_of: date | None = None
    budget: Budget | None = None
    within_budget: bool = True


class UsageDay(ApiModel):
    day: date
    provider: str
    jobs: int
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    credits: float = 0.0
    jobs_without_credits: int = 0
    aws_usd: float = 0.0


class UsageProvider(ApiModel):
    provider: str
    jobs: int
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    credits: float = 0.0
    jobs_without_credits: int = 0
    aws_usd: float = 0.0


class Usage(ApiModel):
    """``GET /v1/usage``: final jobs and credits per provider between two UTC days."""

    from_day: date
    to_day: date
    jobs: int
    credits: float
    providers: list[UsageProvider] = Field(default_factory=list)
    days: list[UsageDay] = Field(default_factory=list)
