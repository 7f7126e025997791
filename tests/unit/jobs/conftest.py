"""A job store on moto (the table comes from template.yaml), fake providers and a fake clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import boto3
import pytest
from moto import mock_aws

from mediajobs.config import Settings
from mediajobs.jobs.models import Job
from mediajobs.jobs.pipeline import JobPipeline
from mediajobs.jobs.product_links import ProductLinks
from mediajobs.jobs.provider_webhooks import ProviderWebhooks
from mediajobs.jobs.store import JobStore
from mediajobs.providers.base import ProviderName
from tests.support.aws import MOCK_CONFIG, REGION, create_from_template
from tests.unit.jobs.fakes import FakeAdapters, FakeClock, FakeSfn, new_job

POLL_INITIAL = 30
POLL_MAX = 600
#: the product link key of the unit tests (the stack's comes from Secrets Manager)
LINK_KEY = b"unit-test-product-link-key"


@pytest.fixture
def table_name() -> Iterator[str]:
    with mock_aws(config=MOCK_CONFIG):
        yield create_from_template(["JobsTable"])["JobsTable"]


@pytest.fixture
def store(table_name: str) -> JobStore:
    return JobStore(boto3.resource("dynamodb", region_name=REGION).Table(table_name))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def adapters() -> FakeAdapters:
    return FakeAdapters()


@pytest.fixture
def settings(table_name: str) -> Settings:
    return Settings(
        jobs_table=table_name,
        media_bucket="unused",
        poll_initial_seconds=POLL_INITIAL,
        poll_max_seconds=POLL_MAX,
    )


@pytest.fixture
def pipeline(store: JobStore, adapters: FakeAdapters, settings: Settings, clock: FakeClock) -> JobPipeline:
    links = ProductLinks(key=lambda: LINK_KEY, max_seconds=settings.product_link_seconds, clock=clock)
    return JobPipeline(store=store, adapters=adapters, settings=settings, clock=clock, links=links)


@pytest.fixture
def sfn() -> FakeSfn:
    return FakeSfn()


@pytest.fixture
def webhooks(pipeline: JobPipeline, adapters: FakeAdapters, sfn: FakeSfn) -> ProviderWebhooks:
    return ProviderWebhooks(pipeline=pipeline, adapters=adapters, sfn=sfn)  # type: ignore[arg-type]


JobFactory = Callable[..., Job]


@pytest.fixture
def stored_job(store: JobStore, clock: FakeClock) -> JobFactory:
    """Creates a queued job in the store: ``stored_job(ProviderName.JOGG, options=...)``."""

    def make(provider: ProviderName = ProviderName.PRODVISUAL, **fields: object) -> Job:
        fields.setdefault("now", clock())
        return store.create(new_job(uuid.uuid4().hex, provider, **fields))  # type: ignore[arg-type]

    return make
