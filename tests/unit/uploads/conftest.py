"""Uploads on moto in-process: the template's table and bucket, a state machine that only records
its executions (moto's default: nothing runs), and the services wired as the functions wire them."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import boto3
import httpx
import pytest
from moto import mock_aws
from PIL import Image

from mediajobs.config import Settings
from mediajobs.jobs.service import JobService
from mediajobs.jobs.store import JobStore
from mediajobs.uploads.models import S3Notification
from mediajobs.uploads.service import UploadService
from mediajobs.uploads.store import UploadStore
from mediajobs.uploads.trigger import UploadTrigger
from tests.support.aws import MOCK_CONFIG, REGION, create_from_template
from tests.unit.jobs.fakes import BASE_URL, FakeClock

TENANT = "tenant-a"
PRODVISUAL_SPEC: dict[str, Any] = {
    "provider": "prodvisual",
    "options": {"style": "lifestyle", "format": "png"},
}


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, fmt)
    return buffer.getvalue()


def notification(bucket: str, key: str, event_name: str = "ObjectCreated:Put") -> S3Notification:
    """What S3 sends: the key URL-encoded."""
    return S3Notification.model_validate(
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": event_name,
                    "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key), "size": 1}},
                }
            ]
        }
    )


def refuse_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"uploads must not fetch anything over HTTP: {request.url}")


@dataclass
class Env:
    settings: Settings
    s3: Any
    sfn: Any
    jobs: JobService
    uploads: UploadService
    trigger: UploadTrigger
    clock: FakeClock

    @property
    def bucket(self) -> str:
        return self.settings.media_bucket

    def put(self, key: str, body: bytes, **kwargs: Any) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, **kwargs)

    def deliver(self, key: str) -> list[dict[str, str]]:
        """S3's notification for ``key``, handled once."""
        return [r.as_dict() for r in self.trigger.handle(notification(self.bucket, key))]

    def executions(self) -> list[str]:
        answer = self.sfn.list_executions(stateMachineArn=self.settings.state_machine_arn)
        return [e["name"] for e in answer["executions"]]


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws(config=MOCK_CONFIG):
        names = create_from_template(["JobsTable", "MediaBucket"])
        sfn = boto3.client("stepfunctions", region_name=REGION)
        definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
        machine = sfn.create_state_machine(
            name="unit-job", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/unit"
        )
        settings = Settings(
            jobs_table=names["JobsTable"],
            media_bucket=names["MediaBucket"],
            state_machine_arn=machine["stateMachineArn"],
            api_base_url=BASE_URL,
            max_image_bytes=1_000_000,
        )
        table = boto3.resource("dynamodb", region_name=REGION).Table(settings.jobs_table)
        s3 = boto3.client("s3", region_name=REGION)
        clock = FakeClock()
        http = httpx.Client(transport=httpx.MockTransport(refuse_network))
        jobs = JobService(store=JobStore(table), s3=s3, sfn=sfn, http=http, settings=settings, clock=clock)
        store = UploadStore(table)
        yield Env(
            settings=settings,
            s3=s3,
            sfn=sfn,
            jobs=jobs,
            uploads=UploadService(store=store, jobs=jobs, s3=s3, settings=settings, clock=clock),
            trigger=UploadTrigger(uploads=store, jobs=jobs, s3=s3, settings=settings, clock=clock),
            clock=clock,
        )
