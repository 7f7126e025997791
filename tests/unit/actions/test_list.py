"""Listing a tenant's jobs: newest first, filtered by status and provider, paged with opaque cursors."""

from __future__ import annotations

import base64
import json

import pytest

from mediajobs.api.errors import from_domain
from mediajobs.api.views import job_list_view
from mediajobs.errors import DomainError
from mediajobs.jobs.actions import decode_cursor, encode_cursor
from mediajobs.jobs.models import Job, JobStatus
from mediajobs.jobs.store import listing_key
from mediajobs.providers.base import ProviderName
from tests.unit.actions.conftest import TENANT, SourceFactory, World


def listed(world: World, **filters: object) -> list[list[str]]:
    """Every page of the listing, as job ids."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = world.actions.list_jobs(TENANT, cursor=cursor, **filters)  # type: ignore[arg-type]
        pages.append([job.job_id for job in page.jobs])
        cursor = page.next_cursor
        if cursor is None:
            return pages


@pytest.fixture
def mixed(source: SourceFactory) -> list[Job]:
    """Six jobs, one second apart, oldest first."""
    return [
        source(ProviderName.PRODVISUAL),
        source(ProviderName.CREATIFY, status=JobStatus.FAILED),
        source(ProviderName.JOGG, status=JobStatus.RUNNING, tasks=[]),
        source(ProviderName.PRODVISUAL, status=JobStatus.FAILED),
        source(ProviderName.CREATIFY),
        source(ProviderName.PRODVISUAL),
    ]


def ids(jobs: list[Job], *indexes: int) -> list[str]:
    return [jobs[i].job_id for i in indexes]


def test_given_jobs_when_listed_in_pages_then_every_job_comes_once_newest_first(
    world: World, mixed: list[Job]
) -> None:
    assert listed(world, limit=4) == [ids(mixed, 5, 4, 3, 2), ids(mixed, 1, 0)]


def test_given_a_page_that_ends_with_the_last_job_then_there_is_no_next_cursor(
    world: World, mixed: list[Job]
) -> None:
    assert listed(world, limit=6) == [ids(mixed, 5, 4, 3, 2, 1, 0)]


def test_given_a_status_filter_then_jobs_of_every_provider_in_it_are_merged_newest_first(
    world: World, mixed: list[Job]
) -> None:
    assert listed(world, status=JobStatus.FAILED, limit=1) == [ids(mixed, 3), ids(mixed, 1)]
    assert listed(world, status=JobStatus.SUCCEEDED, limit=2) == [ids(mixed, 5, 4), ids(mixed, 0)]


def test_given_a_provider_filter_then_its_jobs_in_every_status_are_listed_without_short_pages(
    world: World, mixed: list[Job]
) -> None:
    assert listed(world, provider=ProviderName.PRODVISUAL, limit=2) == [ids(mixed, 5, 3), ids(mixed, 0)]


def test_given_both_filters_then_only_jobs_matching_both_are_listed(world: World, mixed: list[Job]) -> None:
    assert listed(world, status=JobStatus.SUCCEEDED, provider=ProviderName.CREATIFY) == [ids(mixed, 4)]
    assert listed(world, status=JobStatus.CANCELLED) == [[]]


def test_given_a_job_that_changes_status_then_it_is_listed_under_its_new_status(
    world: World, mixed: list[Job]
) -> None:
    running = mixed[2]
    world.store.update(running.job_id, lambda j: j.model_copy(update={"status": JobStatus.FAILED}))

    assert listed(world, status=JobStatus.RUNNING) == [[]]
    assert listed(world, status=JobStatus.FAILED) == [ids(mixed, 3, 2, 1)]


def test_given_another_tenants_jobs_then_they_are_never_listed(
    world: World, source: SourceFactory, mixed: list[Job]
) -> None:
    theirs = source(ProviderName.PRODVISUAL, tenant_id="tenant-b")

    mine = {job_id for page in listed(world) for job_id in page}

    assert theirs.job_id not in mine
    assert mine == {job.job_id for job in mixed}


def test_given_jobs_created_within_one_second_then_the_order_is_by_time_not_by_text(
    world: World, source: SourceFactory
) -> None:
    whole = source(ProviderName.PRODVISUAL)  # at a whole second: ISO text without a fraction
    world.clock.advance(-0.5)
    half = source(ProviderName.PRODVISUAL)  # half a second later: "...:00.500000Z" < "...:00Z" as text

    assert half.created_at > whole.created_at
    assert listing_key(half) > listing_key(whole)
    assert listed(world) == [[half.job_id, whole.job_id]]


def test_given_a_listing_then_each_job_is_summarised(world: World, mixed: list[Job]) -> None:
    page = world.actions.list_jobs(TENANT, status=JobStatus.FAILED, limit=1)

    [summary] = job_list_view(page.jobs, page.next_cursor).jobs
    assert summary.job_id == mixed[3].job_id
    assert (summary.provider, summary.status, summary.stage) == (
        ProviderName.PRODVISUAL,
        JobStatus.FAILED,
        "generate",
    )
    assert summary.links.self == f"/v1/jobs/{mixed[3].job_id}"
    assert summary.created_at == mixed[3].created_at


def test_given_a_cursor_of_another_tenant_then_it_is_refused() -> None:
    cursor = encode_cursor("tenant-b", f"2026-11-22T10:00:00.000000Z#{'a' * 32}")

    with pytest.raises(DomainError) as caught:
        decode_cursor(TENANT, cursor)

    assert (from_domain(caught.value).status, from_domain(caught.value).code) == (400, "invalid_cursor")


def test_given_a_cursor_when_decoded_by_its_tenant_then_the_position_comes_back() -> None:
    position = f"2026-11-22T10:00:00.000000Z#{'a' * 32}"

    assert decode_cursor(TENANT, encode_cursor(TENANT, position)) == position


def forged(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64 at all!",
        "é",
        base64.urlsafe_b64encode(b"not json").decode(),
        forged(["a list"]),
        forged({"v": 2, "t": "x", "k": "y"}),
        "x" * 600,
    ],
)
def test_given_a_cursor_that_this_api_did_not_make_then_it_is_refused(cursor: str) -> None:
    with pytest.raises(DomainError) as caught:
        decode_cursor(TENANT, cursor)

    assert (from_domain(caught.value).status, from_domain(caught.value).code) == (400, "invalid_cursor")


def test_given_a_cursor_with_a_tampered_position_then_it_is_refused() -> None:
    valid = json.loads(
        base64.urlsafe_b64decode(encode_cursor(TENANT, f"2026-11-22T10:00:00.000000Z#{'a' * 32}") + "==")
    )

    with pytest.raises(DomainError) as caught:
        decode_cursor(TENANT, forged(valid | {"k": "JOB#anything"}))

    assert from_domain(caught.value).code == "invalid_cursor"
