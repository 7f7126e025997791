"""The client's answers: paging through every job, errors as exceptions, waits, verified downloads."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from mediajobs_client import (
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DownloadIntegrityError,
    MediajobsError,
    NotFoundError,
    Output,
    RetryPolicy,
    ValidationError,
    WaitTimeoutError,
)
from tests.unit.sdk.conftest import (
    API_KEY,
    BASE_URL,
    Script,
    Sleeps,
    accepted,
    error,
    event,
    job,
    make_client,
    stream,
)


def page(ids: list[str], cursor: str | None) -> httpx.Response:
    summaries = [
        {k: v for k, v in job(job_id=i).items() if k not in {"provider_jobs", "timeline", "outputs"}}
        for i in ids
    ]
    return httpx.Response(200, json={"jobs": summaries, "next_cursor": cursor})


def test_listing_follows_every_cursor_to_the_last_page(sleeps: Sleeps) -> None:
    script = Script(page(["a", "b"], "c1"), page(["c", "d"], "c2"), page(["e"], None))
    client = make_client(script, sleeps)

    ids = [summary.job_id for summary in client.jobs.list(status="succeeded", page_size=2)]

    assert ids == ["a", "b", "c", "d", "e"]
    params = [dict(request.url.params) for request in script.requests]
    assert params == [
        {"status": "succeeded", "limit": "2"},
        {"status": "succeeded", "limit": "2", "cursor": "c1"},
        {"status": "succeeded", "limit": "2", "cursor": "c2"},
    ]


def test_requests_carry_the_api_key_as_a_bearer_token(sleeps: Sleeps) -> None:
    script = Script(httpx.Response(200, json=job()))

    make_client(script, sleeps).jobs.get("job-1")

    assert script.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert str(script.requests[0].url) == f"{BASE_URL}/v1/jobs/job-1"


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (error(400, "invalid_cursor"), BadRequestError),
        (error(401, "unauthorized"), AuthenticationError),
        (error(404, "not_found"), NotFoundError),
        (error(409, "job_final"), ConflictError),
        (
            error(422, "validation_error", details=[{"path": "options.style", "message": "required"}]),
            ValidationError,
        ),
        (httpx.Response(418, text="teapot"), MediajobsError),
    ],
)
def test_an_error_answer_is_raised_as_its_exception_with_status_code_message_and_details(
    sleeps: Sleeps, answer: httpx.Response, kind: type[MediajobsError]
) -> None:
    client = make_client(Script(answer), sleeps)

    with pytest.raises(kind) as raised:
        client.jobs.cancel("job-1")

    assert type(raised.value) is kind
    assert raised.value.status == answer.status_code
    body = answer.json() if answer.headers.get("content-type") == "application/json" else None
    if body:
        assert raised.value.code == body["error"]["code"]
        assert raised.value.message == body["error"]["message"]
        assert raised.value.details == body["error"].get("details", [])
    else:
        assert raised.value.code is None
        assert raised.value.message == "teapot"


def test_wait_without_the_event_feed_polls_reports_each_change_once_and_returns_the_final_job(
    sleeps: Sleeps,
) -> None:
    task = {
        "stage": "generate",
        "provider_job_id": "gen_1",
        "state": "running",
        "provider_status": "processing",
    }
    progress = {
        "stage": "generate",
        "stage_index": 1,
        "stage_count": 1,
        "provider_status": "processing",
        "percent": 40.0,
        "eta_seconds": 3.0,
    }
    script = Script(
        httpx.Response(200, json=job(status="queued")),
        error(404, "not_found"),  # an API without the event feed
        httpx.Response(200, json=job(status="running", stage="generate", provider_jobs=[task])),
        httpx.Response(200, json=job(status="running", stage="generate", provider_jobs=[task])),
        httpx.Response(
            200, json=job(status="running", stage="generate", provider_jobs=[task], progress=progress)
        ),
        httpx.Response(
            200, json=job(status="succeeded", stage="generate", provider_jobs=[task], future_field=1)
        ),
    )
    client = make_client(script, sleeps)
    seen: list[tuple[str, str | None, float | None]] = []

    final = client.jobs.wait(
        "job-1",
        on_update=lambda j: seen.append((j.status, j.provider_status, j.progress and j.progress.percent)),
    )

    assert final.status == "succeeded"
    assert seen == [
        ("queued", None, None),
        ("running", "processing", None),
        ("running", "processing", 40.0),
        ("succeeded", "processing", None),
    ]
    assert [r.url.path for r in script.requests].count("/v1/jobs/job-1/events") == 1
    assert len(sleeps) == 3
    assert sleeps[0] < sleeps[-1]  # the polls back off


def test_wait_gives_up_after_its_timeout(sleeps: Sleeps) -> None:
    script = Script(*(httpx.Response(200, json=job(status="running")) for _ in range(3)))
    client = make_client(script, sleeps)

    with pytest.raises(WaitTimeoutError, match="still running"):
        client.jobs.wait("job-1", timeout=0)


MEDIA = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64


def output(data: bytes, sha256: str | None = None) -> dict[str, Any]:
    return {
        "kind": "image",
        "stage": "generate",
        "content_type": "image/png",
        "bytes": len(data),
        "sha256": sha256 or hashlib.sha256(data).hexdigest(),
        "download_url": "https://bucket.s3.test/outputs/job-1/0.png?X-Amz-Signature=abc",
    }


def test_run_downloads_every_output_once_its_hash_matches(sleeps: Sleeps, tmp_path: Path) -> None:
    succeeded = job(status="succeeded", outputs=[output(MEDIA)])
    script = Script(
        accepted(),
        stream(event(1, "succeeded", final=True), end=True),
        httpx.Response(200, json=succeeded),
        httpx.Response(200, content=MEDIA),
    )
    client = make_client(script, sleeps)

    result = client.jobs.run(
        provider="prodvisual",
        product={"image_url": "https://s.test/p.png"},
        options={"style": "x"},
        download_to=tmp_path,
    )

    assert result.files == [tmp_path / "job-1-image.png"]
    assert result.files[0].read_bytes() == MEDIA
    download = script.requests[3]
    assert "authorization" not in download.headers  # the API key never goes to the storage URL


def test_a_download_whose_hash_differs_raises_and_leaves_no_file(sleeps: Sleeps, tmp_path: Path) -> None:
    tampered = MEDIA[:-1] + b"\x00"
    script = Script(httpx.Response(200, content=tampered))
    client = make_client(script, sleeps)

    with pytest.raises(DownloadIntegrityError) as raised:
        client.download(Output.model_validate(output(MEDIA)), tmp_path)

    assert raised.value.code == "sha256_mismatch"
    assert list(tmp_path.iterdir()) == []


def test_the_async_client_retries_and_pages_like_the_sync_one() -> None:
    script = Script(
        error(503, "unavailable", headers={"Retry-After": "0"}), page(["a"], "c1"), page(["b"], None)
    )
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def main() -> list[str]:
        async with AsyncClient(
            BASE_URL, API_KEY, transport=httpx.MockTransport(script), retry=RetryPolicy(), sleep=sleep
        ) as client:
            return [summary.job_id async for summary in client.jobs.list()]

    assert asyncio.run(main()) == ["a", "b"]
    assert waits == [0.0]
    assert len(script.requests) == 3


def test_the_budget_has_the_calling_keys_budget_beside_the_tenants_and_older_answers_have_none(
    sleeps: Sleeps,
) -> None:
    period = {"period": "2026-03-14", "limit": 5, "spent": 2, "remaining": 3}
    month = {"period": "2026-03", "limit": None, "spent": 2, "remaining": None}
    tenant = {"tenant_id": "acme", "daily": period, "monthly": month}
    with_key = tenant | {"api_key": {"key_id": "0123456789ab", "daily": period, "monthly": month}}
    client = make_client(Script(httpx.Response(200, json=with_key), httpx.Response(200, json=tenant)), sleeps)

    budget, older = client.billing.budget(), client.billing.budget()

    assert budget.api_key is not None
    assert (budget.api_key.key_id, budget.api_key.daily.remaining, budget.api_key.monthly.limit) == (
        "0123456789ab",
        3,
        None,
    )
    assert older.api_key is None
