"""The provider catalog: capabilities, the cached styles list, credits, and provider failures as 502/503."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from mediajobs.api.errors import ApiError, from_domain
from mediajobs.catalog.service import ProviderCatalog, provider_views
from mediajobs.errors import DomainError
from mediajobs.providers.base import ProviderAdapter, ProviderName
from mediajobs.providers.http import NO_RETRY
from mediajobs.providers.prodvisual import ProdVisualAdapter, ProdVisualOptions

FIXTURES = Path(__file__).parents[2] / "fixtures" / "provider_docs" / "prodvisual"
STYLES = {"styles": [{"id": "lifestyle", "name": "Lifestyle", "description": "In use"}], "total": 1}
FETCHED = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@dataclass
class FakeProdVisual:
    """Answers by path; ``status`` turns every answer into that error status."""

    calls: list[str] = field(default_factory=list)
    status: int = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.url.path)
        if self.status != 200:
            error = {"error": {"code": "x", "message": "provider says no", "status": self.status}}
            return httpx.Response(self.status, json=error)
        if request.url.path == "/v1/styles":
            return httpx.Response(200, json=STYLES)
        return httpx.Response(200, json=json.loads((FIXTURES / "credits-response.json").read_text()))


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def provider() -> FakeProdVisual:
    return FakeProdVisual()


@pytest.fixture
def monotonic() -> Monotonic:
    return Monotonic()


@pytest.fixture
def catalog(provider: FakeProdVisual, monotonic: Monotonic) -> Iterator[ProviderCatalog]:
    adapter = ProdVisualAdapter(
        "https://api.prodvisual.test", "pv_test_key", retry=NO_RETRY, transport=httpx.MockTransport(provider)
    )
    yield ProviderCatalog(
        lambda _name: adapter, styles_ttl_seconds=600, monotonic=monotonic, clock=lambda: FETCHED
    )
    adapter.close()


def refusal(call: Any) -> ApiError:
    with pytest.raises(DomainError) as caught:
        call()
    return from_domain(caught.value)


def test_given_the_providers_then_each_has_its_stages_outputs_and_options_schema() -> None:
    views = {view.provider: view for view in provider_views().providers}

    assert list(views) == [ProviderName.CREATIFY, ProviderName.JOGG, ProviderName.PRODVISUAL]
    assert views[ProviderName.JOGG].stages == ["product", "video"]
    assert views[ProviderName.PRODVISUAL].options_schema == ProdVisualOptions.model_json_schema()
    assert [v.continue_to_video for v in views.values()] == [True, False, False]
    assert all(v.regenerate.supported and v.regenerate.fields for v in views.values())


def test_given_styles_when_asked_twice_within_the_ttl_then_the_provider_is_asked_once(
    catalog: ProviderCatalog, provider: FakeProdVisual, monotonic: Monotonic
) -> None:
    first, first_age = catalog.prodvisual_styles()
    monotonic.now += 599
    second, second_age = catalog.prodvisual_styles()

    assert provider.calls == ["/v1/styles"]
    assert first == second
    assert [(s.id, s.name, s.description) for s in first.styles] == [("lifestyle", "Lifestyle", "In use")]
    assert (first.total, first.fetched_at) == (1, FETCHED)
    assert (first_age, second_age) == (600, 1)


def test_given_cached_styles_when_the_ttl_has_passed_then_they_are_read_again(
    catalog: ProviderCatalog, provider: FakeProdVisual, monotonic: Monotonic
) -> None:
    catalog.prodvisual_styles()
    monotonic.now += 600

    catalog.prodvisual_styles()

    assert provider.calls == ["/v1/styles", "/v1/styles"]


def test_given_prodvisual_credits_then_they_come_in_our_shape(catalog: ProviderCatalog) -> None:
    balance = catalog.credits("prodvisual")

    assert balance.model_dump(mode="json") == {
        "provider": "prodvisual",
        "credits_remaining": 142,
        "credits_used_total": 858,
        "credits_used_today": 23,
        "last_purchase": {"amount": 100, "date": "2026-03-01T09:15:00Z"},
    }


@pytest.mark.parametrize("name", ["creatify", "jogg"])
def test_given_a_provider_without_a_credits_endpoint_then_404_not_supported(
    catalog: ProviderCatalog, provider: FakeProdVisual, name: str
) -> None:
    error = refusal(lambda: catalog.credits(name))

    assert (error.status, error.code) == (404, "not_supported")
    assert provider.calls == []


def test_given_an_unknown_provider_then_404_unknown_provider(catalog: ProviderCatalog) -> None:
    error = refusal(lambda: catalog.credits("acme"))

    assert (error.status, error.code) == (404, "unknown_provider")
    assert "creatify, jogg, prodvisual" in error.message


@pytest.mark.parametrize(
    ("status", "answer", "code"),
    [
        (503, 503, "provider_unavailable"),
        (429, 503, "provider_unavailable"),
        (401, 502, "provider_auth_failed"),
        (400, 502, "provider_error"),
    ],
)
def test_given_a_failing_provider_then_credits_and_styles_answer_502_or_503(
    catalog: ProviderCatalog, provider: FakeProdVisual, status: int, answer: int, code: str
) -> None:
    provider.status = status

    for call in (lambda: catalog.credits("prodvisual"), catalog.prodvisual_styles):
        error = refusal(call)
        assert (error.status, error.code) == (answer, code)


def test_given_unreadable_provider_credentials_then_503(monotonic: Monotonic) -> None:
    def no_secret(_name: ProviderName) -> ProviderAdapter:
        raise GetParameterError("AccessDenied")

    catalog = ProviderCatalog(no_secret, monotonic=monotonic)

    error = refusal(lambda: catalog.credits("prodvisual"))

    assert (error.status, error.code) == (503, "provider_unavailable")
