"""The deployed stack never allows loopback URLs: only the embedded local stack sets that switch."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local.cfn import load_template_text
from local.stack import LOCAL_ONLY_ENVIRONMENT

from mediajobs.config import Settings
from mediajobs.fetching import UnsafeUrlError, UrlPolicy, check_url

ROOT = Path(__file__).resolve().parents[2]
SWITCH = "ALLOW_LOOPBACK_URLS"


def walk(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every mapping key and scalar of a parsed template, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, str(key)
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")
    elif node is not None:
        yield path, str(node)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template_text((ROOT / "template.yaml").read_text(encoding="utf-8"))


def test_the_template_never_names_the_loopback_switch(template: dict[str, Any]) -> None:
    # Given the parsed template (keys, values, parameters, Globals and every resource)
    found = [where for where, text in walk(template) if SWITCH in text.upper()]

    # Then the switch appears nowhere in it, nor in its text (comments included)
    assert found == []
    assert SWITCH not in (ROOT / "template.yaml").read_text(encoding="utf-8").upper()


def test_no_function_environment_in_the_template_turns_loopback_on(template: dict[str, Any]) -> None:
    # Given the environment every function gets: Globals and each function's own
    shared = template["Globals"]["Function"].get("Environment", {}).get("Variables", {})
    functions = {
        name: resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert functions, "the template declares no functions"

    # Then none of them has a variable that would set Settings.allow_loopback_urls
    setting = "allow_loopback_urls"
    offending = sorted(
        name
        for name, variables in functions.items()
        if any(key.lower() == setting for key in (shared | variables))
    )
    assert offending == []


def test_no_deploy_configuration_sets_the_switch() -> None:
    samconfig = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    assert SWITCH not in str(samconfig).upper()


def test_loopback_is_refused_unless_the_switch_is_set_explicitly() -> None:
    # Given settings built from an environment without the switch
    settings = Settings.from_env({"JOBS_TABLE": "jobs", "MEDIA_BUCKET": "media"})

    # Then loopback URLs are refused, and only the local stack's own environment sets the switch
    assert settings.allow_loopback_urls is False
    with pytest.raises(UnsafeUrlError, match="loopback"):
        check_url("http://127.0.0.1:3000/p/1", UrlPolicy(allow_loopback=settings.allow_loopback_urls))
    assert LOCAL_ONLY_ENVIRONMENT[SWITCH] == "true"
    assert Settings.from_env({"JOBS_TABLE": "j", "MEDIA_BUCKET": "m", SWITCH: "true"}).allow_loopback_urls
