"""The API's docs page (Swagger UI at /v1/docs) and its OpenAPI document, without an API key."""

from __future__ import annotations

import httpx
from local.stack import LocalStack
from playwright.sync_api import Page

from tests.e2e.browser import browser, page  # noqa: F401 - fixtures

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def test_given_no_api_key_when_the_document_and_docs_page_are_read_then_both_answer_200(
    stack: LocalStack,
) -> None:
    # Given a caller without any Authorization header
    # When it reads the OpenAPI document, the docs page and a private route
    document = httpx.get(f"{stack.api_url}/v1/openapi.json", timeout=30.0)
    docs = httpx.get(f"{stack.api_url}/v1/docs", timeout=30.0)
    private = httpx.get(f"{stack.api_url}/v1/jobs", timeout=30.0)

    # Then the document and the page are public, the jobs are not
    assert document.status_code == 200, document.text
    assert document.json()["info"]["title"] == "mediajobs"
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "/console/swagger-ui/swagger-ui-bundle.min.js" in docs.text
    assert private.status_code == 401
    assert private.json()["error"]["code"] == "unauthorized"


def test_given_the_swagger_ui_files_when_asked_for_then_the_console_function_serves_them(
    stack: LocalStack,
) -> None:
    # When the docs page's script and style and an unknown name are asked for
    script = httpx.get(f"{stack.api_url}/console/swagger-ui/swagger-ui-bundle.min.js", timeout=30.0)
    style = httpx.get(f"{stack.api_url}/console/swagger-ui/swagger-ui.min.css", timeout=30.0)
    unknown = httpx.get(f"{stack.api_url}/console/swagger-ui/package.json", timeout=30.0)

    # Then swagger-ui-dist's files come back with their types; nothing outside the allowlist does
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in script.text
    assert style.status_code == 200
    assert style.headers["content-type"].startswith("text/css")
    assert ".swagger-ui" in style.text
    assert unknown.status_code == 404


def test_given_a_browser_without_internet_when_it_opens_the_docs_then_every_operation_is_listed(
    stack: LocalStack,
    page: Page,  # noqa: F811 - fixture
) -> None:
    # Given the operations the OpenAPI document declares
    document = httpx.get(f"{stack.api_url}/v1/openapi.json", timeout=30.0).json()
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert ("POST", "/v1/jobs") in operations
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    # When headless Chromium opens the docs page (no key)
    page.goto(f"{stack.api_url}/v1/docs")
    page.wait_for_selector(".opblock-summary", timeout=30_000)

    # Then Swagger UI rendered one block per operation, from files the stack served itself
    pairs = page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(b => [
            b.querySelector('.opblock-summary-method').textContent.trim(),
            b.querySelector('.opblock-summary-path').getAttribute('data-path'),
        ])""",
    )
    assert {(method, path) for method, path in pairs} == operations
    assert page.get_by_text("mediajobs", exact=False).first.is_visible()
    assert requested, "the page made no request"
    assert all(url.startswith(stack.api_url) for url in requested), requested
