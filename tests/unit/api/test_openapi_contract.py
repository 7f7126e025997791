"""The served OpenAPI document is a contract: valid, cleanly named, and true to what routes answer.

The document is read through the API (``GET /v1/openapi.json``). What a route "really answers"
is found by sending it requests: without a key, with a broken body, and with services that
refuse in each way the domain can; every status and answer header that comes back must be in the
document for that operation, with the ``ErrorResponse`` schema for errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from openapi_spec_validator import validate
from pydantic import TypeAdapter

from mediajobs.api.app import build_app
from mediajobs.api.auth import ApiCaller
from mediajobs.api.context import ApiServices
from mediajobs.api.errors import ErrorResponse
from mediajobs.api.examples import BATCH_EXAMPLES, JOB_EXAMPLES, UPLOAD_EXAMPLES
from mediajobs.api.idempotency import Outcome, RequestInProgressError, StoredAnswer
from mediajobs.api.schemas import JobRequest
from mediajobs.batches.models import BatchCreateRequest
from mediajobs.errors import (
    ConflictError,
    InvalidRequestError,
    JobNotFoundError,
    MediajobsError,
    UnknownResourceError,
    UpstreamError,
    ValidationFailedError,
)
from mediajobs.uploads.models import UploadRequest
from tests.unit.api.conftest import (
    Answer,
    sample_event,
    send,
    settings_env,  # noqa: F401 - the API tests' autouse settings
    with_path,
)

JOB_ID = "0123456789abcdef0123456789abcdef"
CAMEL_CASE = re.compile(r"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*$")
#: headers whose presence in an answer the document must declare
DECLARED_HEADERS = {"location", "retry-after", "idempotent-replayed", "cache-control"}


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    body: Any = None
    #: the failures of services this operation's route passes on, and the status each answers
    refusals: dict[int, Exception] = field(default_factory=dict)


UNAVAILABLE = MediajobsError("the table is down")
NOT_FOUND = JobNotFoundError(JOB_ID)
CONFLICT = ConflictError("job_final", "the job is already final")

OPERATIONS = [
    Operation("createJob", "POST", "/v1/jobs", JOB_EXAMPLES["prodvisual"]["value"], {503: UNAVAILABLE}),
    Operation("getJob", "GET", f"/v1/jobs/{JOB_ID}", None, {404: NOT_FOUND, 503: UNAVAILABLE}),
    Operation(
        "listJobs",
        "GET",
        "/v1/jobs",
        None,
        {400: InvalidRequestError("invalid_cursor", "not a cursor of ours"), 503: UNAVAILABLE},
    ),
    Operation(
        "cancelJob",
        "POST",
        f"/v1/jobs/{JOB_ID}/cancel",
        None,
        {404: NOT_FOUND, 409: CONFLICT, 503: UNAVAILABLE},
    ),
    Operation(
        "regenerateJob",
        "POST",
        f"/v1/jobs/{JOB_ID}/regenerate",
        {"style": "mockup"},
        {404: NOT_FOUND, 409: CONFLICT, 503: UNAVAILABLE},
    ),
    Operation(
        "continueJob",
        "POST",
        f"/v1/jobs/{JOB_ID}/video",
        {},
        {404: NOT_FOUND, 409: CONFLICT, 503: UNAVAILABLE},
    ),
    Operation(
        "createUpload",
        "POST",
        "/v1/uploads",
        UPLOAD_EXAMPLES["prodvisual"]["value"],
        {422: ValidationFailedError("validation_error", "bad filename"), 503: UNAVAILABLE},
    ),
    Operation("getUpload", "GET", f"/v1/uploads/{JOB_ID}", None, {404: NOT_FOUND, 503: UNAVAILABLE}),
    Operation("createBatch", "POST", "/v1/batches", BATCH_EXAMPLES["mixed"]["value"], {503: UNAVAILABLE}),
    Operation("getBatch", "GET", f"/v1/batches/{JOB_ID}", None, {404: NOT_FOUND, 503: UNAVAILABLE}),
    Operation(
        "retryBatch",
        "POST",
        f"/v1/batches/{JOB_ID}/retry",
        None,
        {404: NOT_FOUND, 409: CONFLICT, 503: UNAVAILABLE},
    ),
    Operation("listJobEvents", "GET", f"/v1/jobs/{JOB_ID}/events", None, {404: NOT_FOUND, 503: UNAVAILABLE}),
    Operation(
        "listWebhookDeliveries",
        "GET",
        "/v1/webhook-deliveries",
        None,
        {400: InvalidRequestError("invalid_cursor", "not a cursor of ours"), 503: UNAVAILABLE},
    ),
    Operation(
        "replayWebhookDelivery",
        "POST",
        f"/v1/webhook-deliveries/{JOB_ID}/replay",
        None,
        {404: NOT_FOUND, 409: CONFLICT, 503: UNAVAILABLE},
    ),
    Operation(
        "createEstimate",
        "POST",
        "/v1/estimates",
        {"items": [JOB_EXAMPLES["prodvisual"]["value"]]},
        {503: UNAVAILABLE},
    ),
    Operation("getUsage", "GET", "/v1/usage", None, {503: UNAVAILABLE}),
    Operation("getBudget", "GET", "/v1/budget", None, {503: UNAVAILABLE}),
    Operation("createBatchManifest", "POST", "/v1/batch-manifests", {"format": "csv"}, {503: UNAVAILABLE}),
    Operation(
        "getBatchManifest", "GET", f"/v1/batch-manifests/{JOB_ID}", None, {404: NOT_FOUND, 503: UNAVAILABLE}
    ),
    Operation("listProviders", "GET", "/v1/providers", None, {503: UNAVAILABLE}),
    Operation(
        "getProdvisualStyles",
        "GET",
        "/v1/providers/prodvisual/styles",
        None,
        {502: UpstreamError("provider_error", "bad key"), 503: UNAVAILABLE},
    ),
    Operation(
        "getProviderCredits",
        "GET",
        "/v1/providers/creatify/credits",
        None,
        {
            404: UnknownResourceError("credits_not_supported", "no credits"),
            502: UpstreamError("provider_error", "bad key"),
            503: UNAVAILABLE,
        },
    ),
]
CREATES = [op for op in OPERATIONS if op.operation_id in {"createJob", "createUpload", "createBatch"}]
WITH_BODY = [op for op in OPERATIONS if op.body is not None]
WITH_ID = [op for op in OPERATIONS if JOB_ID in op.path]


#: what the first request of a key answered (replayed as it is)
FIRST_ANSWERS: dict[str, tuple[int, dict[str, Any]]] = {
    "createJob": (202, {"job_id": JOB_ID, "status": "queued", "links": {"self": "/v1/first"}}),
    "createBatch": (
        202,
        {
            "batch_id": JOB_ID,
            "status": "running",
            "total": 1,
            "job_ids": [JOB_ID],
            "links": {"self": "/v1/first"},
        },
    ),
    "createUpload": (
        201,
        {
            "upload_id": JOB_ID,
            "status": "awaiting_upload",
            "url": "https://bucket.s3.amazonaws.com/",
            "fields": {"key": "uploads/tenant-a/first/product.png"},
            "key": "uploads/tenant-a/first/product.png",
            "expires_at": "2026-11-22T10:15:00Z",
            "max_bytes": 10485760,
            "links": {"self": "/v1/first"},
        },
    ),
}


class Refusing:
    """A service whose every method raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def refuse(*_args: Any, **_kwargs: Any) -> Any:
            raise self._error

        return refuse


class OneKeyAuth:
    def caller_for(self, authorization: str | None) -> ApiCaller | None:
        return ApiCaller("tenant-a", "0123456789ab") if authorization == "Bearer local-dev-key" else None


class ScriptedCreator:
    """An idempotency store that answers what the test scripted (a replay, or still in progress)."""

    def __init__(self, outcome: Outcome | Exception) -> None:
        self._outcome = outcome

    def run(self, **_kwargs: Any) -> Outcome:
        if isinstance(self._outcome, Exception):
            raise self._outcome
        return self._outcome


def app_with(
    error: Exception = UNAVAILABLE, creator: ScriptedCreator | None = None
) -> APIGatewayHttpResolver:
    refusing = Refusing(error)
    services = ApiServices(
        jobs=refusing,  # type: ignore[arg-type]
        auth=OneKeyAuth(),  # type: ignore[arg-type]
        batches=refusing,  # type: ignore[arg-type]
        actions=refusing,  # type: ignore[arg-type]
        catalog=refusing,  # type: ignore[arg-type]
        uploads=refusing,  # type: ignore[arg-type]
        manifests=refusing,  # type: ignore[arg-type]
        deliveries=refusing,  # type: ignore[arg-type]
        billing=refusing,  # type: ignore[arg-type]
        idempotency=creator,  # type: ignore[arg-type]
    )
    return build_app(lambda: services)


def call(
    app: APIGatewayHttpResolver,
    op: Operation,
    *,
    body: Any = None,
    raw_body: str | None = None,
    key: str | None = "local-dev-key",
    headers: dict[str, str] | None = None,
    path: str | None = None,
) -> Answer:
    event = with_path(sample_event("api_get_job.json"), path or op.path, op.method)
    event["pathParameters"] = None
    event["routeKey"] = "$default"
    del event["headers"]["authorization"]
    if key is not None:
        event["headers"]["authorization"] = f"Bearer {key}"
    event["headers"].update(headers or {})
    payload = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    if payload is not None:
        event["body"] = payload
        event["headers"]["content-type"] = "application/json"
    return send(app, event)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = build_app(lambda: pytest.fail("the document needs no service"))
    event = with_path(sample_event("api_get_job.json"), "/v1/openapi.json")
    del event["headers"]["authorization"]
    answer = send(app, event)
    assert answer.status == 200
    served: dict[str, Any] = answer.json
    return served


def operation(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    found = [
        op
        for item in document["paths"].values()
        for op in item.values()
        if op.get("operationId") == operation_id
    ]
    assert len(found) == 1, f"{operation_id}: {len(found)} operations"
    return found[0]


def assert_documented(document: dict[str, Any], operation_id: str, answer: Answer) -> None:
    """The answer's status, its error schema and the headers it carries are in the document."""
    responses = operation(document, operation_id)["responses"]
    assert str(answer.status) in responses, f"{operation_id} answered {answer.status}, not documented"
    documented = responses[str(answer.status)]
    if answer.status >= 400:
        schema = documented["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
        ErrorResponse.model_validate(answer.json)
    declared = {name.lower() for name in documented.get("headers", {})}
    answered = DECLARED_HEADERS & set(answer.headers)
    assert answered <= declared, (
        f"{operation_id} {answer.status} answers undeclared headers {answered - declared}"
    )


# --- the document itself ---------------------------------------------------------------------------


def test_given_the_served_document_when_validated_then_it_is_a_valid_openapi_3_1_document(
    document: dict[str, Any],
) -> None:
    # When the served document is validated against the OpenAPI 3.1 schema
    validate(document)

    # Then it is one (validate raises otherwise) and declares 3.1
    assert document["openapi"].startswith("3.1")


def test_given_the_document_when_schemas_are_read_then_every_name_and_title_is_unique_and_clean(
    document: dict[str, Any],
) -> None:
    schemas: dict[str, Any] = document["components"]["schemas"]
    titles = [schema.get("title", name) for name, schema in schemas.items()]

    assert [name for name in schemas if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name)] == []
    assert sorted(t for t in titles if titles.count(t) > 1) == []
    assert {"CreatifyAspectRatio", "JoggAspectRatio"} <= set(schemas)
    assert schemas["JoggAspectRatio"]["title"] == "JoggAspectRatio"
    assert set(schemas["JoggAspectRatio"]["enum"]) == {"portrait", "landscape", "square"}


def test_given_the_document_when_searched_then_no_powertools_default_validation_schema_is_left(
    document: dict[str, Any],
) -> None:
    text = json.dumps(document)

    assert "HTTPValidationError" not in text
    assert "ResponseValidationError" not in text
    assert "#/components/schemas/ValidationError" not in text


def test_given_the_document_when_operations_are_read_then_each_has_its_stable_camel_case_id(
    document: dict[str, Any],
) -> None:
    ids = {
        (method.upper(), path): op["operationId"]
        for path, item in document["paths"].items()
        for method, op in item.items()
    }

    assert [i for i in ids.values() if not CAMEL_CASE.fullmatch(i)] == []
    assert len(set(ids.values())) == len(ids)
    assert ids[("POST", "/v1/jobs")] == "createJob"
    assert ids[("GET", "/v1/jobs/{job_id}")] == "getJob"
    assert ids[("GET", "/v1/openapi.json")] == "getOpenapi"
    assert {op.operation_id for op in OPERATIONS} | {"getOpenapi"} == set(ids.values())


@pytest.mark.parametrize("op", CREATES, ids=lambda op: op.operation_id)
def test_given_a_create_when_its_parameters_are_read_then_idempotency_key_is_an_optional_header(
    document: dict[str, Any], op: Operation
) -> None:
    parameters = operation(document, op.operation_id).get("parameters", [])
    declared = [p for p in parameters if p["in"] == "header" and p["name"].lower() == "idempotency-key"]

    assert len(declared) == 1
    assert declared[0]["required"] is False
    assert declared[0]["schema"]["maxLength"] == 255


@pytest.mark.parametrize("op", CREATES, ids=lambda op: op.operation_id)
def test_given_a_create_when_its_answers_are_read_then_location_replayed_and_retry_after_are_declared(
    document: dict[str, Any], op: Operation
) -> None:
    responses = operation(document, op.operation_id)["responses"]
    # a create answers 201/202 when it creates (200 is a dry run's estimate, nothing made)
    (success,) = [status for status in responses if status in {"201", "202"}]

    assert {"Location", "Idempotent-Replayed"} <= set(responses[success]["headers"])
    assert "Retry-After" in responses["409"]["headers"]


@pytest.mark.parametrize(
    ("schema", "examples", "model"),
    [
        ("/v1/jobs", JOB_EXAMPLES, TypeAdapter(JobRequest)),
        ("/v1/uploads", UPLOAD_EXAMPLES, TypeAdapter(UploadRequest)),
        ("/v1/batches", BATCH_EXAMPLES, TypeAdapter(BatchCreateRequest)),
    ],
)
def test_given_the_request_examples_when_validated_then_the_api_accepts_each(
    document: dict[str, Any], schema: str, examples: dict[str, Any], model: TypeAdapter[Any]
) -> None:
    served = document["paths"][schema]["post"]["requestBody"]["content"]["application/json"]["examples"]

    assert set(served) == set(examples)
    for example in served.values():
        model.validate_python(example["value"])
    if schema == "/v1/jobs":
        assert {example["value"]["provider"] for example in served.values()} == {
            "creatify",
            "jogg",
            "prodvisual",
        }


# --- what the routes really answer ---------------------------------------------------------------


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.operation_id)
def test_given_no_api_key_when_calling_then_401_is_documented(
    document: dict[str, Any], op: Operation
) -> None:
    answer = call(app_with(), op, body=op.body, key=None)

    assert answer.status == 401
    assert_documented(document, op.operation_id, answer)


@pytest.mark.parametrize(
    ("op", "status"),
    [(op, status) for op in OPERATIONS for status in op.refusals],
    ids=lambda value: value.operation_id if isinstance(value, Operation) else str(value),
)
def test_given_a_service_that_refuses_when_calling_then_its_status_is_documented(
    document: dict[str, Any], op: Operation, status: int
) -> None:
    answer = call(app_with(op.refusals[status]), op, body=op.body)

    assert answer.status == status, answer.text
    assert_documented(document, op.operation_id, answer)


@pytest.mark.parametrize("op", WITH_BODY, ids=lambda op: op.operation_id)
def test_given_a_body_that_is_not_json_when_calling_then_400_is_documented(
    document: dict[str, Any], op: Operation
) -> None:
    answer = call(app_with(), op, raw_body="{not json")

    assert (answer.status, answer.error_code) == (400, "malformed_json")
    assert_documented(document, op.operation_id, answer)


@pytest.mark.parametrize("op", WITH_BODY, ids=lambda op: op.operation_id)
def test_given_a_body_with_an_unknown_field_when_calling_then_422_is_documented(
    document: dict[str, Any], op: Operation
) -> None:
    answer = call(app_with(), op, body={**op.body, "surprise": True})

    assert (answer.status, answer.error_code) == (422, "validation_error")
    assert_documented(document, op.operation_id, answer)


@pytest.mark.parametrize("op", WITH_ID, ids=lambda op: op.operation_id)
def test_given_an_id_over_64_characters_when_calling_then_422_is_documented(
    document: dict[str, Any], op: Operation
) -> None:
    answer = call(app_with(), op, body=op.body, path=op.path.replace(JOB_ID, "f" * 65))

    assert answer.status == 422
    assert_documented(document, op.operation_id, answer)


@pytest.mark.parametrize("op", CREATES, ids=lambda op: op.operation_id)
def test_given_a_malformed_idempotency_key_when_creating_then_400_is_documented(
    document: dict[str, Any], op: Operation
) -> None:
    answer = call(
        app_with(creator=ScriptedCreator(UNAVAILABLE)), op, body=op.body, headers={"idempotency-key": ""}
    )

    assert (answer.status, answer.error_code) == (400, "invalid_idempotency_key")
    assert_documented(document, op.operation_id, answer)


@pytest.mark.parametrize("op", CREATES, ids=lambda op: op.operation_id)
def test_given_a_key_still_in_progress_when_creating_then_409_and_retry_after_are_documented(
    document: dict[str, Any], op: Operation
) -> None:
    creator = ScriptedCreator(RequestInProgressError(retry_after=2))

    answer = call(app_with(creator=creator), op, body=op.body, headers={"idempotency-key": "k-1"})

    assert (answer.status, answer.headers["retry-after"]) == (409, "2")
    assert_documented(document, op.operation_id, answer)


@pytest.mark.parametrize("op", CREATES, ids=lambda op: op.operation_id)
def test_given_a_replayed_key_when_creating_then_its_success_location_and_replayed_are_documented(
    document: dict[str, Any], op: Operation
) -> None:
    # Given the idempotency store holds the first answer of this key
    status, body = FIRST_ANSWERS[op.operation_id]
    stored = StoredAnswer(status=status, body=body, headers={"Location": "/v1/first"})
    creator = ScriptedCreator(Outcome(stored, replayed=True))

    # When the create is sent again with the key
    answer = call(app_with(creator=creator), op, body=op.body, headers={"idempotency-key": "k-1"})

    # Then that answer comes back, and its status and both headers are in the document
    assert (answer.status, answer.headers["location"], answer.headers["idempotent-replayed"]) == (
        status,
        "/v1/first",
        "true",
    )
    assert_documented(document, op.operation_id, answer)


def test_given_the_docs_page_when_read_then_it_embeds_the_served_document(document: dict[str, Any]) -> None:
    # Given the API, and a caller without a key
    app = build_app(lambda: pytest.fail("the docs page needs no service"))
    event = with_path(sample_event("api_get_job.json"), "/v1/docs")
    del event["headers"]["authorization"]

    # When the Swagger UI page is read
    page = send(app, event)

    # Then it carries the same tidied document (clean names, no Powertools default), not another one
    assert page.status == 200
    assert "JoggAspectRatio" in page.text
    assert "HTTPValidationError" not in page.text
    assert '"operationId": "createJob"' in page.text
