"""boto3 clients, created once per container and reused by every invocation."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_stepfunctions.client import SFNClient

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
    signature_version="s3v4",
)


@functools.cache
def dynamodb_table(name: str) -> Table:
    return boto3.resource("dynamodb", config=_CONFIG).Table(name)


@functools.cache
def s3_client() -> S3Client:
    return boto3.client("s3", config=_CONFIG)


@functools.cache
def sfn_client() -> SFNClient:
    return boto3.client("stepfunctions", config=_CONFIG)
