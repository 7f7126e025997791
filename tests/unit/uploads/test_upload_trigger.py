"""An object under uploads/ becomes exactly one job, or a failed upload that says why."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mediajobs.api.upload_schemas import UploadStatus
from mediajobs.billing.service import Billing
from mediajobs.billing.store import BudgetStore
from mediajobs.fetching import UrlPolicy
from mediajobs.jobs.models import JobStatus
from mediajobs.uploads.models import UPLOAD_REQUEST, S3Notification, Upload, UploadError, drop_upload_id
from tests.support.aws import REGION
from tests.unit.jobs.fakes import BASE_URL
from tests.unit.uploads.conftest import PRODVISUAL_SPEC, TENANT, Env, image_bytes, notification


def api_upload(env: Env, filename: str = "bottle.png", spec: dict[str, Any] | None = None) -> Upload:
    upload, _ = env.uploads.create(
        TENANT,
        UPLOAD_REQUEST.validate_python(spec or PRODVISUAL_SPEC),
        public_base_url=BASE_URL,
        filename=filename,
    )
    return upload


def status_of(env: Env, upload_id: str) -> Upload:
    return env.uploads.get(TENANT, upload_id)


def drop_id(env: Env, key: str) -> str:
    return drop_upload_id(key, env.s3.head_object(Bucket=env.bucket, Key=key)["ETag"])


# --- presigned uploads ---------------------------------------------------------------------------


def test_given_an_uploaded_png_when_s3_notifies_then_the_upload_starts_one_job_with_it(env: Env) -> None:
    upload = api_upload(env)
    data = image_bytes("PNG", (64, 48))
    env.put(upload.key, data)

    (result,) = env.deliver(upload.key)

    started = status_of(env, upload.upload_id)
    assert result == {
        "key": upload.key,
        "outcome": "started",
        "upload_id": upload.upload_id,
        "job_id": started.job_id,
    }
    job = env.jobs.store.get(str(started.job_id))
    assert job.status is JobStatus.QUEUED
    assert (job.tenant_id, job.public_base_url) == (TENANT, BASE_URL)
    assert job.spec.options["style"] == "lifestyle"
    assert job.product_image is not None
    assert job.product_image.s3_key == f"inputs/{job.job_id}/product.png"
    assert (job.product_image.width, job.product_image.height) == (64, 48)
    assert job.product_image.sha256 == hashlib.sha256(data).hexdigest()
    copied = env.s3.get_object(Bucket=env.bucket, Key=job.product_image.s3_key)
    assert copied["Body"].read() == data
    assert copied["ContentType"] == "image/png"
    assert env.executions() == [job.job_id]


def test_given_an_upload_asked_for_with_a_key_when_its_job_starts_then_the_job_is_charged_to_that_key(
    env: Env,
) -> None:
    store = BudgetStore(boto3.resource("dynamodb", region_name=REGION).Table(env.settings.jobs_table))
    env.jobs.billing = Billing(store, clock=env.clock)
    upload, _ = env.uploads.create(
        TENANT,
        UPLOAD_REQUEST.validate_python(PRODVISUAL_SPEC),
        public_base_url=BASE_URL,
        api_key_id="0123456789ab",
    )
    env.put(upload.key, image_bytes())

    env.deliver(upload.key)

    hold = store.hold(str(status_of(env, upload.upload_id).job_id))
    assert hold is not None
    assert hold.key_id == "0123456789ab"


def test_given_a_jpeg_under_a_png_name_when_started_then_the_job_keeps_what_the_bytes_are(env: Env) -> None:
    upload = api_upload(env, filename="photo.png")
    env.put(upload.key, image_bytes("JPEG"), ContentType="image/png")

    env.deliver(upload.key)

    job = env.jobs.store.get(str(status_of(env, upload.upload_id).job_id))
    assert job.product_image is not None
    assert (job.product_image.s3_key.rsplit(".", 1)[1], job.product_image.content_type) == (
        "jpg",
        "image/jpeg",
    )


def test_given_one_object_when_s3_delivers_it_twice_then_one_job_and_one_execution(env: Env) -> None:
    upload = api_upload(env)
    env.put(upload.key, image_bytes())

    first = env.deliver(upload.key)
    second = env.deliver(upload.key)

    job_id = status_of(env, upload.upload_id).job_id
    assert [first[0]["outcome"], second[0]["outcome"]] == ["started", "duplicate"]
    assert second[0]["job_id"] == job_id
    assert env.executions() == [job_id]


def test_given_a_text_file_when_uploaded_then_the_upload_fails_as_not_an_image_and_no_job_starts(
    env: Env,
) -> None:
    upload = api_upload(env)
    env.put(upload.key, b"hello, I am text, not a picture", ContentType="image/png")

    (result,) = env.deliver(upload.key)

    failed = status_of(env, upload.upload_id)
    assert result["outcome"] == "failed"
    assert failed.status is UploadStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == "invalid_product_image"
    assert failed.error.message == "the uploaded file is not a JPEG, PNG or WebP image: it is text"
    assert failed.job_id is None
    assert env.executions() == []


def test_given_a_file_over_the_limit_when_uploaded_then_the_upload_fails_as_too_large(env: Env) -> None:
    upload = api_upload(env)
    env.put(upload.key, image_bytes() + b"\0" * env.settings.max_image_bytes)

    env.deliver(upload.key)

    failed = status_of(env, upload.upload_id)
    assert failed.error is not None
    assert failed.error.code == "product_image_too_large"
    assert "larger than the limit" in failed.error.message
    assert env.executions() == []


def test_given_an_empty_file_when_uploaded_then_the_upload_fails_as_not_an_image(env: Env) -> None:
    upload = api_upload(env)
    env.put(upload.key, b"")

    env.deliver(upload.key)

    failed = status_of(env, upload.upload_id)
    assert failed.error is not None
    assert (failed.error.code, failed.error.message) == (
        "invalid_product_image",
        "the uploaded file is empty",
    )


def test_given_a_failed_upload_when_a_good_file_replaces_it_then_the_upload_stays_failed(env: Env) -> None:
    upload = api_upload(env)
    env.put(upload.key, b"not an image")
    env.deliver(upload.key)
    env.put(upload.key, image_bytes())

    (result,) = env.deliver(upload.key)

    assert result == {
        "key": upload.key,
        "outcome": "duplicate",
        "upload_id": upload.upload_id,
        "error_code": "invalid_product_image",
    }
    assert env.executions() == []


def test_given_a_key_with_spaces_when_s3_sends_it_url_encoded_then_the_object_is_found(env: Env) -> None:
    upload = api_upload(env, filename="my bottle.png")  # the form's key has no space: it is made safe
    key = f"uploads/{upload.upload_id}/my photo+1.png"
    env.put(
        key,
        image_bytes(),
        Metadata={"mediajobs-spec": json.dumps(PRODVISUAL_SPEC), "mediajobs-tenant": TENANT},
    )

    (result,) = env.trigger.handle(notification(env.bucket, key))

    assert (result.key, result.outcome) == (key, "started")


def test_given_a_claimed_upload_without_its_job_when_redelivered_then_the_job_is_made(env: Env) -> None:
    # the delivery that claimed the upload stopped before it wrote the job
    upload = api_upload(env)
    env.put(upload.key, image_bytes())
    claimed = env.trigger.uploads.save(
        upload.started("ab" * 16, now=env.clock()), expected_version=upload.version
    )
    assert claimed is not None

    (result,) = env.deliver(upload.key)

    assert (result["outcome"], result["job_id"]) == ("started", "ab" * 16)
    assert env.jobs.store.get("ab" * 16).product_image is not None
    assert env.executions() == ["ab" * 16]


def test_given_a_job_written_but_never_started_when_redelivered_then_its_execution_starts_once(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = api_upload(env)
    env.put(upload.key, image_bytes())
    # the first delivery stops after writing the job, before starting its execution
    monkeypatch.setattr(env.jobs, "start_execution", lambda job, **_: None)
    env.deliver(upload.key)
    monkeypatch.undo()
    assert env.executions() == []

    (again,) = env.deliver(upload.key)
    (third,) = env.deliver(upload.key)

    assert (again["outcome"], third["outcome"]) == ("duplicate", "duplicate")
    assert env.executions() == [again["job_id"]]


def test_given_a_jpeg_whose_metadata_outgrows_the_first_read_when_started_then_its_size_is_found(
    env: Env,
) -> None:
    jpeg = image_bytes("JPEG", (30, 20))
    segment = b"\xff\xe2" + (65535).to_bytes(2, "big") + b"\0" * 65533  # an ICC chunk's worth
    big = jpeg[:2] + segment * 5 + jpeg[2:]  # the frame header lies beyond the first 256 KiB
    upload = api_upload(env, filename="photo.jpg")
    env.put(upload.key, big)

    (result,) = env.deliver(upload.key)

    job = env.jobs.store.get(result["job_id"])
    assert job.product_image is not None
    assert (job.product_image.width, job.product_image.height, job.product_image.bytes) == (30, 20, len(big))


def test_given_step_functions_throttles_a_resume_when_redelivered_then_the_delivery_fails_for_a_retry(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = api_upload(env)
    env.put(upload.key, image_bytes())
    monkeypatch.setattr(env.jobs, "start_execution", lambda job, **_: None)
    (first,) = env.deliver(upload.key)
    monkeypatch.undo()

    def throttled(**_: object) -> None:
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "StartExecution"
        )

    monkeypatch.setattr(env.sfn, "start_execution", throttled)
    with pytest.raises(UploadError, match="ThrottlingException"):
        env.deliver(upload.key)

    assert env.jobs.store.get(first["job_id"]).status is JobStatus.QUEUED


def test_given_an_object_of_another_bucket_or_prefix_when_notified_then_it_is_ignored(env: Env) -> None:
    assert env.trigger.object_created("another-bucket", "uploads/x.png").outcome == "ignored"
    assert env.trigger.object_created(env.bucket, "inputs/x/product.png").outcome == "ignored"


def test_given_s3s_test_event_when_handled_then_nothing_happens(env: Env) -> None:
    event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": env.bucket}

    assert env.trigger.handle(S3Notification.model_validate(event)) == []


def test_given_a_deleted_object_when_its_notification_arrives_then_the_upload_keeps_waiting(env: Env) -> None:
    upload = api_upload(env)

    (result,) = env.deliver(upload.key)

    assert result["outcome"] == "object_missing"
    assert status_of(env, upload.upload_id).status is UploadStatus.AWAITING_UPLOAD


def test_given_a_webhook_url_refused_when_the_upload_starts_then_the_upload_fails_with_that_reason(
    env: Env,
) -> None:
    # the name resolves to a public address when the upload is created, to a private one later
    env.jobs.policy = UrlPolicy(resolver=lambda *_: ["93.184.216.34"])
    upload = api_upload(env, spec=PRODVISUAL_SPEC | {"webhook_url": "https://client.example/hook"})
    env.put(upload.key, image_bytes())
    env.jobs.policy = UrlPolicy(resolver=lambda *_: ["10.0.0.7"])

    env.deliver(upload.key)

    failed = status_of(env, upload.upload_id)
    assert failed.error is not None
    assert failed.error.code == "unsafe_url"
    assert env.executions() == []


# --- operator drops ------------------------------------------------------------------------------


def test_given_a_drop_with_its_spec_in_metadata_when_notified_then_it_starts_a_job_for_that_tenant(
    env: Env,
) -> None:
    key = "uploads/catalog/aurora.png"
    metadata = {"mediajobs-spec": json.dumps(PRODVISUAL_SPEC), "mediajobs-tenant": TENANT}
    env.put(key, image_bytes(), Metadata=metadata)

    (result,) = env.deliver(key)

    upload = status_of(env, drop_id(env, key))
    assert result["outcome"] == "started"
    assert (upload.status, upload.source, upload.job_id) == (UploadStatus.STARTED, "drop", result["job_id"])
    assert env.jobs.store.get(result["job_id"]).public_base_url == BASE_URL


def test_given_a_drop_and_then_its_sidecar_when_each_is_notified_then_the_sidecar_starts_the_job(
    env: Env,
) -> None:
    key = "uploads/catalog/aurora.webp"
    env.put(key, image_bytes("WEBP"))
    (waiting,) = env.deliver(key)
    env.put(key + ".json", json.dumps({"tenant_id": TENANT, "spec": PRODVISUAL_SPEC}).encode())

    (started,) = env.deliver(key + ".json")
    (again,) = env.deliver(key)

    assert waiting["outcome"] == "waiting_for_spec"
    assert started == {
        "key": key,
        "outcome": "started",
        "upload_id": drop_id(env, key),
        "job_id": started["job_id"],
    }
    assert again["outcome"] == "duplicate"
    assert env.executions() == [started["job_id"]]


def test_given_a_sidecar_before_its_drop_when_each_is_notified_then_the_drop_starts_the_job(env: Env) -> None:
    key = "uploads/catalog/aurora.jpg"
    env.put(key + ".json", json.dumps({"tenant_id": TENANT, "spec": PRODVISUAL_SPEC}).encode())
    (waiting,) = env.deliver(key + ".json")
    env.put(key, image_bytes("JPEG"))

    (started,) = env.deliver(key)

    assert waiting == {"key": key + ".json", "outcome": "waiting_for_image"}
    assert started["outcome"] == "started"
    assert env.executions() == [started["job_id"]]


def test_given_a_drop_naming_no_tenant_when_notified_then_it_is_rejected_and_nothing_is_recorded(
    env: Env,
) -> None:
    key = "uploads/catalog/orphan.png"
    env.put(key, image_bytes(), Metadata={"mediajobs-spec": json.dumps(PRODVISUAL_SPEC)})

    (result,) = env.deliver(key)

    assert (result["outcome"], result["error_code"]) == ("rejected", "tenant_missing")
    assert env.trigger.uploads.find(drop_id(env, key)) is None
    assert env.executions() == []


def test_given_a_drop_with_an_invalid_spec_when_notified_then_its_tenant_sees_a_failed_upload(
    env: Env,
) -> None:
    key = "uploads/catalog/bad-spec.png"
    spec = {"provider": "prodvisual", "options": {"style": "lifestyle", "format": "gif"}}
    env.put(key + ".json", json.dumps({"tenant_id": TENANT, "spec": spec}).encode())
    env.put(key, image_bytes())

    (result,) = env.deliver(key)

    failed = status_of(env, drop_id(env, key))
    assert (result["outcome"], result["error_code"]) == ("failed", "validation_error")
    assert failed.error is not None
    assert failed.error.message.startswith("the job spec is invalid: options.format:")
    assert env.executions() == []


def test_given_a_sidecar_that_is_not_json_when_its_drop_is_notified_then_the_drop_is_rejected(
    env: Env,
) -> None:
    key = "uploads/catalog/broken.png"
    env.put(key + ".json", b"{tenant_id: oops")
    env.put(key, image_bytes())

    (result,) = env.deliver(key)

    assert result["outcome"] == "rejected"


def test_given_a_sidecar_with_a_bad_spec_shape_when_its_drop_is_notified_then_the_tenant_sees_why(
    env: Env,
) -> None:
    key = "uploads/catalog/shape.png"
    env.put(key + ".json", json.dumps({"tenant_id": TENANT, "spec": [1, 2]}).encode())
    env.put(key, image_bytes())

    (result,) = env.deliver(key)

    failed = status_of(env, drop_id(env, key))
    assert result["outcome"] == "failed"
    assert failed.error is not None
    assert failed.error.message.startswith("uploads/catalog/shape.png.json is not a valid sidecar: spec:")


def test_given_a_dropped_non_image_with_a_spec_when_notified_then_the_upload_fails_with_the_reason(
    env: Env,
) -> None:
    key = "uploads/catalog/readme.txt"
    env.put(
        key,
        b"plain text",
        Metadata={"mediajobs-spec": json.dumps(PRODVISUAL_SPEC), "mediajobs-tenant": TENANT},
    )

    (result,) = env.deliver(key)

    assert (result["outcome"], result["error_code"]) == ("failed", "invalid_product_image")
    assert env.executions() == []
