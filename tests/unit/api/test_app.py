"""The client API (events/api_*.json): auth first, validation with field paths, tenants, OpenAPI.

``create`` is scripted (taking a product image in is tested elsewhere); reading a job goes
through the real JobService on a moto table and bucket created from template.yaml.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from moto import mock_aws

from mediajobs.api.app import build_app
from mediajobs.api.auth import ApiCaller
from mediajobs.api.context import ApiServices
from mediajobs.api.keys import key_id_for
from mediajobs.api.schemas import JobRequest
from mediajobs.config import Settings
from mediajobs.errors import InvalidProductImageError, MediajobsError, ServiceUnavailableError
from mediajobs.jobs.models import Job
from mediajobs.jobs.service import JobService
from mediajobs.jobs.store import JobStore
from mediajobs.providers.base import ProviderName
from tests.support.aws import MOCK_CONFIG, REGION, create_from_template
from tests.unit.api.conftest import Answer, sample_event, send, with_json_body, with_path
from tests.unit.jobs.fakes import completed, new_job

KEYS = {"local-dev-key": "tenant-a", "other-key": "tenant-b"}
API_HOST = "https://abcdef1234.execute-api.us-east-1.amazonaws.com"
SAMPLE_JOB_ID = "0123456789abcdef0123456789abcdef"


class FakeAuth:
    """Keys by their Authorization header; ``seen`` records every header asked about."""

    def __init__(self) -> None:
        self.seen: list[str | None] = []

    def caller_for(self, authorization: str | None) -> ApiCaller | None:
        self.seen.append(authorization)
        if not authorization or not authorization.startswith("Bearer "):
            return None
        key = authorization.removeprefix("Bearer ")
        tenant = KEYS.get(key)
        return ApiCaller(tenant, key_id_for(key)) if tenant else None


class Unused:
    """A service the routes under test must not call."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(f"the jobs routes used services().{self._name}.{attribute}")


class ScriptedJobService(JobService):
    """JobService whose ``create`` records the call and answers what the test scripted."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.created: list[tuple[str, Any, str]] = []
        self.key_ids: list[str | None] = []
        self.create_error: Exception | None = None

    def create(
        self, tenant_id: str, request: JobRequest, *, public_base_url: str, api_key_id: str | None = None
    ) -> Job:
        self.created.append((tenant_id, request, public_base_url))
        self.key_ids.append(api_key_id)
        if self.create_error is not None:
            raise self.create_error
        provider = ProviderName(request.provider)
        return self.store.create(new_job(f"{len(self.created):032x}", provider, tenant_id=tenant_id))


@pytest.fixture
def jobs() -> Iterator[ScriptedJobService]:
    with mock_aws(config=MOCK_CONFIG):
        names = create_from_template(["JobsTable", "MediaBucket"])
        settings = Settings(jobs_table=names["JobsTable"], media_bucket=names["MediaBucket"])
        table = boto3.resource("dynamodb", region_name=REGION).Table(names["JobsTable"])
        yield ScriptedJobService(
            store=JobStore(table),
            s3=boto3.client("s3", region_name=REGION),
            sfn=None,  # create is scripted: nothing starts an execution
            http=None,  # nor fetches a product image
            settings=settings,
        )


@pytest.fixture
def auth() -> FakeAuth:
    return FakeAuth()


@pytest.fixture
def app(jobs: ScriptedJobService, auth: FakeAuth) -> APIGatewayHttpResolver:
    # services these tests do not use (batches...) answer nothing: touching one fails the test
    unused = {f.name: Unused(f.name) for f in fields(ApiServices) if f.name not in {"jobs", "auth"}}
    services = ApiServices(jobs=jobs, auth=auth, **unused)  # type: ignore[arg-type]
    return build_app(lambda: services)


def create(app: APIGatewayHttpResolver, body: Any = None, *, key: str | None = "local-dev-key") -> Answer:
    event = sample_event("api_create_job_prodvisual.json")
    if body is not None:
        with_json_body(event, body)
    if key is None:
        del event["headers"]["authorization"]
    else:
        event["headers"]["authorization"] = f"Bearer {key}"
    return send(app, event)


def get_job(app: APIGatewayHttpResolver, job_id: str, *, key: str = "local-dev-key") -> Answer:
    event = with_path(sample_event("api_get_job.json"), f"/v1/jobs/{job_id}")
    event["pathParameters"] = {"job_id": job_id}
    event["headers"]["authorization"] = f"Bearer {key}"
    return send(app, event)


def details(answer: Answer) -> list[str]:
    return [d["path"] for d in answer.json["error"].get("details", [])]


PRODVISUAL_BODY: dict[str, Any] = json.loads(sample_event("api_create_job_prodvisual.json")["body"])


# --- authentication --------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "unknown-key"], ids=["no-key", "unknown-key"])
def test_given_no_valid_key_when_creating_with_an_invalid_body_then_401_not_422(
    app: APIGatewayHttpResolver, jobs: ScriptedJobService, key: str | None
) -> None:
    invalid = json.loads(sample_event("api_create_job_invalid.json")["body"])

    answer = create(app, invalid, key=key)

    assert answer.status == 401
    assert answer.error_code == "unauthorized"
    assert jobs.created == []


def test_given_no_valid_key_when_sending_malformed_json_then_401(app: APIGatewayHttpResolver) -> None:
    assert create(app, "{not json", key="unknown-key").status == 401


def test_given_a_basic_auth_header_when_reading_a_job_then_401(app: APIGatewayHttpResolver) -> None:
    event = sample_event("api_get_job.json")
    event["headers"]["authorization"] = "Basic bG9jYWwtZGV2LWtleTo="

    answer = send(app, event)

    assert answer.status == 401
    assert answer.error_code == "unauthorized"


# --- create ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event_file",
    ["api_create_job_prodvisual.json", "api_create_job_creatify.json", "api_create_job_jogg.json"],
)
def test_given_a_valid_request_when_creating_then_202_with_location_and_the_tenants_request(
    app: APIGatewayHttpResolver, jobs: ScriptedJobService, event_file: str
) -> None:
    event = sample_event(event_file)

    answer = send(app, event)

    assert answer.status == 202
    job_id = answer.json["job_id"]
    assert answer.json == {"job_id": job_id, "status": "queued", "links": {"self": f"/v1/jobs/{job_id}"}}
    assert answer.headers["location"] == f"/v1/jobs/{job_id}"
    ((tenant, request, base_url),) = jobs.created
    assert tenant == "tenant-a"
    assert request.provider == json.loads(event["body"])["provider"]
    assert base_url == API_HOST
    assert jobs.key_ids == [key_id_for("local-dev-key")]  # the caller's key pays too (its budget)


def test_given_a_configured_public_base_url_when_creating_then_it_is_used_for_links(
    app: APIGatewayHttpResolver, jobs: ScriptedJobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://media.example.com/")

    assert create(app).status == 202
    assert jobs.created[0][2] == "https://media.example.com"


def test_given_an_unknown_provider_when_creating_then_422_at_path_provider(
    app: APIGatewayHttpResolver, jobs: ScriptedJobService
) -> None:
    answer = create(app, PRODVISUAL_BODY | {"provider": "midjourney"})

    assert answer.status == 422
    assert answer.error_code == "validation_error"
    assert details(answer) == ["provider"]
    assert jobs.created == []


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (PRODVISUAL_BODY | {"priority": "high"}, "priority"),
        (
            PRODVISUAL_BODY | {"product": {"image_url": "https://shop.example.com/a.png", "colour": "red"}},
            "product.colour",
        ),
        (PRODVISUAL_BODY | {"options": {"style": "lifestyle", "seed": 4}}, "options.seed"),
    ],
    ids=["top-level", "product", "options"],
)
def test_given_an_extra_field_when_creating_then_422_at_its_path(
    app: APIGatewayHttpResolver, jobs: ScriptedJobService, body: dict[str, Any], path: str
) -> None:
    answer = create(app, body)

    assert answer.status == 422
    assert details(answer) == [path]
    assert jobs.created == []


def test_given_a_value_outside_an_options_enum_when_creating_then_422_at_options_field(
    app: APIGatewayHttpResolver,
) -> None:
    answer = send(app, sample_event("api_create_job_invalid.json"))  # format "gif"

    assert answer.status == 422
    assert answer.error_code == "validation_error"
    assert details(answer) == ["options.format"]
    assert "options.format" in answer.json["error"]["message"]


def test_given_a_bad_enum_in_creatify_options_when_creating_then_422_at_options_field(
    app: APIGatewayHttpResolver,
) -> None:
    event = sample_event("api_create_job_creatify.json")
    body = json.loads(event["body"])
    body["options"]["aspect_ratio"] = "4x3"

    answer = send(app, with_json_body(event, body))

    assert answer.status == 422
    assert details(answer) == ["options.aspect_ratio"]


def test_given_malformed_json_when_creating_then_400_malformed_json(
    app: APIGatewayHttpResolver, jobs: ScriptedJobService
) -> None:
    answer = create(app, '{"provider": "prodvisual", ')

    assert answer.status == 400
    assert answer.error_code == "malformed_json"
    assert jobs.created == []


@pytest.mark.parametrize("provider", ["creatify", "prodvisual"])
def test_given_an_image_provider_without_image_url_when_creating_then_422_naming_image_url(
    app: APIGatewayHttpResolver, jobs: ScriptedJobService, provider: str
) -> None:
    body: dict[str, Any] = {"provider": provider, "product": {"page_url": "https://shop.example.com/p/1"}}
    if provider == "prodvisual":
        body["options"] = {"style": "lifestyle"}

    answer = create(app, body)

    assert answer.status == 422
    assert "product.image_url is required" in answer.json["error"]["message"]
    assert jobs.created == []


def test_given_jogg_without_page_url_or_title_when_creating_then_422(
    app: APIGatewayHttpResolver, jobs: ScriptedJobService
) -> None:
    answer = create(app, {"provider": "jogg", "product": {"image_url": "https://shop.example.com/a.png"}})

    assert answer.status == 422
    assert "page_url" in answer.json["error"]["message"]
    assert jobs.created == []


def test_given_jogg_with_only_a_title_when_creating_then_accepted(
    app: APIGatewayHttpResolver,
) -> None:
    answer = create(app, {"provider": "jogg", "product": {"title": "Aurora bottle"}})

    assert answer.status == 202


def test_given_the_service_refuses_the_product_image_when_creating_then_its_status_and_code_pass_through(
    app: APIGatewayHttpResolver, jobs: ScriptedJobService
) -> None:
    jobs.create_error = InvalidProductImageError(
        "invalid_product_image", "product.image_url is not a JPEG, PNG or WebP"
    )

    answer = create(app)

    assert answer.status == 422
    assert answer.json == {
        "error": {
            "code": "invalid_product_image",
            "message": "product.image_url is not a JPEG, PNG or WebP",
            # the sample event's requestContext.requestId
            "request_id": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        }
    }


def test_given_the_service_cannot_start_the_job_when_creating_then_503_passes_through(
    app: APIGatewayHttpResolver, jobs: ScriptedJobService
) -> None:
    jobs.create_error = ServiceUnavailableError(
        "service_unavailable", "the job could not be started; please retry"
    )

    answer = create(app)

    assert (answer.status, answer.error_code) == (503, "service_unavailable")


def test_given_a_domain_error_in_the_service_when_creating_then_503_without_its_text(
    app: APIGatewayHttpResolver, jobs: ScriptedJobService
) -> None:
    jobs.create_error = MediajobsError("DynamoDB put_item failed: ProvisionedThroughputExceeded")

    answer = create(app)

    assert (answer.status, answer.error_code) == (503, "service_unavailable")
    assert "DynamoDB" not in answer.text


# --- read ------------------------------------------------------------------------------------------


def test_given_the_tenants_job_when_reading_it_then_200_with_its_view(
    app: APIGatewayHttpResolver, jobs: ScriptedJobService
) -> None:
    job = new_job(SAMPLE_JOB_ID, ProviderName.JOGG, tenant_id="tenant-a")
    job = job.with_task(
        completed(ProviderName.JOGG, stage="product", task_id="p1", credits_used=0.5), now=job.created_at
    )
    jobs.store.create(job)

    answer = send(app, sample_event("api_get_job.json"))

    assert answer.status == 200
    view = answer.json
    assert (view["job_id"], view["provider"], view["status"], view["stage"]) == (
        SAMPLE_JOB_ID,
        "jogg",
        "queued",
        "product",
    )
    assert view["provider_jobs"] == [
        {
            "stage": "product",
            "provider_job_id": "p1",
            "state": "completed",
            "provider_status": "completed",
            "credits_used": 0.5,
        }
    ]
    assert view["links"] == {"self": f"/v1/jobs/{SAMPLE_JOB_ID}"}


def test_given_another_tenants_job_when_reading_it_then_404_as_if_it_did_not_exist(
    app: APIGatewayHttpResolver, jobs: ScriptedJobService
) -> None:
    jobs.store.create(new_job(SAMPLE_JOB_ID, tenant_id="tenant-b"))

    answer = get_job(app, SAMPLE_JOB_ID, key="local-dev-key")

    assert answer.status == 404
    assert answer.error_code == "not_found"
    assert "tenant-b" not in answer.text


@pytest.mark.parametrize("job_id", ["ffffffffffffffffffffffffffffffff", "not-a-job-id"])
def test_given_no_such_job_when_reading_it_then_404(app: APIGatewayHttpResolver, job_id: str) -> None:
    answer = get_job(app, job_id)

    assert (answer.status, answer.error_code) == (404, "not_found")


def test_given_an_unknown_route_when_called_then_404_json(app: APIGatewayHttpResolver) -> None:
    event = with_path(sample_event("api_get_job.json"), "/v1/jobz")

    answer = send(app, event)

    assert answer.status == 404
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.error_code == "not_found"


# --- OpenAPI ---------------------------------------------------------------------------------------


@pytest.fixture
def openapi(app: APIGatewayHttpResolver) -> dict[str, Any]:
    answer = send(app, sample_event("api_openapi.json"))
    assert answer.status == 200
    document: dict[str, Any] = answer.json
    return document


def test_given_the_api_when_asked_for_openapi_then_a_3_1_document_with_both_job_routes(
    openapi: dict[str, Any],
) -> None:
    assert openapi["openapi"].startswith("3.1")
    assert "post" in openapi["paths"]["/v1/jobs"]
    assert "get" in openapi["paths"]["/v1/jobs/{job_id}"]
    assert "/p/{job_id}" not in openapi["paths"]


def test_given_the_openapi_document_when_read_then_every_route_needs_the_bearer_key(
    openapi: dict[str, Any],
) -> None:
    (name, scheme), *_ = openapi["components"]["securitySchemes"].items()
    assert (scheme["type"], scheme["scheme"].lower()) == ("http", "bearer")
    assert openapi["security"] == [{name: []}]


def test_given_the_openapi_document_when_read_then_create_job_lists_202_401_404_422(
    openapi: dict[str, Any],
) -> None:
    responses = openapi["paths"]["/v1/jobs"]["post"]["responses"]

    assert {"202", "401", "404", "422"} <= set(responses)
    error_schema = responses["422"]["content"]["application/json"]["schema"]
    assert error_schema["$ref"].endswith("/ErrorResponse")


def test_given_the_openapi_document_when_read_then_get_job_documents_its_200_job_view(
    openapi: dict[str, Any],
) -> None:
    responses = openapi["paths"]["/v1/jobs/{job_id}"]["get"]["responses"]

    assert {"200", "401", "404"} <= set(responses)
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/JobView")
