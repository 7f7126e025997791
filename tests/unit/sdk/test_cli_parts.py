"""The command line client's pure parts: where its settings come from, manifests, the status line."""

from __future__ import annotations

import io
from pathlib import Path

import click
import pytest
from rich.console import Console

from mediajobs_client import MediajobsError
from mediajobs_client.cli import JobDisplay, describe, read_manifest
from mediajobs_client.config import resolve
from mediajobs_client.models import Job
from tests.unit.sdk.conftest import job


def write_config(path: Path, url: str = "https://file.example", key: str = "file-key") -> Path:
    path.write_text(f'api_url = "{url}"\napi_key = "{key}"\n')
    return path


def test_flags_win_over_the_environment_which_wins_over_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml")
    env = {"MEDIAJOBS_API_URL": "https://env.example", "MEDIAJOBS_CONFIG": str(config)}

    from_all = resolve(api_key="flag-key", environ=env)
    from_file = resolve(environ={"MEDIAJOBS_CONFIG": str(config)})

    assert (from_all.api_url, from_all.api_key) == ("https://env.example", "flag-key")
    assert (from_file.api_url, from_file.api_key) == ("https://file.example", "file-key")


def test_the_default_file_is_under_the_xdg_config_home(tmp_path: Path) -> None:
    (tmp_path / "mediajobs").mkdir()
    write_config(tmp_path / "mediajobs" / "config.toml", key="xdg-key")

    assert resolve(environ={"XDG_CONFIG_HOME": str(tmp_path)}).api_key == "xdg-key"


def test_a_missing_key_is_an_error_that_names_every_way_to_set_it(tmp_path: Path) -> None:
    with pytest.raises(MediajobsError) as raised:
        resolve(api_url="https://x.example", environ={"XDG_CONFIG_HOME": str(tmp_path)})

    assert raised.value.code == "not_configured"
    assert raised.value.message.startswith("no API key (--api-key or MEDIAJOBS_API_KEY):")


def test_a_named_config_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MediajobsError, match="does not exist"):
        resolve(config_path=tmp_path / "nope.toml", environ={})


def test_a_manifest_row_becomes_a_job_spec(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "provider,image_url,page_url,style,quality,metadata.sku,webhook_url\n"
        "prodvisual,https://s.example/a.png,,lifestyle,80,A-1,https://hooks.example/h\n"
        "jogg,,https://s.example/p.html,,,,\n"
    )

    items = read_manifest(manifest)

    assert items == [
        {
            "provider": "prodvisual",
            "product": {"image_url": "https://s.example/a.png"},
            "options": {"style": "lifestyle", "quality": "80"},
            "metadata": {"sku": "A-1"},
            "webhook_url": "https://hooks.example/h",
        },
        {"provider": "jogg", "product": {"page_url": "https://s.example/p.html"}, "options": {}},
    ]


def test_a_manifest_row_without_a_provider_names_its_line(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("provider,image_url\nprodvisual,https://s.example/a.png\n,https://s.example/b.png\n")

    with pytest.raises(click.BadParameter, match="line 3"):
        read_manifest(manifest)


def test_the_status_line_uses_progress_when_the_api_reports_it() -> None:
    progress = {"stage": "video", "stage_index": 2, "stage_count": 2, "provider_status": "rendering",
                "percent": 42.4, "eta_seconds": 12.2}  # fmt: skip

    line = describe(Job.model_validate(job(status="running", stage="video", progress=progress)), [])

    assert line == "running · stage video (2/2) · provider rendering · 42% · eta 12s"


def test_the_status_line_without_progress_counts_stages_from_the_catalog() -> None:
    task = {"stage": "image", "provider_job_id": "t1", "state": "running", "provider_status": "in_queue"}

    line = describe(
        Job.model_validate(job(status="running", stage="image", provider_jobs=[task])), ["image", "video"]
    )

    assert line == "running · stage image (1/2) · provider in_queue"


def test_on_a_terminal_the_display_is_a_live_line_with_stage_provider_status_and_elapsed_time() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    task = {
        "stage": "generate",
        "provider_job_id": "gen_1",
        "state": "running",
        "provider_status": "processing",
    }
    display = JobDisplay(console, ["generate"])

    with display.running("prodvisual"):
        display.update(Job.model_validate(job(status="running", stage="generate", provider_jobs=[task])))
        display.update(Job.model_validate(job(status="succeeded", stage="generate", provider_jobs=[task])))

    rendered = screen.getvalue()
    assert "prodvisual job-1 succeeded · stage generate (1/1) · provider processing" in rendered
    assert "0:00:0" in rendered  # the elapsed-time column
