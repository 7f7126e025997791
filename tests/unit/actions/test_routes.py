"""The action and catalog routes: declared in template.yaml, served by the app, in the OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mediajobs.api.app import build_app, openapi_document
from tests.support.aws import load_template

ROUTES = {
    ("GET", "/v1/jobs"),
    ("POST", "/v1/jobs/{job_id}/regenerate"),
    ("POST", "/v1/jobs/{job_id}/video"),
    ("POST", "/v1/jobs/{job_id}/cancel"),
    ("GET", "/v1/providers"),
    ("GET", "/v1/providers/prodvisual/styles"),
    ("GET", "/v1/providers/{provider}/credits"),
}


def no_services() -> Any:
    pytest.fail("describing the API must not build any service")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(openapi_document(build_app(no_services)))
    return loaded


def test_given_the_template_then_the_api_function_serves_every_action_and_catalog_route() -> None:
    declared = {(r.method, r.path) for r in load_template().routes if r.function == "ApiFunction"}

    assert declared >= ROUTES


def test_given_the_openapi_document_then_it_describes_every_action_and_catalog_route(
    document: dict[str, Any],
) -> None:
    described = {(method.upper(), path) for path, item in document["paths"].items() for method in item}

    assert described >= ROUTES


def test_given_the_openapi_document_then_regenerate_answers_202_and_documents_its_conflicts(
    document: dict[str, Any],
) -> None:
    regenerate = document["paths"]["/v1/jobs/{job_id}/regenerate"]["post"]

    assert {"202", "401", "404", "409", "422"} <= set(regenerate["responses"])


def test_given_the_openapi_document_then_the_job_list_takes_its_filters_and_cursor(
    document: dict[str, Any],
) -> None:
    listing = document["paths"]["/v1/jobs"]["get"]

    assert {p["name"] for p in listing["parameters"]} == {"status", "provider", "limit", "cursor"}
