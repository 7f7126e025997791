"""Bad requests get the right 4xx with a clear JSON error, never a 500, and create nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from local.sample_shop import SampleShop
from local.stack import LocalStack

from tests.e2e.conftest import Client


def error_of(answer: httpx.Response) -> dict[str, Any]:
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"}
    assert body["error"]["code"]
    assert body["error"]["message"]
    return dict(body["error"])


@pytest.mark.parametrize(
    ("body", "code", "path"),
    [
        (
            {"provider": "midjourney", "product": {"image_url": "https://a.example/p.png"}},
            "validation_error",
            "provider",
        ),
        ({"product": {"image_url": "https://a.example/p.png"}}, "validation_error", "provider"),
        ({"provider": "prodvisual", "options": {"style": "mockup"}}, "validation_error", "product"),
        ({"provider": "creatify", "product": {}}, "validation_error", None),
        (
            {
                "provider": "prodvisual",
                "product": {"image_url": "https://a.example/p.png"},
                "options": {"style": "x", "format": "gif"},
            },
            "validation_error",
            "options.format",
        ),
        (
            {
                "provider": "creatify",
                "product": {"image_url": "https://a.example/p.png"},
                "options": {"aspect_ratio": "4x3"},
            },
            "validation_error",
            "options.aspect_ratio",
        ),
        (
            {"provider": "jogg", "product": {"page_url": "https://a.example/p"}, "options": {"length": "45"}},
            "validation_error",
            "options.length",
        ),
        (
            {"provider": "jogg", "product": {"page_url": "https://a.example/p"}, "colour": "red"},
            "validation_error",
            "colour",
        ),
        (
            {"provider": "creatify", "product": {"image_url": "ftp://a.example/p.png"}},
            "validation_error",
            "product.image_url",
        ),
    ],
    ids=[
        "unknown-provider",
        "missing-provider",
        "missing-product",
        "missing-image",
        "bad-prodvisual-format",
        "bad-creatify-aspect",
        "bad-jogg-length",
        "unknown-field",
        "non-http-image-url",
    ],
)
def test_an_invalid_job_request_is_a_422_naming_the_field(
    client: Client, body: dict[str, Any], code: str, path: str | None
) -> None:
    answer = client.http.post("/v1/jobs", json=body)

    assert answer.status_code == 422
    error = error_of(answer)
    assert error["code"] == code
    if path is not None:
        assert path in [d["path"] for d in error["details"]], error


def test_malformed_json_is_a_400(client: Client) -> None:
    answer = client.http.post(
        "/v1/jobs", content=b'{"provider": "creatify",', headers={"Content-Type": "application/json"}
    )

    assert answer.status_code == 400
    assert error_of(answer)["code"] == "malformed_json"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/jobs",
        "/v1/batches",
        "/v1/uploads",
        f"/v1/jobs/{'0' * 32}/regenerate",
        f"/v1/jobs/{'0' * 32}/video",
    ],
)
def test_a_body_that_is_not_utf8_is_a_400_with_a_key_and_a_401_without(
    stack: LocalStack, client: Client, path: str
) -> None:
    headers = {"Content-Type": "application/json"}

    with_key = client.http.post(path, content=b"\xff\xfe{", headers=headers)
    without_key = httpx.post(stack.api_url + path, content=b"\xff\xfe{", headers=headers)

    assert with_key.status_code == 400
    assert error_of(with_key)["code"] == "malformed_json"
    assert without_key.status_code == 401
    assert error_of(without_key)["code"] == "unauthorized"


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-key", "Basic bG9jYWw6ZGV2", "Bearer", "local-dev-key"]
)
def test_requests_without_a_valid_api_key_are_401(stack: LocalStack, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    # /v1/openapi.json and /v1/docs are public (tests/e2e/test_docs_page.py)
    for method, path in (("POST", "/v1/jobs"), ("GET", "/v1/jobs/" + "0" * 32), ("GET", "/v1/providers")):
        answer = httpx.request(method, stack.api_url + path, headers=headers, json={"provider": "x"})
        assert answer.status_code == 401, (method, path)
        assert error_of(answer)["code"] == "unauthorized"


def test_another_tenants_job_is_not_found(stack: LocalStack, client: Client, shop: SampleShop) -> None:
    created = client.create(
        {
            "provider": "prodvisual",
            "product": {"image_url": shop.url("product.png")},
            "options": {"style": "mockup"},
        }
    )
    other = Client(stack.api_url, "other-tenant-key")

    answer = other.http.get(f"/v1/jobs/{created['job_id']}")

    assert answer.status_code == 404
    assert error_of(answer)["code"] == "not_found"
    assert client.job(created["job_id"])["job_id"] == created["job_id"]


@pytest.mark.parametrize("job_id", ["does-not-exist", "0" * 32, "..%2F..%2Fetc", "%00", "A" * 64])
def test_unknown_jobs_are_not_found(client: Client, job_id: str) -> None:
    answer = client.http.get(f"/v1/jobs/{job_id}")

    assert answer.status_code == 404
    assert error_of(answer)["code"] == "not_found"


def test_an_unknown_route_is_a_json_404(client: Client) -> None:
    answer = client.http.get("/v1/nothing-here")

    assert answer.status_code == 404


def test_the_openapi_document_describes_the_job_routes(client: Client) -> None:
    answer = client.http.get("/v1/openapi.json")

    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"].startswith("3.1")
    assert "post" in document["paths"]["/v1/jobs"]
    assert "get" in document["paths"]["/v1/jobs/{job_id}"]
    assert set(document["paths"]["/v1/jobs"]["post"]["responses"]) >= {"202", "401", "422"}


def test_concurrent_requests_of_two_tenants_each_get_their_own_jobs(
    stack: LocalStack, shop: SampleShop
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = {
        "provider": "prodvisual",
        "product": {"image_url": shop.url("product.png")},
        "options": {"style": "mockup"},
    }
    keys = [stack.api_key, "other-tenant-key"] * 6

    def create(key: str) -> tuple[str, str]:
        answer = httpx.post(
            f"{stack.api_url}/v1/jobs", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
        assert answer.status_code == 202, answer.text
        return key, answer.json()["job_id"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        created = list(pool.map(create, keys))

    for key, job_id in created:
        mine = httpx.get(
            f"{stack.api_url}/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
        other = "other-tenant-key" if key == stack.api_key else stack.api_key
        theirs = httpx.get(
            f"{stack.api_url}/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {other}"}, timeout=60
        )
        assert (mine.status_code, theirs.status_code) == (200, 404)
    for key, job_id in created:
        assert Client(stack.api_url, key).wait_final(job_id, timeout=120)["status"] == "succeeded"
