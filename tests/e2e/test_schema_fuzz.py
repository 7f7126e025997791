"""Schemathesis fuzzes every operation of the OpenAPI document the local stack serves.

With a valid key every answer must be a documented status code with a documented content type and
body, and never a server error; without a key every answer must be the API's 401 error body.

The fuzzer's URLs (``product.image_url``, ``product.page_url``, ``webhook_url``) are replaced by a
closed port on loopback before each request: mediajobs vets and fetches them while answering
(DNS, then a connection), and a test here sends traffic to loopback only. The URL is still a valid
one, so the request takes the same path through validation and the SSRF policy; the fetch is
refused at once, which fails the intake (422) or, for jobs that fetch later, the job.

The runs are bounded (a fixed number of examples per operation, derandomized so that CI draws
the same requests every time) and use a tenant of their own, seeded with a succeeded and a failed
job so that the listing has real jobs to conform; the module waits for every job the fuzzer got
accepted to end before the next module runs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local.sample_shop import SampleShop
from local.stack import LocalStack
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.e2e.conftest import FINAL, Client, fast_sandboxes, sandbox_settings

Operation = APIOperation[Any, Any, Any, Any]
AnyCase = Case[Any]

OPENAPI_PATH = "/v1/openapi.json"
#: nothing listens there: a fetch is refused at once, and the request never leaves the machine
UNREACHABLE_URL = "http://127.0.0.1:9/fuzz"
#: request fields whose URL mediajobs vets (DNS) and calls
URL_FIELDS = frozenset({"image_url", "page_url", "webhook_url"})
AUTHENTICATED_EXAMPLES = 25
ANONYMOUS_EXAMPLES = 10

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# fast providers: the jobs the fuzzer gets accepted (JoggAI jobs from product details) end quickly


@pytest.fixture(scope="module")
def fast_providers(stack: LocalStack) -> Iterator[None]:
    with fast_sandboxes(stack):
        yield


@pytest.fixture(scope="module")
def fuzz_client(stack: LocalStack, shop: SampleShop, fast_providers: None) -> Iterator[Client]:
    """A tenant of its own with a succeeded and a failed job; its jobs all end before the next module."""
    key = f"fuzz-{uuid.uuid4().hex}"
    stack.add_api_key(key, f"tenant-{key}")
    client = Client(stack.api_url, key)
    body = {"provider": "prodvisual", "product": {"image_url": shop.url("product.png")}}
    client.run(body | {"options": {"style": "white_bg"}})
    assert stack.sandboxes is not None
    prodvisual = stack.sandboxes.prodvisual
    failing = prodvisual.settings.faults.model_copy(update={"job_failure_rate": 1.0}).model_dump()
    with sandbox_settings(prodvisual, faults=failing):
        client.run(body | {"options": {"style": "lifestyle"}})
    yield client
    wait_until_every_job_ended(client)
    client.http.close()


@pytest.fixture(scope="module")
def openapi_document(stack: LocalStack) -> dict[str, Any]:
    answer = httpx.get(f"{stack.api_url}{OPENAPI_PATH}", headers={"Authorization": f"Bearer {stack.api_key}"})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.fixture(scope="module")
def api_schema(stack: LocalStack, openapi_document: dict[str, Any]) -> OpenApiSchema:
    schema = schemathesis.openapi.from_dict(openapi_document)
    schema.config.update(base_url=stack.api_url)
    # no made-up Authorization header: each test sends the one it means (a key or none)
    schema.config.generation.update(with_security_parameters=False)
    return schema


def keep_on_loopback(value: Any) -> Any:
    """``value`` with every URL field (at any depth, batch items too) set to :data:`UNREACHABLE_URL`."""
    if isinstance(value, dict):
        return {
            key: UNREACHABLE_URL if key in URL_FIELDS and isinstance(item, str) else keep_on_loopback(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [keep_on_loopback(item) for item in value]
    return value


def wait_until_every_job_ended(client: Client, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        answer = client.http.get("/v1/jobs", params=params)
        assert answer.status_code == 200, answer.text
        for job in answer.json()["jobs"]:
            if job["status"] not in FINAL:
                client.wait_final(job["job_id"], timeout=max(1.0, deadline - time.monotonic()))
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return


def operations(schema: OpenApiSchema, document: dict[str, Any]) -> list[Operation]:
    """Every operation of the document (a part schemathesis cannot read fails the test)."""
    found: list[Operation] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        found.append(result.ok())
    assert len(found) == sum(len(methods) for methods in document["paths"].values())
    return found


def fuzz_every_operation(
    schema: OpenApiSchema,
    document: dict[str, Any],
    subtests: pytest.Subtests,
    *,
    headers: dict[str, str] | None,
    max_examples: int,
    check: Callable[[AnyCase], None],
) -> None:
    """Run ``check`` on ``max_examples`` valid and invalid requests of each operation, one subtest each.

    schemathesis' own pytest integration (``schemathesis.pytest.from_fixture``) does the same, but
    it sets ``Function._nodeid``, which pytest 9.2 no longer has; this drives the same strategies
    (one_of the positive and negative ones, as its fuzzing phase does) with Hypothesis directly.
    """
    for operation in operations(schema, document):
        cases = st.one_of([operation.as_strategy(mode, headers=headers) for mode in GenerationMode])

        @settings(
            max_examples=max_examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(case=cases)
        def run(case: AnyCase) -> None:
            check(case)

        with subtests.test(msg=operation.label):
            run()


def test_every_operation_answers_as_documented_and_never_with_a_server_error(
    api_schema: OpenApiSchema,
    openapi_document: dict[str, Any],
    fuzz_client: Client,
    subtests: pytest.Subtests,
) -> None:
    key = fuzz_client.http.headers["authorization"]

    def conforms(case: AnyCase) -> None:
        case.body = keep_on_loopback(case.body)
        response = case.call_and_validate(headers={"Authorization": key}, checks=CHECKS, timeout=30)
        assert response.request.headers["Authorization"] == key

    fuzz_every_operation(
        api_schema,
        openapi_document,
        subtests,
        headers={"Authorization": key},
        max_examples=AUTHENTICATED_EXAMPLES,
        check=conforms,
    )


def test_without_a_key_every_operation_answers_401_with_the_error_body(
    api_schema: OpenApiSchema, openapi_document: dict[str, Any], subtests: pytest.Subtests
) -> None:
    def refused(case: AnyCase) -> None:
        case.body = keep_on_loopback(case.body)
        response = case.call(timeout=30)
        case.validate_response(response, checks=[not_a_server_error])
        assert "Authorization" not in response.request.headers
        operation = openapi_document["paths"][case.operation.path][case.method.lower()]
        if operation.get("security") == [{}]:  # documented as public (the OpenAPI document itself)
            assert response.status_code == 200, (response.status_code, response.text)
            return
        assert response.status_code == 401, (response.status_code, response.text)
        assert response.headers["content-type"] == ["application/json"]
        error = response.json()["error"]
        assert error["code"] == "unauthorized"
        assert isinstance(error["message"], str)
        assert error["message"]

    fuzz_every_operation(
        api_schema,
        openapi_document,
        subtests,
        headers=None,
        max_examples=ANONYMOUS_EXAMPLES,
        check=refused,
    )
