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
