"""Sample API Gateway events from events/, and a way to send them through a resolver."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from mediajobs.config import get_settings

EVENTS = Path(__file__).resolve().parents[3] / "events"


@cache
def _event_file(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return loaded


def sample_event(name: str) -> dict[str, Any]:
    """A fresh copy of ``events/<name>`` that a test may change."""
    return copy.deepcopy(_event_file(name))


def with_path(event: dict[str, Any], path: str, method: str | None = None) -> dict[str, Any]:
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    if method is not None:
        event["requestContext"]["http"]["method"] = method
    return event


def with_json_body(event: dict[str, Any], body: Any) -> dict[str, Any]:
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    event["isBase64Encoded"] = False
    return event


def body_of(event: dict[str, Any]) -> bytes:
    raw = event.get("body") or ""
    return base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()


class _Context:
    function_name = "unit"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:unit"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def error_code(self) -> str:
        return str(self.json["error"]["code"])


def send(app: APIGatewayHttpResolver, event: dict[str, Any]) -> Answer:
    result = app.resolve(event, _Context())  # type: ignore[arg-type]
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return Answer(status=result["statusCode"], headers=headers, text=body)


@pytest.fixture(autouse=True)
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The settings handlers read at first use (public base URL); parsed afresh for each test."""
    monkeypatch.setenv("JOBS_TABLE", "unit-JobsTable")
    monkeypatch.setenv("MEDIA_BUCKET", "unit-mediabucket")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
