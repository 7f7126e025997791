"""The ``mediajobs`` command against the local stack, through Click's runner (real HTTP, real media)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from local.sample_shop import SampleShop
from local.stack import LocalStack

from mediajobs_client import Client
from mediajobs_client.cli import cli
from tests.e2e.conftest import fast_sandboxes
from tests.e2e.media_checks import check_h264, check_image


@pytest.fixture(scope="module", autouse=True)
def fast_providers(stack: LocalStack) -> Iterator[None]:
    with fast_sandboxes(stack):
        yield


@dataclass(frozen=True)
class Run:
    exit_code: int
    stdout: str
    stderr: str


def _stack_log_line(line: str) -> bool:
    """A log record or metric of the local stack's in-process Lambdas (one JSON object per line)."""
    if not line.startswith("{"):
        return False
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and ("_aws" in record or record.get("service") == "mediajobs")


def mediajobs(stack: LocalStack, *args: str, api_key: str | None = None) -> Run:
    """Run the command as a user would, configured through the environment.

    The runner captures ``sys.stdout`` for the whole process, so it also collects what the local
    stack's Lambdas (running in this process) print; those lines are dropped, the rest is the
    command's own output.
    """
    runner = CliRunner(mix_stderr=False)
    env = {"MEDIAJOBS_API_URL": stack.api_url, "MEDIAJOBS_API_KEY": api_key or stack.api_key}
    result: Result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
    own = [line for line in result.stdout.splitlines(keepends=True) if not _stack_log_line(line.rstrip("\n"))]
    return Run(result.exit_code, "".join(own), result.stderr)


def test_run_prodvisual_uploads_the_file_shows_progress_and_saves_the_image(
    stack: LocalStack, shop: SampleShop, tmp_path: Path
) -> None:
    product = tmp_path / "product.png"
    product.write_bytes(shop.images["png"])
    out = tmp_path / "out"

    result = mediajobs(stack, "run", "prodvisual", str(product), "--style", "lifestyle", "-o", str(out))

    assert result.exit_code == 0, result.stderr
    [saved] = sorted(out.iterdir())
    job_id = saved.name.split("-")[0]
    with Client(stack.api_url, stack.api_key) as client:
        job = client.jobs.get(job_id)
    check_image(saved, job.outputs[0], "PNG")
    assert f"prodvisual {job_id}: succeeded · stage generate (1/1)" in result.stderr
    assert "running" in result.stderr or "queued" in result.stderr  # it showed the job before the end
    assert "s\n" in result.stderr  # each progress line ends with the elapsed seconds
    assert "saved 1 file(s)" in result.stdout
    assert saved.name in result.stdout


def test_run_creatify_from_an_image_url_saves_a_preview_and_an_h264_video(
    stack: LocalStack, shop: SampleShop, tmp_path: Path
) -> None:
    result = mediajobs(
        stack, "--json", "run", "creatify", "--image-url", shop.url("product.png"),
        "--aspect-ratio", "9x16", "-o", str(tmp_path),
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["job"]["status"] == "succeeded"
    files = {Path(path).suffix: Path(path) for path in answer["files"]}
    assert set(files) == {".jpg", ".mp4"}
    with Client(stack.api_url, stack.api_key) as client:
        outputs = {o.kind: o for o in client.jobs.get(answer["job"]["job_id"]).outputs}
    check_image(files[".jpg"], outputs["preview"], "JPEG")
    assert check_h264(files[".mp4"], outputs["video"]) > 0
    assert "stage video (2/2)" in result.stderr


def test_run_jogg_from_a_page_url_saves_an_h264_video(
    stack: LocalStack, shop: SampleShop, tmp_path: Path
) -> None:
    result = mediajobs(
        stack, "run", "jogg", "--page-url", shop.url("page.html"), "--length", "15",
        "--aspect-ratio", "square", "-o", str(tmp_path), "--json",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    videos = [Path(p) for p in answer["files"] if p.endswith(".mp4")]
    assert len(videos) == 1
    with Client(stack.api_url, stack.api_key) as client:
        video = next(o for o in client.jobs.get(answer["job"]["job_id"]).outputs if o.kind == "video")
    check_h264(videos[0], video)
    assert video.width == video.height


def test_jobs_list_json_prints_every_job_of_the_tenant(stack: LocalStack, shop: SampleShop) -> None:
    key = f"cli-{uuid.uuid4().hex}"
    stack.add_api_key(key, f"tenant-{key}")
    with Client(stack.api_url, key) as client:
        created = [
            client.jobs.create(
                provider="prodvisual",
                product={"image_url": shop.url("product.png")},
                options={"style": "mockup"},
            ).job_id
            for _ in range(3)
        ]

    result = mediajobs(stack, "jobs", "list", "--json", api_key=key)

    assert result.exit_code == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [job["job_id"] for job in listed] == created[::-1]
    assert {job["provider"] for job in listed} == {"prodvisual"}


def test_providers_lists_the_three_providers_and_their_stages(stack: LocalStack) -> None:
    table = mediajobs(stack, "providers")
    as_json = mediajobs(stack, "providers", "--json")

    assert table.exit_code == 0, table.stderr
    for provider in ("creatify", "jogg", "prodvisual"):
        assert provider in table.stdout
    assert "image → video" in table.stdout
    stages = {p["provider"]: p["stages"] for p in json.loads(as_json.stdout)}
    assert stages == {
        "creatify": ["image", "video"],
        "jogg": ["product", "video"],
        "prodvisual": ["generate"],
    }


def test_batch_run_follows_the_manifest_to_the_end_and_saves_every_output(
    stack: LocalStack, shop: SampleShop, tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.csv"
    image = shop.url("product.png")
    manifest.write_text(
        "provider,image_url,page_url,style,format,length,metadata.sku\n"
        f"prodvisual,{image},,lifestyle,webp,,A-1\n"
        f"prodvisual,{image},,white_bg,,,A-2\n"
        f"jogg,,{shop.url('page.html')},,,15,A-3\n"
    )
    out = tmp_path / "out"

    result = mediajobs(stack, "batch", "run", str(manifest), "-o", str(out))

    assert result.exit_code == 0, result.stderr
    assert "3/3 final (succeeded 3), completed" in result.stderr
    saved = sorted(path.suffix for path in out.iterdir())
    assert saved == [".jpg", ".mp4", ".png", ".webp"]  # two images, JoggAI's preview and video
    assert "saved 4 file(s)" in result.stdout


def test_an_unknown_job_is_an_error_message_and_exit_code_1(stack: LocalStack) -> None:
    result = mediajobs(stack, "jobs", "get", "no-such-job")
    as_json = mediajobs(stack, "--json", "jobs", "get", "no-such-job")

    assert result.exit_code == 1
    assert "404 not_found" in result.stderr
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["error"]["code"] == "not_found"


def test_without_configuration_the_command_says_what_to_set(tmp_path: Path) -> None:
    runner = CliRunner(mix_stderr=False)
    env = {"MEDIAJOBS_API_URL": None, "MEDIAJOBS_API_KEY": None, "MEDIAJOBS_CONFIG": None,
           "XDG_CONFIG_HOME": str(tmp_path)}  # fmt: skip

    result = runner.invoke(cli, ["providers"], env=env)

    assert result.exit_code == 1
    assert "MEDIAJOBS_API_URL" in result.stderr
    assert "MEDIAJOBS_API_KEY" in result.stderr


def test_a_config_file_supplies_the_url_and_key(stack: LocalStack, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'api_url = "{stack.api_url}"\napi_key = "{stack.api_key}"\n')
    runner = CliRunner(mix_stderr=False)
    env = {"MEDIAJOBS_API_URL": None, "MEDIAJOBS_API_KEY": None, "MEDIAJOBS_CONFIG": str(config)}

    result = runner.invoke(cli, ["providers", "--json"], env=env)

    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 3


def test_the_installed_entry_point_prints_pure_json(stack: LocalStack) -> None:
    sdk_source = Path(__file__).resolve().parents[2] / "clients" / "python" / "src"
    env = os.environ | {
        "MEDIAJOBS_API_URL": stack.api_url,
        "MEDIAJOBS_API_KEY": stack.api_key,
        "PYTHONPATH": str(sdk_source),
    }

    done = subprocess.run(
        [sys.executable, "-m", "mediajobs_client", "--json", "providers"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert sorted(p["provider"] for p in json.loads(done.stdout)) == ["creatify", "jogg", "prodvisual"]


def test_jobs_get_and_wait_show_a_job_and_save_its_outputs(
    stack: LocalStack, shop: SampleShop, tmp_path: Path
) -> None:
    with Client(stack.api_url, stack.api_key) as client:
        job_id = client.jobs.create(
            provider="prodvisual", product={"image_url": shop.url("product.png")}, options={"style": "mockup"}
        ).job_id

    waited = mediajobs(stack, "jobs", "wait", job_id, "-o", str(tmp_path))
    shown = mediajobs(stack, "jobs", "get", job_id, "--json")

    assert waited.exit_code == 0, waited.stderr
    assert f"job {job_id}: succeeded" in waited.stderr
    assert (tmp_path / f"{job_id}-image.png").is_file()
    assert json.loads(shown.stdout)["status"] == "succeeded"
