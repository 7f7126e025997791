"""The provider catalog through the HTTP API: capabilities, option schemas, ProdVisual's styles, credits."""

from __future__ import annotations

from typing import Any

import pytest
from local.stack import LocalStack

from tests.e2e.conftest import Client, sandbox_settings


def providers(client: Client) -> dict[str, dict[str, Any]]:
    answer = client.http.get("/v1/providers")
    assert answer.status_code == 200, answer.text
    return {p["provider"]: p for p in answer.json()["providers"]}


def test_the_providers_are_listed_with_their_capabilities(client: Client) -> None:
    listed = providers(client)

    assert set(listed) == {"creatify", "jogg", "prodvisual"}
    assert listed["creatify"]["stages"] == ["image", "video"]
    assert listed["creatify"]["continue_to_video"] is True
    assert listed["creatify"]["regenerate"]["fields"] == ["image_prompt", "video_prompt"]
    assert listed["jogg"]["regenerate"]["fields"] == ["script_style", "override_script"]
    assert "X-Webhook-Signature" in listed["jogg"]["webhook_signing"]
    assert listed["prodvisual"]["output_kinds"] == ["image"]
    assert listed["prodvisual"]["styles_url"] == "/v1/providers/prodvisual/styles"
    assert [p["credits"] for p in listed.values()] == [False, False, True]


def test_each_provider_shows_the_json_schema_of_its_options(client: Client) -> None:
    listed = providers(client)

    assert listed["prodvisual"]["options_schema"]["required"] == ["style"]
    assert "stop_after" in listed["creatify"]["options_schema"]["properties"]
    assert "script_style" in listed["jogg"]["options_schema"]["properties"]
    assert listed["jogg"]["options_schema"]["additionalProperties"] is False


def test_prodvisual_styles_are_passed_through_and_served_from_the_cache(
    stack: LocalStack, client: Client
) -> None:
    assert stack.sandboxes is not None
    sandbox = stack.sandboxes.prodvisual

    first = client.http.get("/v1/providers/prodvisual/styles")
    calls = sum(1 for r in sandbox.requests if r.endpoint == "styles")
    second = client.http.get("/v1/providers/prodvisual/styles")

    assert first.status_code == second.status_code == 200
    body = first.json()
    assert body["provider"] == "prodvisual"
    assert body["total"] == len(body["styles"]) == 22
    assert {
        "id": "white_bg",
        "name": "Clean White Background",
        "description": "Studio-quality white background",
    } in body["styles"]
    assert first.headers["cache-control"].startswith("private, max-age=")
    assert second.json() == body
    assert calls >= 1
    assert sum(1 for r in sandbox.requests if r.endpoint == "styles") == calls


def test_prodvisual_credits_are_shown_in_our_shape(stack: LocalStack, client: Client) -> None:
    assert stack.sandboxes is not None

    answer = client.http.get("/v1/providers/prodvisual/credits")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["provider"] == "prodvisual"
    assert body["credits_remaining"] == stack.sandboxes.prodvisual.credits_remaining
    assert set(body) == {
        "provider",
        "credits_remaining",
        "credits_used_total",
        "credits_used_today",
        "last_purchase",
    }


@pytest.mark.parametrize(("provider", "code"), [("creatify", "not_supported"), ("jogg", "not_supported")])
def test_providers_without_a_credits_endpoint_say_so(client: Client, provider: str, code: str) -> None:
    answer = client.http.get(f"/v1/providers/{provider}/credits")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == code
    assert "no credits endpoint" in answer.json()["error"]["message"]


def test_an_unknown_provider_has_no_credits(client: Client) -> None:
    answer = client.http.get("/v1/providers/acme/credits")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "unknown_provider"


def test_credits_answer_503_while_the_provider_fails(stack: LocalStack, client: Client) -> None:
    assert stack.sandboxes is not None
    faults = {"endpoints": {"credits": {"server_error": 1.0}}}
    with sandbox_settings(stack.sandboxes.prodvisual, faults=faults):
        answer = client.http.get("/v1/providers/prodvisual/credits")

    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "provider_unavailable"


def test_credits_answer_502_when_the_provider_refuses_our_key(stack: LocalStack, client: Client) -> None:
    assert stack.sandboxes is not None
    with sandbox_settings(stack.sandboxes.prodvisual, api_key="pv_test_rotated"):
        answer = client.http.get("/v1/providers/prodvisual/credits")

    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == "provider_auth_failed"


def test_the_catalog_needs_an_api_key(stack: LocalStack) -> None:
    answer = Client(stack.api_url, None).http.get("/v1/providers")

    assert answer.status_code == 401
