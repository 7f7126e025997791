"""Every sample event in events/ runs through its function's handler and gets its defined answer.

The task events name the sample job (``LocalStack.seed_sample_job``); they run in the order the
state machine would run them, so each answer is the one that job's state calls for.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from local.sample_shop import SampleShop
from local.stack import SAMPLE_JOB_ID, LocalStack

from tests.e2e.conftest import Client
from tests.e2e.test_console import CONSOLE_EVENTS
from tests.e2e.test_uploads import seed_sample_upload

EVENTS = Path(__file__).resolve().parents[2] / "events"
SAMPLE_IMAGE = "https://shop.example.com/images/aurora-bottle.png"
SAMPLE_PAGE = "https://shop.example.com/products/aurora-bottle"


def event(name: str, shop: SampleShop | None = None) -> dict[str, Any]:
    text = (EVENTS / name).read_text()
    if shop is not None:
        # the samples name a public shop; on loopback, the sample shop plays it
        text = text.replace(SAMPLE_IMAGE, shop.url("product.png")).replace(SAMPLE_PAGE, shop.url("page.html"))
    return dict(json.loads(text))


def test_every_event_file_is_covered_here() -> None:
    covered = (
        set(API_EVENTS)
        | set(WEBHOOK_EVENTS)
        | set(DEAD_CALLBACKS)
        | {name for name, _ in TASK_SEQUENCE}
        | set(S3_EVENTS)
        | {name for name, _, _ in BATCH_SEQUENCE}
        | {"reconcile_jobs.json"}
        | set(CONSOLE_EVENTS)
    )
    assert {p.name for p in EVENTS.glob("*.json")} == covered


API_EVENTS = {
    "api_create_job_prodvisual.json": 202,
    "api_create_job_creatify.json": 202,
    "api_create_job_jogg.json": 202,
    "api_create_job_invalid.json": 422,
    "api_get_job.json": 200,
    "api_openapi.json": 200,
    "api_docs.json": 200,
    # the job id alone opens no product link (providers get signed links: tests/e2e/test_product_links.py)
    "api_product_link.json": 404,
    "api_create_upload.json": 201,
    "api_get_upload.json": 200,
}
WEBHOOK_EVENTS = {
    # signed correctly for the sandbox secrets, but for tasks no job waits on
    "webhook_prodvisual.json": "ignored",
    "webhook_jogg.json": "ignored",
}
#: the sample job is a ProdVisual job with no Creatify call in flight: its Creatify URL is dead
DEAD_CALLBACKS = {"webhook_creatify.json": "not_found"}
#: the sample upload's file lands (LocalStack's S3 sends what events/s3_put_upload.json holds)
S3_EVENTS = {"s3_put_upload.json": "started"}
TASK_SEQUENCE = [
    ("submit_job.json", {"next": "await"}),
    ("await_provider.json", {"outcome": "recorded"}),
    ("check_status_callback.json", {"next": "await"}),
    ("check_status_poll.json", {"next": "archive"}),
    ("advance_stage.json", {"next": "archive"}),
    ("archive_outputs.json", {"status": "succeeded", "outputs": 1}),
    ("notify_client.json", {"status": "succeeded"}),
    ("publish_event.json", {"published": True}),
    ("deliver_webhook.json", {"next": "done", "status": "no_webhook"}),
    ("mark_failed.json", {"next": "finished"}),
]


@pytest.fixture(scope="module")
def sample_job(stack: LocalStack) -> str:
    return stack.seed_sample_job()


@pytest.fixture(scope="module")
def sample_upload(stack: LocalStack, shop: SampleShop) -> str:
    return seed_sample_upload(stack, shop.images["png"])


@pytest.mark.usefixtures("sample_upload")
@pytest.mark.parametrize(("name", "status"), API_EVENTS.items())
def test_api_event_gets_its_answer(
    stack: LocalStack, shop: SampleShop, sample_job: str, name: str, status: int
) -> None:
    answer = stack.invoke("ApiFunction", event(name, shop))

    assert answer["statusCode"] == status, answer.get("body")
    if status >= 400:
        assert json.loads(answer["body"])["error"]["code"]


@pytest.mark.parametrize(("name", "outcome"), S3_EVENTS.items())
def test_s3_event_gets_its_answer(stack: LocalStack, sample_upload: str, name: str, outcome: str) -> None:
    answer = stack.invoke("UploadTriggerFunction", event(name))

    assert [r["outcome"] for r in answer["results"]] == [outcome]


@pytest.mark.parametrize(("name", "outcome"), WEBHOOK_EVENTS.items())
def test_webhook_event_gets_its_answer(stack: LocalStack, sample_job: str, name: str, outcome: str) -> None:
    answer = stack.invoke("ProviderWebhookFunction", event(name))

    assert answer["statusCode"] == 200, answer.get("body")
    assert json.loads(answer["body"]) == {"received": True, "outcome": outcome}


@pytest.mark.parametrize(("name", "code"), DEAD_CALLBACKS.items())
def test_a_callback_url_with_no_call_in_flight_is_not_found(
    stack: LocalStack, sample_job: str, name: str, code: str
) -> None:
    answer = stack.invoke("ProviderWebhookFunction", event(name))

    assert answer["statusCode"] == 404, answer.get("body")
    assert json.loads(answer["body"])["error"]["code"] == code


FUNCTIONS = {
    "submit_job": "SubmitJobFunction",
    "await_provider": "AwaitProviderFunction",
    "check_status_callback": "CheckStatusFunction",
    "check_status_poll": "CheckStatusFunction",
    "advance_stage": "AdvanceStageFunction",
    "archive_outputs": "ArchiveOutputsFunction",
    "notify_client": "NotifyClientFunction",
    "publish_event": "PublishEventFunction",
    "deliver_webhook": "DeliverWebhookFunction",
    "mark_failed": "MarkFailedFunction",
}


def test_task_events_run_the_sample_job_to_succeeded(stack: LocalStack, sample_job: str) -> None:
    assert stack.sandboxes is not None
    for name, expected in TASK_SEQUENCE:
        if name == "check_status_poll.json":
            time.sleep(
                stack.sandboxes.prodvisual.settings.pending_seconds
                + stack.sandboxes.prodvisual.settings.processing_seconds
                + 0.5
            )
        answer = stack.invoke(FUNCTIONS[name.removesuffix(".json")], event(name))
        assert {k: answer[k] for k in expected} == expected, (name, answer)
    assert sample_job == SAMPLE_JOB_ID


BATCH_SEQUENCE = [
    # (event, function, what its answer must contain); "batch_sample" becomes the provider's id
    ("plan_batch.json", "PlanBatchFunction", {"batch_id": "fedcba9876543210fedcba9876543210"}),
    ("start_batch_item.json", "StartBatchItemFunction", {"outcome": "started"}),
    ("submit_provider_batch.json", "SubmitProviderBatchFunction", {"next": "await"}),
    ("await_provider_batch.json", "AwaitProviderBatchFunction", {}),
    ("check_provider_batch.json", "CheckProviderBatchFunction", {"next": "finish"}),
    ("finish_provider_batch.json", "FinishProviderBatchFunction", {"jobs": 1}),
    ("close_batch.json", "CloseBatchFunction", {}),
]


def test_batch_task_events_run_the_sample_batch(stack: LocalStack, client: Client) -> None:
    assert stack.sandboxes is not None
    stack.seed_sample_batch()
    provider_batch_id = "batch_sample"
    answers: dict[str, Any] = {}
    for name, function, expected in BATCH_SEQUENCE:
        payload = json.loads((EVENTS / name).read_text().replace("batch_sample", provider_batch_id))
        if name == "check_provider_batch.json":
            time.sleep(stack.sandboxes.prodvisual.settings.batch_item_seconds + 1.0)
        answers[name] = answer = stack.invoke(function, payload)
        assert {k: answer[k] for k in expected} == expected, (name, answer)
        if name == "submit_provider_batch.json":
            provider_batch_id = answer["provider_batch_id"]
    assert answers["plan_batch.json"]["groups"] == [
        {"kind": "provider_batch", "job_ids": ["0123456789abcdef0123456789abcd01"]},
        {"kind": "single", "job_ids": ["0123456789abcdef0123456789abcd02"]},
    ]
    assert client.wait_final("0123456789abcdef0123456789abcd02")["status"] == "succeeded"
    assert stack.invoke("CloseBatchFunction", {"batch_id": "fedcba9876543210fedcba9876543210"}) == {
        "completed": True
    }


def test_the_reconciler_event_runs_its_sweep(stack: LocalStack) -> None:
    answer = stack.invoke("ReconcileJobsFunction", event("reconcile_jobs.json"))

    assert all(isinstance(count, int) and count > 0 for count in answer["outcomes"].values())
