"""python -m scripts.budgets: set and show print the budget as JSON; the limits then hold."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from scripts import budgets

from mediajobs.api.keys import ApiKeyStore
from mediajobs.billing.service import Billing
from mediajobs.billing.store import BudgetStore
from mediajobs.errors import PaymentRequiredError
from mediajobs.jobs.models import JobSpec
from mediajobs.providers.base import ProductInput, ProviderName
from tests.support.aws import MOCK_CONFIG, REGION, create_from_template

ENV = {"AWS_DEFAULT_REGION": REGION}


@pytest.fixture
def table_name() -> Iterator[str]:
    with mock_aws(config=MOCK_CONFIG):
        yield create_from_template(["JobsTable"])["JobsTable"]


def cli(capsys: pytest.CaptureFixture[str], table_name: str, *argv: str) -> tuple[int, Any, str]:
    code = budgets.main(["--table", table_name, "--region", REGION, *argv], environ=ENV)
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else None, err


def test_given_set_when_run_then_it_prints_the_limits_and_creates_past_them_are_refused(
    capsys: pytest.CaptureFixture[str], table_name: str
) -> None:
    code, shown, _ = cli(capsys, table_name, "set", "--tenant", "acme", "--daily", "1", "--monthly", "30")

    assert code == 0
    assert (shown["tenant_id"], shown["daily"]["limit"], shown["monthly"]["limit"]) == ("acme", 1, 30)
    assert shown["daily"]["remaining"] == 1
    billing = Billing(BudgetStore(boto3.resource("dynamodb", region_name=REGION).Table(table_name)))
    job = JobSpec(provider=ProviderName.PRODVISUAL, product=ProductInput(image_url="https://x.example/a.png"))
    billing.reserve("acme", [(uuid.uuid4().hex, job)])
    with pytest.raises(PaymentRequiredError):
        billing.reserve("acme", [(uuid.uuid4().hex, job)])


def test_given_a_budget_when_shown_then_it_prints_what_is_spent_and_left(
    capsys: pytest.CaptureFixture[str], table_name: str
) -> None:
    cli(capsys, table_name, "set", "--tenant", "acme", "--daily", "5")
    billing = Billing(BudgetStore(boto3.resource("dynamodb", region_name=REGION).Table(table_name)))
    job = JobSpec(provider=ProviderName.PRODVISUAL, product=ProductInput(image_url="https://x.example/a.png"))
    billing.reserve("acme", [(uuid.uuid4().hex, job), (uuid.uuid4().hex, job)])

    code, shown, _ = cli(capsys, table_name, "show", "--tenant", "acme")

    assert code == 0
    assert (shown["daily"]["spent"], shown["daily"]["remaining"]) == (2, 3)
    assert shown["monthly"]["limit"] is None


def prodvisual() -> JobSpec:
    return JobSpec(
        provider=ProviderName.PRODVISUAL, product=ProductInput(image_url="https://x.example/a.png")
    )


def test_given_set_with_a_key_when_run_then_that_key_is_limited_and_the_tenants_other_key_is_not(
    capsys: pytest.CaptureFixture[str], table_name: str
) -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
    keys = ApiKeyStore(table)
    limited, other = keys.create("acme").record.key_id, keys.create("acme").record.key_id

    code, shown, _ = cli(capsys, table_name, "set", "--tenant", "acme", "--key", limited, "--daily", "1")

    assert code == 0
    assert shown["api_key"]["key_id"] == limited
    assert (shown["api_key"]["daily"]["limit"], shown["api_key"]["monthly"]["limit"]) == (1, None)
    assert shown["daily"]["limit"] is None  # the tenant's own budget is untouched
    billing = Billing(BudgetStore(table))
    billing.reserve("acme", [(uuid.uuid4().hex, prodvisual())], key_id=limited)
    with pytest.raises(PaymentRequiredError):
        billing.reserve("acme", [(uuid.uuid4().hex, prodvisual())], key_id=limited)
    billing.reserve("acme", [(uuid.uuid4().hex, prodvisual())], key_id=other)


def test_given_a_key_budget_when_shown_and_cleared_then_show_has_the_keys_spend_and_clear_lifts_it(
    capsys: pytest.CaptureFixture[str], table_name: str
) -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
    key_id = ApiKeyStore(table).create("acme").record.key_id
    cli(capsys, table_name, "set", "--tenant", "acme", "--key", key_id, "--monthly", "3")
    billing = Billing(BudgetStore(table))
    billing.reserve("acme", [(uuid.uuid4().hex, prodvisual())], key_id=key_id)

    _, shown, _ = cli(capsys, table_name, "show", "--tenant", "acme", "--key", key_id)
    code, cleared, _ = cli(capsys, table_name, "clear", "--tenant", "acme", "--key", key_id)

    assert (shown["api_key"]["monthly"]["spent"], shown["api_key"]["monthly"]["remaining"]) == (1, 2)
    assert code == 0
    assert cleared["api_key"]["monthly"]["limit"] is None
    assert cleared["api_key"]["monthly"]["spent"] == 1
    billing.reserve("acme", [(uuid.uuid4().hex, prodvisual()) for _ in range(5)], key_id=key_id)


def test_given_a_key_id_the_tenant_does_not_have_when_set_then_exit_1_and_nothing_is_written(
    capsys: pytest.CaptureFixture[str], table_name: str
) -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
    globex_key = ApiKeyStore(table).create("globex").record.key_id

    code, shown, err = cli(capsys, table_name, "set", "--tenant", "acme", "--key", globex_key, "--daily", "1")

    assert (code, shown) == (1, None)
    assert f"tenant acme has no key {globex_key}" in err
    assert BudgetStore(table).limits("acme", globex_key).daily is None


def test_given_a_malformed_key_id_when_set_then_argparse_refuses_it(
    capsys: pytest.CaptureFixture[str], table_name: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        budgets.main(["--table", table_name, "set", "--tenant", "acme", "--key", "mj_live_x"], environ=ENV)

    assert stopped.value.code == 2
    assert "not a key id" in capsys.readouterr().err


def test_given_a_tenant_budget_when_cleared_then_creates_are_no_longer_limited(
    capsys: pytest.CaptureFixture[str], table_name: str
) -> None:
    cli(capsys, table_name, "set", "--tenant", "acme", "--daily", "0")

    code, cleared, _ = cli(capsys, table_name, "clear", "--tenant", "acme")

    assert (code, cleared["daily"]["limit"], cleared["api_key"]) == (0, None, None)
    table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
    Billing(BudgetStore(table)).reserve("acme", [(uuid.uuid4().hex, prodvisual())])


def test_given_no_table_when_run_then_it_exits_with_a_usage_error_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = budgets.main(["show", "--tenant", "acme"], environ=ENV)

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert "JOBS_TABLE" in err


def test_given_a_negative_budget_when_set_then_argparse_refuses_it(
    capsys: pytest.CaptureFixture[str], table_name: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        budgets.main(["--table", table_name, "set", "--tenant", "acme", "--daily", "-1"], environ=ENV)

    assert stopped.value.code == 2
    assert "credits >= 0" in capsys.readouterr().err
