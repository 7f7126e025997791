"""A client generated from the served OpenAPI document (openapi-python-client) runs real jobs.

The document is the contract: the generator must take it without a warning, and the package it
writes (models, operations, the parsing of every answer) must create and finish a job of each
provider and a batch on the local stack, with the request examples the document carries.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from local.sample_shop import SampleShop
from local.stack import LocalStack

from tests.e2e.conftest import fast_sandboxes

PACKAGE = "mediajobs_api_client"
GENERATOR_CONFIG = {"project_name_override": "mediajobs-api-client", "package_name_override": PACKAGE}
OUTPUT_KIND = {"prodvisual": "image", "creatify": "video", "jogg": "video"}


@dataclass(frozen=True)
class Generated:
    output: str
    package: ModuleType

    def module(self, name: str) -> Any:
        return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture(scope="module", autouse=True)
def fast_providers(stack: LocalStack) -> Iterator[None]:
    with fast_sandboxes(stack):
        yield


@pytest.fixture(scope="module")
def document(stack: LocalStack) -> dict[str, Any]:
    answer = httpx.get(f"{stack.api_url}/v1/openapi.json", timeout=30.0)
    assert answer.status_code == 200, answer.text
    served: dict[str, Any] = answer.json()
    return served


@pytest.fixture(scope="module")
def generated(document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    # Given the document the stack serves, written where a client developer would save it
    workdir = tmp_path_factory.mktemp("generated-client")
    (workdir / "openapi.json").write_text(json.dumps(document), encoding="utf-8")
    (workdir / "config.json").write_text(json.dumps(GENERATOR_CONFIG), encoding="utf-8")
    # the generator formats its output with ruff: the one installed next to this interpreter
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}

    # When openapi-python-client generates a client package from it
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "config.json",
            "--output-path",
            "client",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    sys.path.insert(0, str(workdir / "client"))
    try:
        yield Generated(output=output, package=importlib.import_module(PACKAGE))
    finally:
        sys.path.remove(str(workdir / "client"))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture
def api(generated: Generated, stack: LocalStack) -> Iterator[Any]:
    with generated.package.AuthenticatedClient(
        base_url=stack.api_url, token=stack.api_key, timeout=httpx.Timeout(30.0)
    ) as client:
        yield client


def example(document: dict[str, Any], path: str, name: str, shop: SampleShop) -> dict[str, Any]:
    """The document's request example ``name`` of ``POST path``, its product URLs on the sample shop."""
    examples = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["examples"]
    body: dict[str, Any] = copy.deepcopy(examples[name]["value"])
    for spec in body.get("items", [body]):
        product = spec.get("product", {})
        if "image_url" in product:
            product["image_url"] = shop.url("product.png")
        if "page_url" in product:
            product["page_url"] = shop.url("page.html")
    return body


def wait_job(generated: Generated, api: Any, job_id: str, timeout: float = 90.0) -> Any:
    get_job = generated.module("api.jobs.get_job")
    final = {"succeeded", "failed", "cancelled"}
    deadline = time.monotonic() + timeout
    while True:
        job = get_job.sync(job_id, client=api)
        assert type(job).__name__ == "JobView", job
        if str(job.status) in final or time.monotonic() > deadline:
            return job
        time.sleep(0.25)


def test_given_the_served_document_when_a_client_is_generated_then_no_warning_and_every_operation(
    generated: Generated, document: dict[str, Any]
) -> None:
    # Then the generator said nothing worth a warning and wrote one function module per operation
    assert "warning" not in generated.output.lower(), generated.output
    assert "unable to" not in generated.output.lower(), generated.output
    for item in document["paths"].values():
        for operation in item.values():
            module = generated.module(f"api.{operation['tags'][0]}.{_snake(operation['operationId'])}")
            assert callable(module.sync_detailed)


@pytest.mark.parametrize("provider", ["prodvisual", "creatify", "jogg"])
def test_given_the_generated_client_when_it_creates_the_documented_example_job_then_it_succeeds(
    generated: Generated, api: Any, document: dict[str, Any], shop: SampleShop, provider: str
) -> None:
    # Given the document's example job body of this provider, as the generated model
    models = generated.module("models")
    model = {"prodvisual": "ProdVisualJobRequest", "creatify": "CreatifyJobRequest", "jogg": "JoggJobRequest"}
    body = getattr(models, model[provider]).from_dict(example(document, "/v1/jobs", provider, shop))
    create_job = generated.module("api.jobs.create_job")

    # When the generated client creates it with an Idempotency-Key, sends it again with the same
    # key, and polls the job to its end
    key = str(uuid.uuid4())
    created = create_job.sync_detailed(client=api, body=body, idempotency_key=key)
    assert created.status_code == 202, created.content
    accepted = created.parsed
    repeated = create_job.sync_detailed(client=api, body=body, idempotency_key=key)
    job = wait_job(generated, api, accepted.job_id)

    # Then the answers parse into the generated models, the repeat is the first answer replayed,
    # and the job made its media
    assert type(accepted).__name__ == "JobAccepted"
    assert created.headers["location"] == accepted.links.self_ == f"/v1/jobs/{accepted.job_id}"
    assert created.headers["idempotent-replayed"] == "false"
    assert (repeated.status_code, repeated.headers["idempotent-replayed"]) == (202, "true")
    assert repeated.parsed.job_id == accepted.job_id
    assert str(job.status) == "succeeded", job.to_dict()
    assert str(job.provider) == provider
    assert job.progress.stage_index == job.progress.stage_count
    kinds = {str(output.kind) for output in job.outputs}
    assert OUTPUT_KIND[provider] in kinds
    first = job.outputs[0]
    media = httpx.get(first.download_url, timeout=30.0)
    assert media.status_code == 200
    assert hashlib.sha256(media.content).hexdigest() == first.sha256
    assert len(media.content) == first.bytes_


def test_given_the_generated_client_when_it_creates_the_documented_example_batch_then_all_succeed(
    generated: Generated, api: Any, document: dict[str, Any], shop: SampleShop
) -> None:
    # Given the document's example batch, as the generated model
    body = generated.module("models").BatchRequest.from_dict(example(document, "/v1/batches", "mixed", shop))
    create_batch = generated.module("api.batches.create_batch")
    get_batch = generated.module("api.batches.get_batch")

    # When the generated client creates it and reads it until it completes
    created = create_batch.sync_detailed(client=api, body=body)
    assert created.status_code == 202, created.content
    accepted = created.parsed
    deadline = time.monotonic() + 120
    batch = get_batch.sync(accepted.batch_id, client=api)
    while batch.status != "completed" and time.monotonic() < deadline:
        time.sleep(0.5)
        batch = get_batch.sync(accepted.batch_id, client=api)

    # Then every item succeeded, each a job the generated client reads
    assert created.headers["location"] == accepted.links.self_ == f"/v1/batches/{accepted.batch_id}"
    assert (batch.status, batch.total, len(batch.items)) == ("completed", 3, 3)
    assert [str(item.status) for item in batch.items] == ["succeeded"] * 3
    assert {str(item.provider) for item in batch.items} == {"prodvisual", "creatify"}
    assert [item.job_id for item in batch.items] == accepted.job_ids


def test_given_the_generated_client_when_it_reads_a_job_that_does_not_exist_then_the_error_parses(
    generated: Generated, api: Any
) -> None:
    answer = generated.module("api.jobs.get_job").sync_detailed("f" * 32, client=api)

    assert answer.status_code == 404
    assert type(answer.parsed).__name__ == "ErrorResponse"
    assert answer.parsed.error.code == "not_found"


def test_given_the_generated_client_when_it_reads_the_provider_catalog_then_it_parses(
    generated: Generated, api: Any
) -> None:
    providers = generated.module("api.providers.list_providers").sync(client=api)
    styles = generated.module("api.providers.get_prodvisual_styles").sync_detailed(client=api)

    assert type(providers).__name__ == "ProvidersView"
    assert styles.status_code == 200
    assert "lifestyle" in {style.id for style in styles.parsed.styles}


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
