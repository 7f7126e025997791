"""What the cost tests share: a tenant of their own, the operator's budget script, provider calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from local.stack import LocalStack

from mediajobs.api.keys import ApiKeyStore
from mediajobs.aws import dynamodb_table
from mediajobs.jobs.store import JobStore
from tests.e2e.conftest import Client

ROOT = Path(__file__).resolve().parents[2]


def tenant_client(stack: LocalStack) -> tuple[str, Client]:
    """A tenant of its own (budgets and usage are per tenant) and a client with its key."""
    tenant = f"billing-{uuid.uuid4().hex[:8]}"
    key = f"key-{uuid.uuid4().hex}"
    stack.add_api_key(key, tenant)
    return tenant, Client(stack.api_url, key)


def tenant_with_keys(stack: LocalStack, count: int) -> tuple[str, list[tuple[str, Client]]]:
    """A tenant of its own with ``count`` API keys made as the operator makes them: (key id, client)."""
    tenant = f"billing-{uuid.uuid4().hex[:8]}"
    keys = ApiKeyStore(dynamodb_table(stack.table_name))
    made = [keys.create(tenant, name=f"e2e {n}") for n in range(count)]
    return tenant, [(m.record.key_id, Client(stack.api_url, m.key)) for m in made]


def generate_calls(stack: LocalStack) -> int:
    assert stack.sandboxes is not None
    return sum(1 for r in stack.sandboxes.prodvisual.requests if r.endpoint == "generate")


def generations_of(stack: LocalStack, job_ids: list[str]) -> int:
    """ProdVisual generations made for these jobs (their product links are /p/<job id>.<...>):
    unlike :func:`generate_calls`, not moved by other tests' jobs still in flight on the stack."""
    assert stack.sandboxes is not None
    links = tuple(f"/p/{job_id}." for job_id in job_ids)
    generations = list(stack.sandboxes.prodvisual.generations.values())
    return sum(1 for g in generations if any(link in g.spec.image_url for link in links))


def generations_made(stack: LocalStack) -> int:
    """How many ProdVisual generations the sandbox has made: a mark for :func:`generations_since`."""
    assert stack.sandboxes is not None
    return len(stack.sandboxes.prodvisual.generations)


def generations_since(stack: LocalStack, mark: int, tenant: str | None) -> list[str]:
    """The product links of ProdVisual generations made since ``mark`` that are not another
    tenant's job: a generation for this tenant's jobs, or for no job at all (a provider call a
    refused or dry-run create must never make). Other tests' jobs in flight do not count.
    With no tenant, only the generations made for no job."""
    assert stack.sandboxes is not None
    jobs = JobStore(dynamodb_table(stack.table_name))
    made = list(stack.sandboxes.prodvisual.generations.values())[mark:]
    found = []
    for generation in made:
        link = generation.spec.image_url
        job_id = link.split("/p/", 1)[1].split(".", 1)[0] if "/p/" in link else None
        job = jobs.find(job_id) if job_id else None
        if job is None or (tenant is not None and job.tenant_id == tenant):
            found.append(link)
    return found


def set_budget(stack: LocalStack, tenant: str, *args: str) -> dict[str, Any]:
    """The operator script, as an operator runs it against the stack's AWS endpoint.

    ``args`` follow ``set --tenant TENANT``: the limits, and ``--key KEY_ID`` for a key's budget.
    """
    assert stack.runtime is not None
    env = os.environ | {
        "AWS_ENDPOINT_URL": stack.runtime.endpoint_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [
            sys.executable,
            "-m",
            "scripts.budgets",
            "--table",
            stack.table_name,
            "set",
            "--tenant",
            tenant,
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    answer: dict[str, Any] = json.loads(done.stdout)
    return answer
