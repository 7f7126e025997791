"""JobService.accept: the one path every new job takes (POST /v1/jobs and uploads)."""

from __future__ import annotations

import pytest

from mediajobs.jobs.models import ProductImage
from mediajobs.jobs.store import ConcurrentUpdateError
from mediajobs.uploads.models import UPLOAD_REQUEST
from tests.unit.jobs.fakes import BASE_URL
from tests.unit.uploads.conftest import PRODVISUAL_SPEC, TENANT, Env

JOB_ID = "0123456789abcdef0123456789abcdef"
IMAGE = ProductImage(
    s3_key=f"inputs/{JOB_ID}/product.png",
    content_type="image/png",
    bytes=10,
    width=1,
    height=1,
    sha256="0" * 64,
)


def accept(env: Env) -> None:
    env.jobs.accept(
        TENANT,
        UPLOAD_REQUEST.validate_python(PRODVISUAL_SPEC),
        job_id=JOB_ID,
        product_image=IMAGE,
        public_base_url=BASE_URL,
    )


def test_given_an_image_in_s3_when_a_job_is_accepted_then_it_is_written_and_started(env: Env) -> None:
    accept(env)

    job = env.jobs.store.get(JOB_ID)
    assert job.product_image == IMAGE
    assert job.spec.product.image_url is None
    assert env.executions() == [JOB_ID]


def test_given_an_accepted_job_id_when_accepted_again_then_nothing_more_is_written_or_started(
    env: Env,
) -> None:
    accept(env)
    first = env.jobs.store.get(JOB_ID)

    with pytest.raises(ConcurrentUpdateError):
        accept(env)

    assert env.executions() == [JOB_ID]
    assert env.jobs.store.get(JOB_ID) == first


def test_given_a_running_execution_when_the_job_is_resumed_then_no_second_execution_starts(env: Env) -> None:
    accept(env)

    env.jobs.resume(env.jobs.store.get(JOB_ID))

    assert env.executions() == [JOB_ID]
    assert env.jobs.store.get(JOB_ID).status.value == "queued"


def test_given_a_finished_execution_when_the_job_is_resumed_then_the_job_is_left_as_it_is(env: Env) -> None:
    accept(env)
    arn = env.sfn.list_executions(stateMachineArn=env.settings.state_machine_arn)["executions"][0][
        "executionArn"
    ]
    env.sfn.stop_execution(executionArn=arn)

    env.jobs.resume(env.jobs.store.get(JOB_ID))

    assert env.jobs.store.get(JOB_ID).error is None
