"""Python SDK for the mediajobs API: ``Client`` / ``AsyncClient``, typed answers, typed errors."""

from mediajobs_client import webhooks
from mediajobs_client._core import RetryPolicy
from mediajobs_client.aio import AsyncClient
from mediajobs_client.client import Client, RunResult
from mediajobs_client.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DownloadIntegrityError,
    JobFailedError,
    MediajobsError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UploadFailedError,
    ValidationError,
    WaitTimeoutError,
    WebhookVerificationError,
)
from mediajobs_client.models import (
    Attempt,
    Batch,
    BatchAccepted,
    BatchRetried,
    Job,
    JobAccepted,
    JobSummary,
    Output,
    Progress,
    Upload,
    WebhookEvent,
)

__all__ = [
    "APIConnectionError",
    "AsyncClient",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchAccepted",
    "BatchRetried",
    "Client",
    "ConflictError",
    "DownloadIntegrityError",
    "Job",
    "JobAccepted",
    "JobFailedError",
    "JobSummary",
    "MediajobsError",
    "NotFoundError",
    "Output",
    "Progress",
    "RateLimitedError",
    "RetryPolicy",
    "RunResult",
    "ServerError",
    "Upload",
    "UploadFailedError",
    "ValidationError",
    "WaitTimeoutError",
    "WebhookEvent",
    "WebhookVerificationError",
    "webhooks",
]
