"""The log audit of the whole run (tests/support/log_audit.py) finds what it must and nothing else.

The loggers used here do not propagate: the secrets they log must not reach the session's audit.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_lambda_powertools import Logger

from tests.support.log_audit import ROOT, AuditHandler, find_secrets

HEX64 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
TOKEN = "0f3c1c9e-1c9a-4f1e-9a1b-2b3c4d5e6f70"

SECRET_LINES = [
    ("configured API key or secret", "Authorization checked for key local-dev-key"),
    ("configured API key or secret", "provider answered 401 for api_key=pv_test_sandbox"),
    (
        "configured API key or secret",
        "secret {'api_key': 'sandbox-key', 'webhook_secret': 'sandbox-webhook-secret'}",
    ),
    ("configured API key or secret", "tenant key other-tenant-key refused"),
    ("whsec_ webhook secret", "tenant secrets ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw']"),
    ("HMAC signature header value", f'headers {{"X-ProdVisual-Signature": "{HEX64}"}}'),
    ("HMAC signature header value", f"X-Webhook-Signature: sha256={HEX64}"),
    ("Standard Webhooks signature", "webhook-signature: v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="),
    ("Step Functions task token", f'event {{"job_id": "j1", "task_token": "{TOKEN}"}}'),
    ("Step Functions task token", f"SendTaskSuccess taskToken={TOKEN}"),
    (
        "presigned URL signature",
        "GET https://b.s3.amazonaws.com/o.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab12",
    ),
    ("presigned URL signature", "download https://b.s3.amazonaws.com/o.png?x-amz-credential=AKIA%2F2025"),
    (
        "Creatify callback token",
        "POST /v1/webhooks/creatify/0123456789abcdef0123456789abcdef.Zm9vYmFyYmF6cXV4 answered 404",
    ),
    ("Creatify callback token", "job {'callback_token': 'Zm9vYmFyYmF6cXV4cXV1eA'}"),
    ("Creatify callback token", "unknown callback 0123456789abcdef0123456789abcdef.Zm9vYmFyYmF6cXV4cXV1eA"),
    ("bearer token", "header Authorization: Bearer tenant-a-secret-key"),
]

CLEAN_LINES = [
    f'archived output {{"sha256": "{HEX64}", "bytes": 1200}}',
    "job 0123456789abcdef0123456789abcdef is succeeded",
    "job 0123456789abcdef0123456789abcdef output 0123456789abcdef0123456789abcdef.png",
    "task token no longer valid",
    "a webhook secret is 'whsec_' followed by the base64 of at least 24 random bytes",
    "signature does not match the body",
    # a fixed id: xdist workers must collect the same test ids
    f"request {uuid.UUID(int=0x86EA7331347D4D4F96315D734154F36E)} took 12 ms",
    "GET https://b.s3.amazonaws.com/o.png (redacted) answered HTTP 403",
    'HTTP Request: GET https://api.prodvisual.com/v1/generations/abc "HTTP/1.1 200 OK"',
]


@pytest.mark.parametrize(("kind", "line"), SECRET_LINES)
def test_every_kind_of_secret_is_found(kind: str, line: str) -> None:
    found = list(find_secrets(line))
    assert kind in {found_kind for found_kind, _ in found}


@pytest.mark.parametrize("line", CLEAN_LINES)
def test_lines_without_secrets_are_not_flagged(line: str) -> None:
    assert list(find_secrets(line)) == []


def test_a_task_token_issued_in_the_run_is_found_wherever_it_appears() -> None:
    line = f"Step Functions refused {TOKEN}: TaskTimedOut"
    assert list(find_secrets(line)) == []
    assert [kind for kind, _ in find_secrets(line, known={TOKEN})] == ["Step Functions task token"]


def test_the_report_never_shows_the_secret() -> None:
    presigned = "GET https://b/o.png?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=deadbeefcafe0001 200"
    excerpts = [excerpt for _, line in [*SECRET_LINES, ("", presigned)] for _, excerpt in find_secrets(line)]
    assert excerpts
    for excerpt in excerpts:
        for secret in (
            "AKIAEXAMPLE",
            "deadbeefcafe0001",
            "local-dev-key",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            HEX64,
            TOKEN,
            "Zm9vYmFyYmF6cXV4",
        ):
            assert secret not in excerpt


@pytest.fixture
def isolated() -> Iterator[logging.Logger]:
    """A logger whose records reach only the handler the test attaches."""
    logger = logging.getLogger("log-audit-selftest.plain")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger
    logger.handlers.clear()


def test_a_record_of_the_owning_logger_is_a_finding(isolated: logging.Logger) -> None:
    handler = AuditHandler(shipped=(), owner="log-audit-selftest", current_test=lambda: "the test")
    isolated.addHandler(handler)
    isolated.info("calling with %s", "local-dev-key", extra={"url": "https://x/?X-Amz-Signature=1"})
    assert [(f.kind, f.logger, f.test) for f in handler.findings] == [
        ("configured API key or secret", "log-audit-selftest.plain", "the test"),
        ("presigned URL signature", "log-audit-selftest.plain", "the test"),
    ]
    assert handler.findings[0].call_site.endswith("(test_a_record_of_the_owning_logger_is_a_finding)")


def test_a_record_of_another_logger_counts_only_with_shipped_code_on_the_stack(
    isolated: logging.Logger,
) -> None:
    # Given records of a library logger, logged from code that is not shipped
    ignored = AuditHandler(shipped=(), owner="mediajobs")
    isolated.addHandler(ignored)
    isolated.info("GET https://x/?X-Amz-Signature=1")
    isolated.removeHandler(ignored)

    # And the same, logged while this (stand-in for shipped) file is on the stack
    audited = AuditHandler(shipped=(__file__,), owner="mediajobs")
    isolated.addHandler(audited)
    isolated.info("GET https://x/?X-Amz-Signature=1")

    # Then only the second is a finding, with the shipped line that led to it
    assert (ignored.findings, ignored.ignored) == ([], 1)
    assert [f.kind for f in audited.findings] == ["presigned URL signature"]
    source = audited.findings[0].source
    assert source is not None
    assert "test_log_audit.py:" in source


def test_powertools_keys_appended_to_the_logger_are_scanned() -> None:
    # Given a Powertools logger (writing JSON lines to a stream) with a task token appended
    stream = io.StringIO()
    powertools = Logger(service="log-audit-selftest-pt", stream=stream)
    logging.getLogger("log-audit-selftest-pt").propagate = False
    handler = AuditHandler(shipped=(), owner="log-audit-selftest-pt")
    powertools.addHandler(handler)
    try:
        powertools.append_keys(task_token=TOKEN)

        # When a line without the token in its message is logged
        powertools.info("parked")
    finally:
        logging.getLogger("log-audit-selftest-pt").removeHandler(handler)

    # Then the key the JSON line carries is found
    assert TOKEN in stream.getvalue()
    assert [f.kind for f in handler.findings] == ["Step Functions task token"]


SECRET_IN_A_WORKER = """
import logging

def test_logs_a_key():
    logging.getLogger("mediajobs").warning("calling with key local-dev-key")

def test_logs_nothing():
    pass
"""


def run_with_workers(tmp_path: Path, test_code: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_worker_logs.py").write_text(test_code)
    environment = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "-p",
            "tests.support.log_audit",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_secret_logged_in_an_xdist_worker_fails_the_run(tmp_path: Path) -> None:
    # Given a run on two xdist workers where one test logs an API key through the mediajobs logger
    # When it runs
    done = run_with_workers(tmp_path, SECRET_IN_A_WORKER)
    # Then the controller reports the worker's finding and the run fails, though every test passed
    assert "2 passed" in done.stdout, done.stdout
    assert "log audit FAILED: 1 secrets" in done.stdout, done.stdout
    assert "test_worker_logs.py::test_logs_a_key" in done.stdout
    assert "local-dev-key" not in done.stdout
    assert done.returncode == 1


def test_the_controller_counts_the_records_of_every_worker(tmp_path: Path) -> None:
    done = run_with_workers(tmp_path, SECRET_IN_A_WORKER.replace("with key local-dev-key", "without a key"))
    assert done.returncode == 0, done.stdout
    assert "log records scanned in 2 workers, no secret" in done.stdout
