"""The README's local stack section works as written against ``make local``.

The commands are taken from the README and run by a shell; only the stack's host:port (and the
``<moto port>`` placeholder) are rewritten to the test stack's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.served_stack import ROOT, ServedStack, served_stack, wait_final

pytestmark = pytest.mark.slow

README = ROOT / "README.md"
SECTION = "## The local stack (`make local`)"
README_HOST = "127.0.0.1:3000"


def section_text() -> str:
    text = README.read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)


def commands(block: str) -> list[str]:
    """Each shell command of a block: continuation lines and multi-line quotes joined, comments dropped."""
    found: list[str] = []
    current: list[str] = []
    for line in block.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current.append(line)
        text = "\n".join(current)
        if text.count("'") % 2 == 0 and not line.endswith("\\"):
            found.append(text)
            current = []
    assert not current, f"an unfinished command in the README: {current}"
    return found


def job_commands() -> list[str]:
    return [c for block in shell_blocks(section_text()) for c in commands(block) if "/v1/jobs" in c]


def test_given_the_readme_then_its_local_section_has_a_job_example_per_provider() -> None:
    found = job_commands()

    providers = [json.loads(c.split("-d '", 1)[1].rsplit("'", 1)[0])["provider"] for c in found]
    assert sorted(providers) == ["creatify", "jogg", "prodvisual"]
    for command in found:
        assert command.startswith("curl ")
        assert f"http://{README_HOST}/samples/product.png" in command


@pytest.fixture(scope="module")
def served() -> Iterator[ServedStack]:
    with served_stack() as running:
        running.wait_ready()
        yield running


@pytest.fixture
def curl_home(tmp_path: Path) -> Path:
    # curl reads $CURL_HOME/.curlrc: it adds the status code after the body, the command is untouched
    (tmp_path / ".curlrc").write_text('write-out = "\\n%{http_code}"\n')
    return tmp_path


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("index", range(3))
def test_given_make_local_when_a_readme_job_example_runs_then_202_and_the_job_succeeds(
    served: ServedStack, curl_home: Path, index: int
) -> None:
    # Given the README's example, pointed at the test stack
    command = job_commands()[index].replace(README_HOST, served.api_url.removeprefix("http://"))
    assert f"{served.sample_url()}" in served.stdout  # the URL make local prints is the one used

    # When it runs as written
    ran = subprocess.run(  # noqa: S603 - the README's own command
        ["bash", "-c", command],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], "CURL_HOME": str(curl_home), "HOME": str(curl_home)},
        check=False,
    )

    # Then it answers 202 and the job finishes succeeded
    assert ran.returncode == 0, ran.stderr
    body, status = ran.stdout.rsplit("\n", 1)
    assert status == "202", ran.stdout
    created = json.loads(body)
    assert created["status"] == "queued"
    with served.client() as client:
        job = wait_final(client, created["job_id"], timeout=180)
    assert job["status"] == "succeeded", job
    assert job["outputs"], job


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_given_make_local_when_the_readme_apikeys_pipeline_runs_then_jq_prints_a_working_key(
    served: ServedStack,
) -> None:
    # Given the README's operator example, pointed at the test stack's moto
    (command,) = [
        c for block in shell_blocks(section_text()) for c in commands(block) if "scripts.apikeys" in c
    ]
    command = command.replace("<moto port>", str(served.ports["moto"]))

    # When it runs as written (stdout piped into jq)
    ran = subprocess.run(  # noqa: S603 - the README's own command
        ["bash", "-o", "pipefail", "-c", command],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": os.environ["PATH"]},
        check=False,
    )

    # Then jq printed the key alone, the logs went to stderr, and the key is accepted by the API
    assert ran.returncode == 0, ran.stderr
    key = ran.stdout.strip()
    assert re.fullmatch(r"mj_live_[A-Za-z0-9_-]{32}", key), ran.stdout
    assert '"API key created"' in ran.stderr
    answer = httpx.get(f"{served.api_url}/v1/jobs", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert answer.status_code == 200, answer.text


def test_given_make_local_when_apikeys_list_runs_then_stdout_is_one_json_document(
    served: ServedStack,
) -> None:
    # Given a key made for a tenant (stdout is JSON only)
    environment = {
        "PATH": os.environ["PATH"],
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{served.ports['moto']}",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    base = [".venv/bin/python", "-m", "scripts.apikeys", "--table", "mediajobs-local-JobsTable"]
    made = subprocess.run(  # noqa: S603
        [*base, "create", "--tenant", "listing"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        check=True,
    )
    key_id = json.loads(made.stdout)["key_id"]

    # When the keys are listed
    listed = subprocess.run(  # noqa: S603
        [*base, "list", "--tenant", "listing"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        check=True,
    )

    # Then stdout parses as a single JSON document naming the key, and never the key itself
    document = json.loads(listed.stdout)
    assert [k["key_id"] for k in document["keys"]] == [key_id]
    assert json.loads(made.stdout)["key"] not in listed.stdout + listed.stderr
