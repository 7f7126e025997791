"""DynamoDB tables and S3 buckets of template.yaml, created in the active moto mock.

Tests never retype a table's keys or indexes: they ask for the template's logical ids and get the
physical names back. Only what moto needs to behave like the deployed resource is translated
(keys, attribute definitions, global secondary indexes, billing mode; a bucket by its name).
``local.provision`` does the same for the whole template against a moto server on loopback; it
has no per-resource entry point that works on an in-process mock, hence this small translation.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import boto3
from local.cfn import ResolveContext, Template, resolve
from local.moto_runtime import serialize_dynamodb

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
REGION = "us-east-1"
STACK_NAME = "unit"
KEYED_INDEX_FIELDS = ("IndexName", "KeySchema", "Projection")


@functools.cache
def load_template() -> Template:
    """template.yaml, parsed once per test run (properties() hands out copies)."""
    return Template.load(TEMPLATE)


def _context(template: Template) -> ResolveContext:
    # the stack's required parameters (secret ARNs) are not needed by tables and buckets
    defaults = {name: decl["Default"] for name, decl in template.parameters.items() if "Default" in decl}
    return ResolveContext(
        stack_name=STACK_NAME,
        parameters=defaults,
        conditions=template.conditions,
        mappings=template.mappings,
        region=REGION,
    )


def _create_table(logical_id: str, props: dict[str, Any]) -> str:
    name = str(props.get("TableName") or f"{STACK_NAME}-{logical_id}")
    billing = str(props.get("BillingMode", "PROVISIONED"))
    throughput = props.get("ProvisionedThroughput") or {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    args: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        args["ProvisionedThroughput"] = throughput
    indexes = []
    for index in props.get("GlobalSecondaryIndexes") or []:
        spec = {key: index[key] for key in KEYED_INDEX_FIELDS if key in index}
        if billing == "PROVISIONED":
            spec["ProvisionedThroughput"] = index.get("ProvisionedThroughput") or throughput
        indexes.append(spec)
    if indexes:
        args["GlobalSecondaryIndexes"] = indexes
    boto3.client("dynamodb", region_name=REGION).create_table(**args)
    return name


def _create_bucket(logical_id: str, props: dict[str, Any]) -> str:
    name = str(props.get("BucketName") or f"{STACK_NAME}-{logical_id}".lower())
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=name)
    return name


CREATORS = {
    "AWS::DynamoDB::Table": _create_table,
    "AWS::S3::Bucket": _create_bucket,
}


def create_from_template(logical_ids: list[str]) -> dict[str, str]:
    """Create the named tables and buckets of template.yaml in the active moto mock.

    Returns ``{logical id: physical name}``. Call it inside ``mock_aws()``. DynamoDB requests
    are made atomic, as they are in AWS (``local.moto_runtime.serialize_dynamodb``).
    """
    serialize_dynamodb()
    template = load_template()
    ctx = _context(template)
    created: dict[str, str] = {}
    for logical_id in logical_ids:
        resource = template.resources[logical_id]
        creator = CREATORS.get(resource.type)
        if creator is None:
            raise ValueError(f"{logical_id} is a {resource.type}: only tables and buckets are created")
        props = resolve(template.properties(logical_id), ctx)
        created[logical_id] = creator(logical_id, props)
    return created


#: keep boto3's default session across mocks: its service models load once per run, not per test
MOCK_CONFIG: dict[str, Any] = {"core": {"reset_boto3_session": False}}
