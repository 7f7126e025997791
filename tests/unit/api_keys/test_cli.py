"""python -m scripts.apikeys: create prints the key once, list never does, revoke stops it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from scripts import apikeys

from mediajobs.api.auth import hash_api_key
from mediajobs.jobs.store import JobStore

ENV = {"AWS_DEFAULT_REGION": "us-east-1"}


def cli(capsys: pytest.CaptureFixture[str], table_name: str, *argv: str) -> tuple[int, Any, str]:
    code = apikeys.main(["--table", table_name, "--region", "us-east-1", *argv], environ=ENV)
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else None, err


def test_given_create_when_run_then_it_prints_the_new_key_once_with_its_id(
    capsys: pytest.CaptureFixture[str], table_name: str, jobs: JobStore
) -> None:
    code, shown, _ = cli(capsys, table_name, "create", "--tenant", "acme", "--name", "shop")

    assert code == 0
    assert shown["key"].startswith("mj_live_")
    assert (shown["tenant_id"], shown["name"], shown["status"]) == ("acme", "shop", "active")
    assert shown["key_id"] == hash_api_key(shown["key"])[:12]
    assert jobs.tenant_for_key(hash_api_key(shown["key"])) == "acme"


def test_given_a_key_when_listed_then_ids_names_and_dates_but_never_the_key(
    capsys: pytest.CaptureFixture[str], table_name: str
) -> None:
    _, made, _ = cli(capsys, table_name, "create", "--tenant", "acme", "--name", "shop")

    code, listed, _ = cli(capsys, table_name, "list", "--tenant", "acme")

    assert code == 0
    assert [(k["key_id"], k["name"], k["status"]) for k in listed["keys"]] == [
        (made["key_id"], "shop", "active")
    ]
    assert listed["keys"][0]["created_at"] == made["created_at"]
    assert made["key"] not in json.dumps(listed)


def test_given_a_key_when_revoked_then_it_no_longer_resolves_and_lists_as_revoked(
    capsys: pytest.CaptureFixture[str], table_name: str, jobs: JobStore
) -> None:
    _, made, _ = cli(capsys, table_name, "create", "--tenant", "acme")

    code, revoked, _ = cli(capsys, table_name, "revoke", "--tenant", "acme", "--key-id", made["key_id"])

    assert (code, revoked["status"]) == (0, "revoked")
    assert revoked["revoked_at"] is not None
    assert jobs.tenant_for_key(hash_api_key(made["key"])) is None
    _, listed, _ = cli(capsys, table_name, "list", "--tenant", "acme")
    assert [k["status"] for k in listed["keys"]] == ["revoked"]


def test_given_an_unknown_key_id_when_revoking_then_exit_1_with_the_reason(
    capsys: pytest.CaptureFixture[str], table_name: str
) -> None:
    code, shown, err = cli(capsys, table_name, "revoke", "--tenant", "acme", "--key-id", "0123456789ab")

    assert (code, shown) == (1, None)
    assert "has no key 0123456789ab" in err


def test_given_no_table_named_when_run_then_exit_2_and_it_says_how_to_name_it(
    capsys: pytest.CaptureFixture[str], table_name: str
) -> None:
    code = apikeys.main(["list", "--tenant", "acme"], environ={})

    assert code == 2
    assert "--table or JOBS_TABLE" in capsys.readouterr().err


def test_given_the_table_in_jobs_table_when_run_without_table_then_it_is_used(
    capsys: pytest.CaptureFixture[str], table_name: str
) -> None:
    code = apikeys.main(
        ["--region", "us-east-1", "list", "--tenant", "acme"], environ={"JOBS_TABLE": table_name}
    )

    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"tenant_id": "acme", "keys": []}


def test_given_a_table_that_does_not_exist_when_run_then_exit_1_not_a_traceback(
    capsys: pytest.CaptureFixture[str], table_name: str
) -> None:
    code, _, err = cli(capsys, "no-such-table", "list", "--tenant", "acme")

    assert code == 1
    assert "ResourceNotFoundException" in err
