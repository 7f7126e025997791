"""ProdVisual styles checked at the door, against the provider's own list when it can be read."""

from __future__ import annotations

from typing import Any

import pytest

from mediajobs.catalog.service import ProviderCatalog
from mediajobs.config import Settings
from mediajobs.errors import ErrorKind, ValidationFailedError, provider_error
from mediajobs.jobs.requests import ProdVisualJobRequest
from mediajobs.jobs.service import JobService
from mediajobs.jobs.styles import check_style
from mediajobs.providers.prodvisual import ProdVisualAdapter
from mediajobs.providers.prodvisual.models import StylesResponse

KNOWN = frozenset({"lifestyle", "white_bg", "mockup"})


def request(style: str) -> ProdVisualJobRequest:
    return ProdVisualJobRequest.model_validate(
        {
            "provider": "prodvisual",
            "product": {"image_url": "https://shop.example/p.png"},
            "options": {"style": style},
        }
    )


def service(styles: Any) -> JobService:
    settings = Settings(jobs_table="jobs", media_bucket="media", state_machine_arn="unused")
    return JobService(store=None, s3=None, sfn=None, http=None, settings=settings, styles=styles)  # type: ignore[arg-type]


def test_an_unlisted_style_is_refused_naming_every_listed_one() -> None:
    with pytest.raises(ValidationFailedError) as caught:
        check_style("watercolour", KNOWN)

    assert caught.value.code == "unknown_style"
    assert "use one of: lifestyle, mockup, white_bg" in caught.value.message
    details = caught.value.details or []
    assert [(d.path, "watercolour" in d.message) for d in details] == [("options.style", True)]


def test_a_listed_style_passes() -> None:
    check_style("mockup", KNOWN)


def test_without_a_list_every_style_is_left_to_the_provider() -> None:
    check_style("watercolour", None)


def test_a_job_request_is_checked_against_the_services_style_list() -> None:
    jobs = service(lambda: KNOWN)

    jobs.check_request(request("mockup"))
    with pytest.raises(ValidationFailedError, match="watercolour"):
        jobs.check_request(request("watercolour"))


class FakeProdVisual(ProdVisualAdapter):
    """Answers ``styles()`` with a given list or error, and counts the calls (no HTTP)."""

    def __init__(self, answer: StylesResponse | Exception) -> None:  # no client: styles() only
        self.answer = answer
        self.calls = 0

    def styles(self) -> StylesResponse:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def catalog_of(adapter: FakeProdVisual) -> ProviderCatalog:
    return ProviderCatalog(lambda _name: adapter)


def test_the_catalog_gives_the_providers_style_ids_once_per_ttl() -> None:
    listed = StylesResponse.model_validate(
        {"styles": [{"id": s, "name": s.title()} for s in sorted(KNOWN)], "total": len(KNOWN)}
    )
    adapter = FakeProdVisual(listed)
    catalog = catalog_of(adapter)

    assert catalog.known_style_ids() == KNOWN
    assert catalog.known_style_ids() == KNOWN
    assert adapter.calls == 1


def test_when_the_provider_cannot_list_its_styles_none_are_checked() -> None:
    down = provider_error(
        provider="prodvisual", kind=ErrorKind.SERVER_ERROR, provider_code="503", provider_message="down"
    )
    catalog = catalog_of(FakeProdVisual(down))

    assert catalog.known_style_ids() is None
    service(catalog.known_style_ids).check_request(request("watercolour"))
