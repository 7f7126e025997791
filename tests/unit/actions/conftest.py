"""Job actions on moto (table and bucket from template.yaml), a recording Step Functions, a fake clock."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mediajobs.config import Settings
from mediajobs.jobs.actions import JobActions
from mediajobs.jobs.models import Job, JobStatus, ProductImage, StoredOutput
from mediajobs.jobs.service import JobService
from mediajobs.jobs.store import JobStore
from mediajobs.providers.base import OutputKind, ProviderName, ProviderTask, TaskState
from tests.support.aws import MOCK_CONFIG, REGION, create_from_template
from tests.unit.jobs.fakes import FakeClock, new_job

TENANT = "tenant-a"
PUBLIC = "https://api.mediajobs.test"
CREATIFY_TASK = "7e5e8a6f-d0d5-4736-b390-03e696ffc969"


@dataclass
class RecordingSfn:
    """The Step Functions calls the actions make; ``fail_with`` makes every call a ClientError."""

    started: list[dict[str, Any]] = field(default_factory=list)
    resumed: list[dict[str, Any]] = field(default_factory=list)
    fail_with: str | None = None

    def _maybe_fail(self, operation: str) -> None:
        if self.fail_with is not None:
            raise ClientError({"Error": {"Code": self.fail_with, "Message": "no"}}, operation)

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:  # noqa: A002, N803
        self._maybe_fail("StartExecution")
        self.started.append({"arn": stateMachineArn, "name": name, "input": json.loads(input)})
        return {}

    def send_task_success(self, *, taskToken: str, output: str) -> dict[str, Any]:  # noqa: N803
        self._maybe_fail("SendTaskSuccess")
        self.resumed.append({"token": taskToken, "output": json.loads(output)})
        return {}


@dataclass(frozen=True)
class World:
    actions: JobActions
    store: JobStore
    sfn: RecordingSfn
    clock: FakeClock
    s3: Any
    bucket: str


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws(config=MOCK_CONFIG):
        names = create_from_template(["JobsTable", "MediaBucket"])
        settings = Settings(
            jobs_table=names["JobsTable"],
            media_bucket=names["MediaBucket"],
            state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:unit-job",
        )
        store = JobStore(boto3.resource("dynamodb", region_name=REGION).Table(names["JobsTable"]))
        s3 = boto3.client("s3", region_name=REGION)
        sfn = RecordingSfn()
        clock = FakeClock()
        jobs = JobService(store=store, s3=s3, sfn=sfn, http=None, settings=settings, clock=clock)  # type: ignore[arg-type]
        yield World(JobActions(jobs), store, sfn, clock, s3, names["MediaBucket"])


def done(provider: ProviderName, stage: str, task_id: str, status: str = "completed") -> ProviderTask:
    return ProviderTask(
        provider=provider, stage=stage, task_id=task_id, state=TaskState.COMPLETED, provider_status=status
    )


SUCCEEDED_TASKS: dict[ProviderName, list[ProviderTask]] = {
    ProviderName.CREATIFY: [
        done(ProviderName.CREATIFY, "image", CREATIFY_TASK, "image_generated"),
        done(ProviderName.CREATIFY, "video", CREATIFY_TASK, "video_generated"),
    ],
    ProviderName.JOGG: [
        done(ProviderName.JOGG, "product", "prod-1", "created"),
        done(ProviderName.JOGG, "video", "vid-1"),
    ],
    ProviderName.PRODVISUAL: [done(ProviderName.PRODVISUAL, "generate", "gen_1")],
}

SourceFactory = Callable[..., Job]


@pytest.fixture
def source(world: World) -> SourceFactory:
    """``source(provider, status=, options=, tasks=, tenant_id=)``: a stored job, succeeded by default."""
    counter = iter(range(1, 1000))

    def make(
        provider: ProviderName = ProviderName.PRODVISUAL,
        *,
        status: JobStatus = JobStatus.SUCCEEDED,
        tasks: list[ProviderTask] | None = None,
        **fields: Any,
    ) -> Job:
        job_id = f"{next(counter):032x}"
        job = new_job(job_id, provider, now=world.clock(), **fields)
        chosen = SUCCEEDED_TASKS[provider] if tasks is None else tasks
        key = f"inputs/{job_id}/product.png"
        world.s3.put_object(Bucket=world.bucket, Key=key, Body=b"png-bytes", ContentType="image/png")
        job = job.model_copy(
            update={
                "status": status,
                "tasks": chosen,
                "task": chosen[-1] if chosen else None,
                "product_image": ProductImage(
                    s3_key=key, content_type="image/png", bytes=9, width=10, height=10, sha256="0" * 64
                ),
                "outputs": [
                    StoredOutput(
                        kind=OutputKind.IMAGE,
                        stage=chosen[-1].stage,
                        s3_key=f"outputs/{job_id}/image.png",
                        content_type="image/png",
                        bytes=1,
                        sha256="1" * 64,
                    )
                ]
                if status is JobStatus.SUCCEEDED and chosen
                else [],
            }
        )
        world.clock.advance(1)
        return world.store.create(job)

    return make
