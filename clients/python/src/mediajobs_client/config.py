"""Where the command line client finds the API: flags, then the environment, then a config file.

The file is TOML (``MEDIAJOBS_CONFIG``, else ``$XDG_CONFIG_HOME/mediajobs/config.toml``, else
``~/.config/mediajobs/config.toml``)::

    api_url = "https://api.example.com"
    api_key = "mj_live_..."
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mediajobs_client.errors import MediajobsError

URL_VARIABLE = "MEDIAJOBS_API_URL"
KEY_VARIABLE = "MEDIAJOBS_API_KEY"
CONFIG_VARIABLE = "MEDIAJOBS_CONFIG"


@dataclass(frozen=True)
class Settings:
    api_url: str
    api_key: str


def default_config_path(environ: Mapping[str, str]) -> Path:
    if environ.get(CONFIG_VARIABLE):
        return Path(environ[CONFIG_VARIABLE]).expanduser()
    base = Path(environ["XDG_CONFIG_HOME"]) if environ.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "mediajobs" / "config.toml"


def _read_file(path: Path, explicit: bool) -> dict[str, str]:
    if not path.is_file():
        if explicit:
            raise MediajobsError(f"the config file {path} does not exist", code="not_configured")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MediajobsError(
            f"the config file {path} is not valid TOML: {exc}", code="not_configured"
        ) from exc
    return {name: str(data[name]) for name in ("api_url", "api_key") if name in data}


def resolve(
    *,
    api_url: str | None = None,
    api_key: str | None = None,
    config_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The API URL and key: each from its flag, else the environment, else the config file."""
    env = os.environ if environ is None else environ
    explicit = config_path is not None or bool(env.get(CONFIG_VARIABLE))
    path = Path(config_path).expanduser() if config_path is not None else default_config_path(env)
    needs_file = not (api_url or env.get(URL_VARIABLE)) or not (api_key or env.get(KEY_VARIABLE))
    from_file = _read_file(path, explicit) if needs_file or explicit else {}
    url = api_url or env.get(URL_VARIABLE) or from_file.get("api_url")
    key = api_key or env.get(KEY_VARIABLE) or from_file.get("api_key")
    missing = [
        what
        for what, value in (
            ("API URL (--api-url or MEDIAJOBS_API_URL)", url),
            ("API key (--api-key or MEDIAJOBS_API_KEY)", key),
        )
        if not value
    ]
    if missing or url is None or key is None:
        raise MediajobsError(
            f"no {' and no '.join(missing)}: pass the flags, set {URL_VARIABLE} / {KEY_VARIABLE}, "
            f"or write api_url and api_key in {path}",
            code="not_configured",
        )
    return Settings(api_url=url, api_key=key)
