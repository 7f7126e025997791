"""template.yaml wires the upload trigger without a circular dependency (sam validate --lint misses one)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from tests.support.aws import load_template

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:unit"
PARAMETERS = {"CreatifySecretArn": SECRET, "JoggSecretArn": SECRET, "ProdVisualSecretArn": SECRET}


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def _references(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".", 1)[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found.update(name.split(".", 1)[0] for name in re.findall(r"\$\{([^}!][^}]*)\}", text))
                if isinstance(value, list):
                    _references(value[1], found)
            else:
                _references(value, found)
    elif isinstance(node, list):
        for item in node:
            _references(item, found)


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    """The template as CloudFormation gets it (after the SAM transform)."""
    document = copy.deepcopy(load_template().body)
    for resource in document["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "DefinitionUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://artifacts/{properties[key].strip('/')}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # SAM builds ARNs for a region
        translated: dict[str, Any] = transform(document, PARAMETERS, _NoManagedPolicies())["Resources"]
    return translated


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph[node]):
            if (found := visit(target, [*path, node])) is not None:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        if (found := visit(start, [])) is not None:
            return found
    return None


def test_given_the_translated_template_when_dependencies_are_followed_then_none_is_circular(
    resources: dict[str, Any],
) -> None:
    graph: dict[str, set[str]] = {}
    for name, resource in resources.items():
        found: set[str] = set()
        _references(resource.get("Properties", {}), found)
        depends = resource.get("DependsOn", [])
        found.update([depends] if isinstance(depends, str) else depends)
        graph[name] = {target for target in found if target in resources and target != name}

    assert _cycle(graph) is None


def test_given_the_translated_template_when_the_bucket_is_read_then_uploads_invoke_the_trigger(
    resources: dict[str, Any],
) -> None:
    configurations = resources["MediaBucket"]["Properties"]["NotificationConfiguration"][
        "LambdaConfigurations"
    ]
    by_prefix = {
        c["Filter"]["S3Key"]["Rules"][0]["Value"]: (
            c["Event"],
            c["Function"],
            len(c["Filter"]["S3Key"]["Rules"]),
        )
        for c in configurations
    }

    # uploads/ runs the upload trigger; manifests/ (batch manifests) runs the manifest trigger
    assert len(configurations) == 2
    assert by_prefix == {
        "uploads/": ("s3:ObjectCreated:*", {"Fn::GetAtt": ["UploadTriggerFunction", "Arn"]}, 1),
        "manifests/": ("s3:ObjectCreated:*", {"Fn::GetAtt": ["ManifestTriggerFunction", "Arn"]}, 1),
    }
