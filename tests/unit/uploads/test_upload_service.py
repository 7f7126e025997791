"""POST /v1/uploads' domain: a validated spec becomes an upload record and an S3 presigned POST."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from mediajobs.api.errors import from_domain
from mediajobs.api.upload_schemas import UploadStatus
from mediajobs.errors import DomainError
from mediajobs.uploads.models import UPLOAD_REQUEST
from tests.unit.jobs.fakes import BASE_URL
from tests.unit.uploads.conftest import PRODVISUAL_SPEC, TENANT, Env


def policy_conditions(fields: dict[str, str]) -> list[Any]:
    conditions: list[Any] = json.loads(base64.b64decode(fields["policy"]))["conditions"]
    return conditions


def test_given_a_spec_when_an_upload_is_created_then_it_is_stored_awaiting_its_file(env: Env) -> None:
    upload, post = env.uploads.create(
        TENANT, UPLOAD_REQUEST.validate_python(PRODVISUAL_SPEC), public_base_url=BASE_URL + "/"
    )

    stored = env.uploads.get(TENANT, upload.upload_id)
    assert stored.status is UploadStatus.AWAITING_UPLOAD
    assert stored.key == post.key == f"uploads/{upload.upload_id}/product"
    assert stored.public_base_url == BASE_URL
    assert json.loads(stored.spec_json)["options"]["style"] == "lifestyle"


def test_given_an_upload_when_created_then_the_form_allows_only_its_key_an_image_and_the_size_limit(
    env: Env,
) -> None:
    _, post = env.uploads.create(
        TENANT, UPLOAD_REQUEST.validate_python(PRODVISUAL_SPEC), public_base_url=BASE_URL, filename="a.png"
    )

    conditions = policy_conditions(post.fields)
    assert {"key": post.key} in conditions
    assert {"bucket": env.bucket} in conditions
    assert ["content-length-range", 1, env.settings.max_image_bytes] in conditions
    assert ["starts-with", "$Content-Type", "image/"] in conditions
    assert post.fields["Content-Type"] == "image/png"
    assert post.max_bytes == env.settings.max_image_bytes
    assert (post.expires_at - env.clock()).total_seconds() == env.settings.upload_url_seconds


def test_given_a_file_name_without_a_known_extension_when_created_then_the_client_sets_content_type(
    env: Env,
) -> None:
    _, post = env.uploads.create(
        TENANT, UPLOAD_REQUEST.validate_python(PRODVISUAL_SPEC), public_base_url=BASE_URL
    )

    assert "Content-Type" not in post.fields


def test_given_an_unsafe_webhook_url_when_an_upload_is_created_then_it_is_refused_before_any_form(
    env: Env,
) -> None:
    spec = PRODVISUAL_SPEC | {"webhook_url": "http://169.254.169.254/latest"}

    with pytest.raises(DomainError) as caught:
        env.uploads.create(TENANT, UPLOAD_REQUEST.validate_python(spec), public_base_url=BASE_URL)

    assert (from_domain(caught.value).status, from_domain(caught.value).code) == (422, "unsafe_url")


def test_given_another_tenants_upload_when_read_then_it_does_not_exist(env: Env) -> None:
    upload, _ = env.uploads.create(
        TENANT, UPLOAD_REQUEST.validate_python(PRODVISUAL_SPEC), public_base_url=BASE_URL
    )

    with pytest.raises(DomainError) as caught:
        env.uploads.get("tenant-b", upload.upload_id)

    assert (from_domain(caught.value).status, from_domain(caught.value).code) == (404, "not_found")


@pytest.mark.parametrize("upload_id", ["nope", "0" * 31, "G" * 32, "../" * 11])
def test_given_an_id_that_is_no_upload_id_when_read_then_it_does_not_exist(env: Env, upload_id: str) -> None:
    with pytest.raises(DomainError) as caught:
        env.uploads.get(TENANT, upload_id)

    assert from_domain(caught.value).status == 404
