"""Product links: the short, signed URL a provider fetches a job's product image from.

A link is ``<base>/p/<job id>.<stage>.<expires>.<signature>``: ``signature`` is HMAC-SHA256 over
``<job id>.<stage>.<expires>`` with the stack's product link key (a Secrets Manager secret read
through Powertools parameters, cached ``secrets_max_age_seconds``), cut to 128 bits, base64url.
``stage`` is the create call the link was handed to (``submit``, ``advance``), ``expires`` a Unix
time: the job's deadline (no provider documents how long after a request it fetches the image),
capped at ``product_link_seconds``. The job id alone, another job's signature, an expired link or
a link of a job that is final all answer the same 404.

Why a link and not the presigned S3 URL: Creatify's ``product_url`` allows 200 characters, and a
presigned URL is far longer. With a 60-character API host, a link is about 140 characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools.utilities import parameters

from mediajobs.config import Settings
from mediajobs.errors import MediajobsError
from mediajobs.jobs.models import Job, utcnow

SIGNATURE_BYTES = 16
_TOKEN = re.compile(
    r"^(?P<job_id>[0-9a-f]{32})\.(?P<stage>[a-z]{1,16})\.(?P<expires>[0-9]{1,12})\.(?P<sig>[\w-]{22})$"
)
_BARE_JOB_ID = re.compile(r"^[0-9a-f]{32}$")


class ProductLinkKeyMissingError(MediajobsError):
    """No product link key is configured (PRODUCT_LINK_SECRET_ARN)."""


@dataclass(frozen=True)
class LinkClaim:
    """What a link says: the job, the create call it was handed to, and until when it opens."""

    job_id: str
    stage: str | None
    expires_at: datetime | None
    #: an unsigned ``/p/<job id>`` link, accepted only during the transition window
    legacy: bool = False


def secret_key(settings: Settings) -> Callable[[], bytes]:
    """The key from the stack's secret (read on use, cached by Powertools)."""

    def read() -> bytes:
        if not settings.product_link_secret_arn:
            raise ProductLinkKeyMissingError("PRODUCT_LINK_SECRET_ARN is not set")
        value = parameters.get_secret(
            settings.product_link_secret_arn, max_age=settings.secrets_max_age_seconds
        )
        text = value if isinstance(value, str) else bytes(value).decode("utf-8")
        if not text:
            raise ProductLinkKeyMissingError("the product link secret is empty")
        return text.encode("utf-8")

    return read


class ProductLinks:
    """Issues and checks signed product links."""

    def __init__(
        self,
        *,
        key: Callable[[], bytes],
        max_seconds: int,
        legacy_until: datetime | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._key = key
        self.max_seconds = max_seconds
        self.legacy_until = legacy_until
        self._now = clock

    @classmethod
    def from_settings(cls, settings: Settings, clock: Callable[[], datetime] = utcnow) -> ProductLinks:
        return cls(
            key=secret_key(settings),
            max_seconds=settings.product_link_seconds,
            legacy_until=settings.legacy_product_links_until,
            clock=clock,
        )

    def issue(self, job: Job, stage: str) -> str:
        """The link for ``job``'s product image, handed to the provider by its ``stage`` call."""
        expires = min(job.deadline_at, self._now() + timedelta(seconds=self.max_seconds))
        return f"{job.public_base_url}/p/{self.token(job.job_id, stage, int(expires.timestamp()))}"

    def token(self, job_id: str, stage: str, expires: int) -> str:
        return f"{job_id}.{stage}.{expires}.{self._sign(job_id, stage, expires)}"

    def _sign(self, job_id: str, stage: str, expires: int) -> str:
        digest = hmac.new(self._key(), f"{job_id}.{stage}.{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:SIGNATURE_BYTES]).decode("ascii").rstrip("=")

    def check(self, token: str) -> LinkClaim | None:
        """What a valid, unexpired link claims; ``None`` for anything else (the caller answers 404)."""
        now = self._now()
        if _BARE_JOB_ID.match(token):
            legacy = self.legacy_until is not None and now < _aware(self.legacy_until)
            return LinkClaim(job_id=token, stage=None, expires_at=None, legacy=True) if legacy else None
        parts = _TOKEN.match(token)
        if parts is None:
            return None
        job_id, stage, expires = parts["job_id"], parts["stage"], int(parts["expires"])
        if not hmac.compare_digest(parts["sig"], self._sign(job_id, stage, expires)):
            return None
        expires_at = datetime.fromtimestamp(expires, UTC)
        if expires_at <= now:
            return None
        return LinkClaim(job_id=job_id, stage=stage, expires_at=expires_at)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
