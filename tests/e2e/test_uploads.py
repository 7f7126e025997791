"""Uploads through the local stack: a presigned POST or an operator's file under uploads/ starts a job.

The local S3 (moto) delivers ObjectCreated notifications while it stores the object, so an upload
is usually handled by the time the POST answers; the tests still poll, as a client would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
from local.sample_shop import SampleShop
from local.stack import DEFAULT_TENANT, LocalStack

from mediajobs.api.upload_schemas import UploadStatus
from mediajobs.aws import dynamodb_table
from mediajobs.uploads.models import Upload, drop_upload_id
from mediajobs.uploads.store import UploadStore
from tests.e2e.conftest import Client

EVENTS = Path(__file__).resolve().parents[2] / "events"
SPEC: dict[str, Any] = {"provider": "prodvisual", "options": {"style": "lifestyle", "format": "png"}}
#: the upload the sample events name (events/api_get_upload.json, events/s3_put_upload.json)
SAMPLE_UPLOAD_ID = "fedcba9876543210fedcba9876543210"
SAMPLE_UPLOAD_KEY = f"uploads/{SAMPLE_UPLOAD_ID}/product.png"


def seed_sample_upload(stack: LocalStack, image: bytes) -> str:
    """The sample events' upload: its file in the bucket (a drop without a spec: nothing starts),
    then its record awaiting that file, as POST /v1/uploads would have left it."""
    stack.client("s3").put_object(Bucket=stack.bucket_name, Key=SAMPLE_UPLOAD_KEY, Body=image)
    time.sleep(0.5)  # its (asynchronous) notification finds no spec: nothing starts
    now = datetime.now(UTC)
    UploadStore(dynamodb_table(stack.table_name)).create(
        Upload(
            upload_id=SAMPLE_UPLOAD_ID,
            tenant_id=DEFAULT_TENANT,
            key=SAMPLE_UPLOAD_KEY,
            spec_json=json.dumps(SPEC),
            public_base_url=stack.api_url,
            created_at=now,
            updated_at=now,
            expires_at=int(now.timestamp()) + 3600,
        )
    )
    return SAMPLE_UPLOAD_ID


def create_upload(client: Client, spec: dict[str, Any] | None = None, filename: str = "product.png") -> Any:
    answer = client.http.post("/v1/uploads", params={"filename": filename}, json=spec or SPEC)
    assert answer.status_code == 201, answer.text
    assert answer.headers["location"] == f"/v1/uploads/{answer.json()['upload_id']}"
    return answer.json()


def post_file(upload: dict[str, Any], data: bytes, content_type: str = "image/png") -> None:
    """What a browser or app does with the form: the fields, then the file."""
    fields = {"Content-Type": content_type} | upload["fields"]
    answer = httpx.post(upload["url"], data=fields, files={"file": ("product.png", data, content_type)})
    assert answer.status_code == 204, answer.text


def wait_upload(client: Client, upload_id: str, timeout: float = 15.0) -> dict[str, Any]:
    """Poll an upload until the trigger handled it (S3 notifies asynchronously, as in AWS)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = client.http.get(f"/v1/uploads/{upload_id}")
        if answer.status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.1)  # an operator drop has no record until its notification arrives
            continue
        assert answer.status_code == 200, answer.text
        if answer.json()["status"] != UploadStatus.AWAITING_UPLOAD or time.monotonic() > deadline:
            return dict(answer.json())
        time.sleep(0.1)


def s3_event(stack: LocalStack, key: str) -> dict[str, Any]:
    """``events/s3_put_upload.json`` for another key: the event S3 sends."""
    event: dict[str, Any] = json.loads((EVENTS / "s3_put_upload.json").read_text())
    event["Records"][0]["s3"]["bucket"]["name"] = stack.bucket_name
    event["Records"][0]["s3"]["object"]["key"] = quote_plus(key)
    return event


ProviderPosts = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def provider_posts(stack: LocalStack) -> ProviderPosts:
    """The POST requests (job submissions) the provider sandboxes logged since the test began."""
    assert stack.sandboxes is not None
    sandboxes = list(stack.sandboxes.all().values())
    started = time.time()

    def posts() -> list[dict[str, Any]]:
        rows = [r for s in sandboxes for r in httpx.get(f"{s.base_url}/_sandbox/requests").json()["requests"]]
        return [r for r in rows if r["at"] >= started and r["method"] == "POST"]

    return posts


def test_given_an_upload_when_the_image_is_posted_to_the_form_then_its_job_succeeds_with_it(
    stack: LocalStack, client: Client, shop: SampleShop, provider_posts: ProviderPosts
) -> None:
    upload = create_upload(client)

    post_file(upload, shop.images["png"])

    started = wait_upload(client, upload["upload_id"])
    assert started["status"] == "started", started
    assert started["links"]["job"] == f"/v1/jobs/{started['job_id']}"
    job = client.wait_final(started["job_id"])
    assert job["status"] == "succeeded", job
    assert job["outputs"]
    assert [p["path"] for p in provider_posts()] == ["/v1/generate"]
    # the provider fetched the product through its signed link (the job succeeded); it was the upload
    product = stack.client("s3").get_object(
        Bucket=stack.bucket_name, Key=f"inputs/{job['job_id']}/product.png"
    )
    assert product["Body"].read() == shop.images["png"]


def test_given_a_handled_upload_when_s3_delivers_its_event_twice_more_then_there_is_still_one_job(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    upload = create_upload(client)
    post_file(upload, shop.images["png"])  # S3's first delivery
    job_id = wait_upload(client, upload["upload_id"])["job_id"]
    sfn = stack.client("stepfunctions")
    executions_before = sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]

    event = s3_event(stack, upload["key"])
    answers = [stack.invoke("UploadTriggerFunction", event) for _ in range(2)]

    assert [a["results"][0]["outcome"] for a in answers] == ["duplicate", "duplicate"]
    assert {a["results"][0]["job_id"] for a in answers} == {job_id}
    executions_after = sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    assert len(executions_after) == len(executions_before)
    assert wait_upload(client, upload["upload_id"])["job_id"] == job_id
    assert client.wait_final(job_id)["status"] == "succeeded"


def test_given_an_upload_when_a_text_file_is_posted_then_the_upload_fails_and_no_provider_is_called(
    client: Client, provider_posts: ProviderPosts
) -> None:
    upload = create_upload(client)

    post_file(upload, b"hello, I am text, not a product photo")

    failed = wait_upload(client, upload["upload_id"])
    assert failed["status"] == "failed"
    assert failed["job_id"] is None
    assert failed["error"]["code"] == "invalid_product_image"
    assert failed["error"]["message"] == "the uploaded file is not a JPEG, PNG or WebP image: it is text"
    assert provider_posts() == []


def test_given_an_upload_when_a_file_over_the_limit_lands_then_the_upload_fails_as_too_large(
    client: Client, shop: SampleShop, provider_posts: ProviderPosts
) -> None:
    # S3 itself refuses the form's content-length-range; the local S3 does not, so the trigger's
    # own check is what is tested here (it is what catches an oversized operator drop too)
    upload = create_upload(client)
    oversized = shop.images["png"] + b"\0" * upload["max_bytes"]

    post_file(upload, oversized)

    failed = wait_upload(client, upload["upload_id"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", "product_image_too_large")
    assert f"{len(oversized)} bytes" in failed["error"]["message"]
    assert provider_posts() == []


def test_given_an_operator_copies_a_file_in_with_its_spec_as_metadata_then_it_starts_a_job(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    s3 = stack.client("s3")
    s3.put_object(Bucket=stack.bucket_name, Key="tmp/catalog/aurora.jpg", Body=shop.images["jpg"])
    key = "uploads/catalog/aurora bottle.jpg"

    # aws s3 cp s3://<bucket>/tmp/catalog/aurora.jpg "s3://<bucket>/uploads/catalog/aurora bottle.jpg"
    #   --metadata-directive REPLACE --metadata mediajobs-tenant=local,mediajobs-spec='{...}'
    s3.copy_object(
        Bucket=stack.bucket_name,
        Key=key,
        CopySource={"Bucket": stack.bucket_name, "Key": "tmp/catalog/aurora.jpg"},
        MetadataDirective="REPLACE",
        Metadata={"mediajobs-tenant": DEFAULT_TENANT, "mediajobs-spec": json.dumps(SPEC)},
    )

    upload_id = drop_upload_id(key, s3.head_object(Bucket=stack.bucket_name, Key=key)["ETag"])
    started = wait_upload(client, upload_id)
    assert (started["status"], started["key"]) == ("started", key)
    assert client.wait_final(started["job_id"])["status"] == "succeeded"


def test_given_an_operator_drops_a_file_then_its_sidecar_then_the_sidecar_starts_one_job(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    s3 = stack.client("s3")
    key = "uploads/catalog/aurora.webp"
    s3.put_object(Bucket=stack.bucket_name, Key=key, Body=shop.images["webp"])
    upload_id = drop_upload_id(key, s3.head_object(Bucket=stack.bucket_name, Key=key)["ETag"])
    time.sleep(0.5)  # its notification arrives and finds no spec yet
    assert client.http.get(f"/v1/uploads/{upload_id}").status_code == 404  # waits for its spec

    sidecar = {"tenant_id": DEFAULT_TENANT, "spec": SPEC | {"metadata": {"sku": "AUR-750"}}}
    s3.put_object(Bucket=stack.bucket_name, Key=key + ".json", Body=json.dumps(sidecar).encode())

    started = wait_upload(client, upload_id)
    assert started["status"] == "started"
    job = client.job(started["job_id"])
    assert job["metadata"] == {"sku": "AUR-750"}
    again = stack.invoke("UploadTriggerFunction", s3_event(stack, key))
    assert again["results"][0] == {
        "key": key,
        "outcome": "duplicate",
        "upload_id": upload_id,
        "job_id": started["job_id"],
    }
    assert client.wait_final(started["job_id"])["status"] == "succeeded"


def test_given_another_tenants_upload_when_read_then_it_is_not_found(
    stack: LocalStack, client: Client
) -> None:
    upload = create_upload(client)
    other = Client(stack.api_url, "other-tenant-key")

    answer = other.http.get(f"/v1/uploads/{upload['upload_id']}")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_given_an_upload_request_with_an_image_url_when_sent_then_it_is_refused_with_the_field(
    client: Client,
) -> None:
    spec = SPEC | {"product": {"image_url": "https://shop.example.com/p.png"}}

    answer = client.http.post("/v1/uploads", json=spec)

    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["path"] == "product.image_url"
    assert "the file you upload is the product image" in error["message"]
