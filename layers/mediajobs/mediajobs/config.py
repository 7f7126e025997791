"""Configuration: the environment parsed once, at cold start, into one frozen model.

Logic receives a :class:`Settings`; it never reads ``os.environ`` itself. ``get_settings()`` is
called by handlers (not at import time), so tests can set the environment before first use or
build a ``Settings`` directly.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: str = "dev"
    jobs_table: str
    media_bucket: str
    state_machine_arn: str = ""
    batch_state_machine_arn: str = ""
    #: Idempotency-Key records of the create routes (mediajobs.api.idempotency); empty: keys ignored
    idempotency_table: str = ""

    creatify_base_url: str = "https://api.creatify.ai"
    creatify_secret_arn: str = ""
    jogg_base_url: str = "https://api.jogg.ai"
    jogg_secret_arn: str = ""
    prodvisual_base_url: str = "https://api.prodvisual.com"
    prodvisual_secret_arn: str = ""
    secrets_max_age_seconds: Annotated[int, Field(ge=0)] = 300
    #: seconds to wait for a provider's answer to one request (connect stays 5 s)
    provider_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 20.0

    #: the shared provider rate limits (mediajobs.ratelimit); 0 turns one off
    prodvisual_requests_per_minute: Annotated[int, Field(ge=0)] = 60
    prodvisual_requests_per_day: Annotated[int, Field(ge=0)] = 10000
    jogg_posts_per_minute: Annotated[int, Field(ge=0)] = 20
    creatify_requests_per_minute: Annotated[int, Field(ge=0)] = 0
    #: share of each per-minute limit mediajobs uses (room for clock and transit differences)
    rate_limit_headroom: Annotated[float, Field(gt=0.5, le=1.0)] = 0.95
    #: a provider create call left without an answer (timeout, crashed task) waits this long for
    #: the provider's callback to name the task before it is sent again (see README, Idempotency)
    unanswered_call_wait_seconds: Annotated[int, Field(ge=0)] = 900
    #: a job with fallback providers moves on after its provider stayed unreachable this long
    fallback_unreachable_seconds: Annotated[int, Field(ge=0)] = 300

    public_base_url: str = ""
    #: the API Gateway URL: links of jobs no API request started (S3 drops) when PUBLIC_BASE_URL is empty
    api_base_url: str = ""
    poll_initial_seconds: Annotated[int, Field(ge=1)] = 30
    poll_max_seconds: Annotated[int, Field(ge=1)] = 600
    job_deadline_seconds: Annotated[int, Field(ge=1)] = 21600
    #: how long past its deadline a job may stay unfinished before the reconciler finishes it
    reconcile_grace_seconds: Annotated[int, Field(ge=0)] = 600

    #: client notifications (mediajobs.notifications.service): one execution per event, an EventBridge bus
    notification_state_machine_arn: str = ""
    event_bus_name: str = ""
    #: seconds before each retry of a failed client webhook delivery (attempts = retries + 1)
    webhook_retry_delays: Annotated[str, Field(pattern=r"^\s*(\d+\s*(,\s*\d+\s*)*)?$")] = (
        "5,30,120,600,1800,3600,7200"
    )
    webhook_timeout_seconds: Annotated[float, Field(gt=0, le=25)] = 10.0

    #: only the embedded local stack sets this: providers and images live on loopback there
    allow_loopback_urls: bool = False
    max_image_bytes: Annotated[int, Field(gt=0)] = 10 * 1024 * 1024
    max_output_bytes: Annotated[int, Field(gt=0)] = 4 * 1024 * 1024 * 1024
    download_url_seconds: Annotated[int, Field(ge=60, le=604800)] = 900
    #: the longest a signed product link stays valid (the job's deadline may end it sooner)
    product_link_seconds: Annotated[int, Field(ge=60)] = 86400
    #: Secrets Manager secret whose value is the HMAC key of product links (mediajobs.jobs.product_links)
    product_link_secret_arn: str = ""
    #: until then, a bare ``/p/<job id>`` link of a running job still redirects (links issued
    #: before signed links, for one deploy); empty: only signed links open
    legacy_product_links_until: datetime | None = None

    #: each tenant's request rate over the client API (mediajobs.api.ratelimit); 0 turns it off
    api_requests_per_second: Annotated[float, Field(ge=0)] = 20.0
    api_request_burst: Annotated[int, Field(ge=1)] = 40
    upload_url_seconds: Annotated[int, Field(ge=60, le=604800)] = 900

    @field_validator("legacy_product_links_until", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        source = os.environ if environ is None else environ
        fields = cls.model_fields
        return cls.model_validate({k.lower(): v for k, v in source.items() if k.lower() in fields})


@functools.cache
def get_settings() -> Settings:
    """The container's settings, parsed on first use."""
    return Settings.from_env()
