"""API keys made with the operator command work against the local stack until they are revoked.

The API caches a key lookup for 60 seconds per container, so a revoked key is refused within
60 seconds. The local stack runs the API in this process: the tests move the lookup cache's clock
past that window instead of waiting a minute.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from local.stack import LocalStack
from scripts import apikeys

from mediajobs.api import auth

CACHE_WINDOW_SECONDS = 60


class AfterTheCacheWindow:
    """``time`` as the lookup cache sees it once its 60 seconds have passed."""

    @staticmethod
    def monotonic() -> float:
        return time.monotonic() + CACHE_WINDOW_SECONDS + 1


def cli(stack: LocalStack, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()  # what the stack's functions printed before
    code = apikeys.main(["--table", stack.table_name, *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    # the stack runs in this process: a job finishing meanwhile prints its metrics (EMF) here too;
    # the command's own answer is the rest (the subprocess test in the local stack tier checks that
    # the command prints nothing else)
    own = "\n".join(line for line in out.splitlines() if not line.startswith('{"_aws":'))
    return json.loads(own)


def get_jobs(stack: LocalStack, key: str) -> httpx.Response:
    return httpx.get(f"{stack.api_url}/v1/jobs", headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture
def tenant() -> str:
    return f"keys-{uuid.uuid4().hex[:8]}"


def test_given_a_key_made_with_the_command_when_used_then_the_api_serves_its_tenant(
    stack: LocalStack, capsys: pytest.CaptureFixture[str], tenant: str
) -> None:
    made = cli(stack, capsys, "create", "--tenant", tenant, "--name", "e2e")

    answer = get_jobs(stack, made["key"])

    assert answer.status_code == 200, answer.text
    assert answer.json()["jobs"] == []


def test_given_a_working_key_when_revoked_with_the_command_then_401_after_the_cache_window(
    stack: LocalStack, capsys: pytest.CaptureFixture[str], tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = cli(stack, capsys, "create", "--tenant", tenant)
    assert get_jobs(stack, made["key"]).status_code == 200

    cli(stack, capsys, "revoke", "--tenant", tenant, "--key-id", made["key_id"])
    monkeypatch.setattr(auth, "time", AfterTheCacheWindow)
    answer = get_jobs(stack, made["key"])

    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "unauthorized")


def test_given_a_rotation_when_the_old_key_is_revoked_then_the_new_key_keeps_working(
    stack: LocalStack, capsys: pytest.CaptureFixture[str], tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = cli(stack, capsys, "create", "--tenant", tenant, "--name", "old")
    new = cli(stack, capsys, "create", "--tenant", tenant, "--name", "new")
    before = (get_jobs(stack, old["key"]).status_code, get_jobs(stack, new["key"]).status_code)

    cli(stack, capsys, "revoke", "--tenant", tenant, "--key-id", old["key_id"])
    monkeypatch.setattr(auth, "time", AfterTheCacheWindow)

    assert before == (200, 200)
    assert get_jobs(stack, old["key"]).status_code == 401
    assert get_jobs(stack, new["key"]).status_code == 200
    listed = cli(stack, capsys, "list", "--tenant", tenant)
    assert [(k["name"], k["status"]) for k in listed["keys"]] == [("old", "revoked"), ("new", "active")]
