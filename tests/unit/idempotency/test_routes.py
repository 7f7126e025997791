"""POST /v1/jobs through the app with an Idempotency-Key: replayed answers, 400, 409, 422."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from mediajobs.api.app import build_app, openapi_document
from mediajobs.api.auth import ApiCaller
from mediajobs.api.context import ApiServices
from mediajobs.api.idempotency import IdempotentCreator, StoredAnswer
from mediajobs.jobs.models import JobStatus
from tests.unit.api.conftest import (
    Answer,
    sample_event,
    send,
    settings_env,  # noqa: F401 - the API tests' autouse settings
    with_json_body,
)

BODY: dict[str, Any] = json.loads(sample_event("api_create_job_prodvisual.json")["body"])
CREATE_ROUTES = [("/v1/jobs", "post"), ("/v1/batches", "post"), ("/v1/uploads", "post")]


@dataclass
class CreatedJob:
    job_id: str
    status: JobStatus = JobStatus.QUEUED


class FakeJobs:
    def __init__(self) -> None:
        self.created: list[tuple[str, Any]] = []

    def create(
        self, tenant_id: str, request: Any, *, public_base_url: str, api_key_id: str | None = None
    ) -> CreatedJob:
        self.created.append((tenant_id, request))
        return CreatedJob(job_id=f"{len(self.created):032x}")


class FakeAuth:
    def caller_for(self, authorization: str | None) -> ApiCaller | None:
        return ApiCaller("tenant-a", "0123456789ab") if authorization == "Bearer local-dev-key" else None


class Unused:
    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(f"the route used services().{self._name}.{attribute}")


@pytest.fixture
def jobs() -> FakeJobs:
    return FakeJobs()


def app_with(jobs: FakeJobs, creator: IdempotentCreator | None) -> APIGatewayHttpResolver:
    named = {"jobs": jobs, "auth": FakeAuth(), "idempotency": creator}
    services = ApiServices(**{f.name: named.get(f.name, Unused(f.name)) for f in fields(ApiServices)})
    return build_app(lambda: services)


@pytest.fixture
def app(jobs: FakeJobs, creator: IdempotentCreator) -> APIGatewayHttpResolver:
    return app_with(jobs, creator)


def post_job(app: APIGatewayHttpResolver, body: Any = None, *, key: str | None = "order-1") -> Answer:
    event = with_json_body(sample_event("api_create_job_prodvisual.json"), BODY if body is None else body)
    if key is not None:
        event["headers"]["idempotency-key"] = key
    return send(app, event)


def test_given_a_created_job_when_the_request_is_repeated_with_its_key_then_the_same_answer(
    app: APIGatewayHttpResolver, jobs: FakeJobs
) -> None:
    first = post_job(app)

    second = post_job(app)

    assert len(jobs.created) == 1
    assert (first.status, second.status) == (202, 202)
    assert second.json == first.json
    assert second.headers["location"] == first.headers["location"] == f"/v1/jobs/{first.json['job_id']}"
    assert (first.headers["idempotent-replayed"], second.headers["idempotent-replayed"]) == ("false", "true")


def test_given_no_key_when_the_request_is_repeated_then_two_jobs(
    app: APIGatewayHttpResolver, jobs: FakeJobs
) -> None:
    first, second = post_job(app, key=None), post_job(app, key=None)

    assert len(jobs.created) == 2
    assert first.json["job_id"] != second.json["job_id"]
    assert "idempotent-replayed" not in second.headers


def test_given_a_used_key_when_sent_with_another_body_then_422_idempotency_key_reused(
    app: APIGatewayHttpResolver, jobs: FakeJobs
) -> None:
    post_job(app)

    answer = post_job(app, BODY | {"metadata": {"order": "other"}})

    assert (answer.status, answer.error_code) == (422, "idempotency_key_reused")
    assert len(jobs.created) == 1


def test_given_a_malformed_key_when_creating_then_400_and_nothing_created(
    app: APIGatewayHttpResolver, jobs: FakeJobs
) -> None:
    answer = post_job(app, key="k" * 256)

    assert (answer.status, answer.error_code) == (400, "invalid_idempotency_key")
    assert jobs.created == []


def test_given_a_request_with_the_key_still_creating_when_repeated_then_409_with_retry_after(
    table_name: str, dynamodb: Any, jobs: FakeJobs
) -> None:
    creator = IdempotentCreator.on_table(table_name, dynamodb, wait_seconds=0.1)

    class Busy(BaseException):
        pass

    def still_creating() -> StoredAnswer:
        raise Busy  # leaves the record in progress, as a request that has not finished does

    with pytest.raises(Busy):
        creator.run(
            operation="jobs",
            tenant_id="tenant-a",
            key="order-1",
            request={"body": BODY, "query": {}},
            create=still_creating,
        )

    answer = post_job(app_with(jobs, creator))

    assert (answer.status, answer.error_code) == (409, "request_in_progress")
    assert int(answer.headers["retry-after"]) >= 1
    assert jobs.created == []


def test_given_no_idempotency_table_when_a_key_is_sent_then_it_is_checked_and_the_job_created(
    jobs: FakeJobs,
) -> None:
    app = app_with(jobs, None)

    good, bad = post_job(app), post_job(app, key="")

    assert (good.status, bad.status) == (202, 400)
    assert len(jobs.created) == 1


@pytest.mark.parametrize(("path", "method"), CREATE_ROUTES)
def test_given_the_openapi_document_then_each_create_route_documents_400_and_409(
    path: str, method: str
) -> None:
    document = json.loads(openapi_document(build_app(lambda: pytest.fail("no service needed"))))

    responses = document["paths"][path][method]["responses"]

    assert {"400", "409"} <= set(responses)
