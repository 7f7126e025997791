"""Fakes for the job tests: a scripted provider adapter, a clock, a Step Functions client."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from mediajobs.errors import ErrorKind, PermanentProviderError, RetryableProviderError
from mediajobs.jobs.models import Job, JobSpec, TimelineEntry
from mediajobs.providers.base import (
    OutputKind,
    OutputRef,
    ProductInput,
    ProviderAdapter,
    ProviderName,
    ProviderTask,
    StartRequest,
    TaskState,
    WebhookNotice,
)

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
BASE_URL = "https://abcdef1234.execute-api.us-east-1.amazonaws.com"

#: an answer a fake adapter gives: a task (or None for ``advance``) or an error it raises
Answer = ProviderTask | WebhookNotice | Exception | None


class FakeClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class UnexpectedCallError(AssertionError):
    """The code under test called the provider when the test scripted no answer."""


class FakeAdapter(ProviderAdapter):
    """A provider adapter whose answers the test scripts, one queue per method.

    Each call takes the next answer of its queue: a task is returned, an exception raised. A call
    with nothing scripted fails the test. ``calls`` records every call with its arguments.
    """

    def __init__(self, name: ProviderName) -> None:
        self.name = name
        self.calls: list[tuple[str, Any]] = []
        self.answers: dict[str, list[Answer]] = {"start": [], "fetch": [], "advance": [], "webhook": []}

    # scripting

    def on_start(self, *answers: Answer) -> FakeAdapter:
        self.answers["start"].extend(answers)
        return self

    def on_fetch(self, *answers: Answer) -> FakeAdapter:
        self.answers["fetch"].extend(answers)
        return self

    def on_advance(self, *answers: Answer) -> FakeAdapter:
        self.answers["advance"].extend(answers)
        return self

    def on_webhook(self, *answers: Answer) -> FakeAdapter:
        self.answers["webhook"].extend(answers)
        return self

    def count(self, method: str) -> int:
        return sum(1 for name, _ in self.calls if name == method)

    def _answer(self, method: str) -> Answer:
        queue = self.answers[method]
        if not queue:
            raise UnexpectedCallError(f"{self.name.value}: unexpected {method} call")
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    # ProviderAdapter

    def start(self, request: StartRequest) -> ProviderTask:
        self.calls.append(("start", request))
        answer = self._answer("start")
        assert isinstance(answer, ProviderTask)
        return answer

    def fetch(self, stage: str, task_id: str) -> ProviderTask:
        self.calls.append(("fetch", (stage, task_id)))
        answer = self._answer("fetch")
        assert isinstance(answer, ProviderTask)
        return answer

    def advance(self, completed: ProviderTask, request: StartRequest) -> ProviderTask | None:
        self.calls.append(("advance", (completed, request)))
        answer = self._answer("advance")
        assert answer is None or isinstance(answer, ProviderTask)
        return answer

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookNotice:
        self.calls.append(("webhook", (dict(headers), body)))
        answer = self._answer("webhook")
        assert isinstance(answer, WebhookNotice)
        return answer


class FakeAdapters:
    """``adapters(provider)`` as the pipeline calls it: one FakeAdapter per provider."""

    def __init__(self) -> None:
        self.by_name = {name: FakeAdapter(name) for name in ProviderName}

    def __call__(self, name: ProviderName) -> ProviderAdapter:
        return self.by_name[name]

    def __getitem__(self, name: ProviderName) -> FakeAdapter:
        return self.by_name[name]


@dataclass
class FakeSfn:
    """The one Step Functions call the webhooks make; ``fail_with`` makes it answer a ClientError."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    fail_with: str | None = None

    def send_task_success(self, *, taskToken: str, output: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        if self.fail_with is not None:
            raise ClientError(
                {"Error": {"Code": self.fail_with, "Message": "Task Timed Out"}}, "SendTaskSuccess"
            )
        self.sent.append({"taskToken": taskToken, "output": json.loads(output)})
        return {}

    @property
    def tokens(self) -> list[str]:
        return [call["taskToken"] for call in self.sent]


# --- builders --------------------------------------------------------------------------------------

FIRST_STAGE = {
    ProviderName.CREATIFY: "image",
    ProviderName.JOGG: "product",
    ProviderName.PRODVISUAL: "generate",
}


def task(
    provider: ProviderName = ProviderName.PRODVISUAL,
    *,
    stage: str | None = None,
    task_id: str = "task-1",
    state: TaskState = TaskState.RUNNING,
    status: str | None = None,
    outputs: tuple[OutputRef, ...] = (),
    credits_used: float | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> ProviderTask:
    return ProviderTask(
        provider=provider,
        stage=stage or FIRST_STAGE[provider],
        task_id=task_id,
        state=state,
        provider_status=status or state.value,
        outputs=outputs,
        credits_used=credits_used,
        error_code=error_code,
        error_message=error_message,
    )


def completed(provider: ProviderName = ProviderName.PRODVISUAL, **fields: Any) -> ProviderTask:
    kind = OutputKind.VIDEO if fields.get("stage") == "video" else OutputKind.IMAGE
    fields.setdefault("outputs", (OutputRef(kind=kind, url=f"https://cdn.example/{kind.value}.bin"),))
    return task(provider, state=TaskState.COMPLETED, **fields)


OPTIONS: dict[ProviderName, dict[str, Any]] = {
    ProviderName.CREATIFY: {"aspect_ratio": "9x16"},
    ProviderName.JOGG: {"aspect_ratio": "portrait"},
    ProviderName.PRODVISUAL: {"style": "lifestyle", "format": "png"},
}


def new_job(
    job_id: str,
    provider: ProviderName = ProviderName.PRODVISUAL,
    *,
    tenant_id: str = "tenant-a",
    now: datetime = START,
    deadline_seconds: int = 21600,
    options: dict[str, Any] | None = None,
    callback_token: str | None = None,
    public_base_url: str = BASE_URL,
) -> Job:
    """A job as the API accepts it (queued, no provider task yet)."""
    product = (
        ProductInput(page_url="https://shop.example.com/products/aurora-bottle")
        if provider is ProviderName.JOGG
        else ProductInput(image_url="https://shop.example.com/images/aurora-bottle.png")
    )
    if callback_token is None and provider is ProviderName.CREATIFY:
        callback_token = "c" * 32
    return Job(
        job_id=job_id,
        tenant_id=tenant_id,
        created_at=now,
        updated_at=now,
        deadline_at=now + timedelta(seconds=deadline_seconds),
        spec=JobSpec(
            provider=provider,
            product=product,
            options=OPTIONS[provider] if options is None else options,
        ),
        public_base_url=public_base_url,
        callback_token=callback_token,
        timeline=[TimelineEntry(status="queued", at=now)],
    )


def retryable(retry_after: float | None = None, *, provider: str = "prodvisual") -> RetryableProviderError:
    return RetryableProviderError(
        provider=provider,
        kind=ErrorKind.RATE_LIMITED,
        provider_code="429",
        provider_message="slow down",
        http_status=429,
        retry_after=retry_after,
    )


def permanent(kind: ErrorKind, *, provider: str = "prodvisual") -> PermanentProviderError:
    return PermanentProviderError(
        provider=provider,
        kind=kind,
        provider_code=f"{kind.value}_code",
        provider_message=f"{kind.value} said",
    )
