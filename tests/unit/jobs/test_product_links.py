"""Signed product links: what opens, until when, and the unsigned links' transition window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mediajobs.jobs.product_links import ProductLinks
from mediajobs.providers.base import ProviderName
from mediajobs.providers.creatify import MAX_URL_LENGTH
from tests.unit.jobs.fakes import new_job

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
JOB_ID = "0123456789abcdef0123456789abcdef"
API_URL = "https://a1b2c3d4e5.execute-api.ap-southeast-2.amazonaws.com"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def links(clock: Clock, key: bytes = b"key-one", legacy_until: datetime | None = None) -> ProductLinks:
    return ProductLinks(key=lambda: key, max_seconds=86400, legacy_until=legacy_until, clock=clock)


def test_given_a_job_when_its_link_is_issued_then_it_expires_at_the_deadline_and_fits_creatify() -> None:
    clock = Clock()
    job = new_job(JOB_ID, ProviderName.CREATIFY, public_base_url=API_URL).model_copy(
        update={"deadline_at": NOW + timedelta(hours=6)}
    )

    link = links(clock).issue(job, "submit")
    claim = links(clock).check(link.rpartition("/p/")[2])

    assert claim is not None
    assert (claim.job_id, claim.stage, claim.expires_at) == (JOB_ID, "submit", NOW + timedelta(hours=6))
    assert len(link) <= MAX_URL_LENGTH


def test_given_a_link_when_its_expiry_passes_then_it_no_longer_checks() -> None:
    clock = Clock()
    token = links(clock).token(JOB_ID, "submit", int((NOW + timedelta(minutes=5)).timestamp()))

    clock.now = NOW + timedelta(minutes=5)

    assert links(clock).check(token) is None


def test_given_a_link_signed_with_another_key_when_checked_then_refused() -> None:
    clock = Clock()
    token = links(clock, key=b"key-one").token(JOB_ID, "submit", int(NOW.timestamp()) + 60)

    assert links(clock, key=b"key-two").check(token) is None
    assert links(clock, key=b"key-one").check(token) is not None


@pytest.mark.parametrize("token", [JOB_ID, f"{JOB_ID}.submit", f"{JOB_ID}.submit.1.x", "../../etc", ""])
def test_given_no_transition_window_when_an_unsigned_or_malformed_link_is_checked_then_refused(
    token: str,
) -> None:
    assert links(Clock()).check(token) is None


def test_given_the_transition_window_when_a_bare_job_id_is_checked_then_it_opens_until_the_window_ends() -> (
    None
):
    clock = Clock()
    window = links(clock, legacy_until=NOW + timedelta(hours=6))

    during = window.check(JOB_ID)
    clock.now = NOW + timedelta(hours=6)
    after = window.check(JOB_ID)

    assert during is not None
    assert during.legacy
    assert after is None
