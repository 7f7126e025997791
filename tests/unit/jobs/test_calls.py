"""Create calls: written before they leave, settled by any answer, adopted from a callback when
no answer came, and the shared rate limiter's slot kept on the job while it waits."""

from __future__ import annotations

import pytest

from mediajobs.errors import ErrorKind, RetryableProviderError
from mediajobs.jobs.models import Job
from mediajobs.jobs.pipeline import JobPipeline, Step
from mediajobs.jobs.provider_webhooks import Outcome, ProviderWebhooks, UnknownCallbackError
from mediajobs.jobs.store import JobStore
from mediajobs.providers.base import ProviderName, TaskState, WebhookNotice
from mediajobs.ratelimit import RateLimitWaitError
from tests.unit.jobs.conftest import JobFactory
from tests.unit.jobs.fakes import FakeAdapters, FakeClock, FakeSfn, completed, task

PRODVISUAL = ProviderName.PRODVISUAL
CREATIFY = ProviderName.CREATIFY
JOGG = ProviderName.JOGG
HEADERS = {"content-type": "application/json"}
BODY = b"{}"
WAIT = 900  # the default unanswered_call_wait_seconds


def timeout(provider: str = "prodvisual") -> RetryableProviderError:
    return RetryableProviderError(
        provider=provider, kind=ErrorKind.TIMEOUT, provider_code="timeout", provider_message="ReadTimeout"
    )


def server_error() -> RetryableProviderError:
    return RetryableProviderError(
        provider="prodvisual",
        kind=ErrorKind.SERVER_ERROR,
        provider_code="server_error",
        provider_message="boom",
        http_status=500,
    )


def unanswered(pipeline: JobPipeline, adapters: FakeAdapters, job: Job, provider: ProviderName) -> Job:
    """Submit once and get no answer (the request timed out)."""
    adapters[provider].on_start(timeout(provider.value))
    with pytest.raises(RetryableProviderError):
        pipeline.submit(job.job_id)
    return pipeline.store.get(job.job_id)


def test_given_a_submit_that_got_no_answer_when_retried_then_it_waits_for_the_callback_not_resends(
    pipeline: JobPipeline, adapters: FakeAdapters, stored_job: JobFactory
) -> None:
    job = unanswered(pipeline, adapters, stored_job(), PRODVISUAL)
    assert job.call is not None
    assert not job.call.answered

    step = pipeline.submit(job.job_id)

    assert step == Step("await", WAIT)
    assert adapters[PRODVISUAL].count("start") == 1


def test_given_the_wait_for_a_callback_over_when_polled_then_the_call_is_sent_again_with_a_new_key(
    pipeline: JobPipeline, adapters: FakeAdapters, stored_job: JobFactory, clock: FakeClock, store: JobStore
) -> None:
    job = unanswered(pipeline, adapters, stored_job(), PRODVISUAL)
    first = job.call
    assert first is not None
    clock.advance(WAIT + 1)
    adapters[PRODVISUAL].on_start(task(task_id="gen_2"))

    step = pipeline.check(job.job_id, poll=True)

    assert step.next == "await"
    assert adapters[PRODVISUAL].count("start") == 2
    stored = store.get(job.job_id)
    assert stored.task is not None
    assert stored.task.task_id == "gen_2"
    assert stored.call is not None
    assert stored.call.answered
    assert stored.call.key != first.key


def test_given_a_jogg_product_call_that_got_no_answer_when_retried_then_sent_again_at_once(
    pipeline: JobPipeline, adapters: FakeAdapters, stored_job: JobFactory
) -> None:
    # JoggAI never calls back for a product: nothing could name it, and a product costs nothing
    job = unanswered(pipeline, adapters, stored_job(JOGG), JOGG)
    adapters[JOGG].on_start(completed(JOGG, task_id="prod_2"))

    step = pipeline.submit(job.job_id)

    assert step.next == "advance"
    assert adapters[JOGG].count("start") == 2


@pytest.mark.parametrize("error", [server_error(), None], ids=["5xx", "answered"])
def test_given_a_call_the_provider_answered_when_done_then_no_unanswered_call_is_left(
    pipeline: JobPipeline,
    adapters: FakeAdapters,
    stored_job: JobFactory,
    store: JobStore,
    error: RetryableProviderError | None,
) -> None:
    job = stored_job()
    if error is not None:
        adapters[PRODVISUAL].on_start(error)
        with pytest.raises(RetryableProviderError):
            pipeline.submit(job.job_id)
        assert store.get(job.job_id).call is None
    else:
        adapters[PRODVISUAL].on_start(task(task_id="gen_1"))
        pipeline.submit(job.job_id)
        call = store.get(job.job_id).call
        assert call is not None
        assert call.answered


def test_given_a_final_task_when_recorded_then_the_call_and_its_callback_key_end(
    pipeline: JobPipeline, adapters: FakeAdapters, stored_job: JobFactory, store: JobStore
) -> None:
    job = stored_job()
    adapters[PRODVISUAL].on_start(task(task_id="gen_1")).on_fetch(completed(task_id="gen_1"))
    pipeline.submit(job.job_id)

    assert pipeline.check(job.job_id, poll=True) == Step("archive")

    assert store.get(job.job_id).call is None


def test_given_the_limiter_keeps_a_slot_when_submitting_then_the_job_waits_for_it_in_the_state_machine(
    pipeline: JobPipeline, adapters: FakeAdapters, stored_job: JobFactory, store: JobStore
) -> None:
    job = stored_job()
    adapters[PRODVISUAL].on_start(
        RateLimitWaitError(provider="prodvisual", retry_after=42.5, slot=1_790_000_042.5, reason="busy")
    )

    step = pipeline.submit(job.job_id)

    assert step == Step("retry_submit", 41)
    stored = store.get(job.job_id)
    assert stored.rate_slot == 1_790_000_042.5
    assert stored.call is None  # nothing left: the next submit is a plain first call


def test_given_the_limiter_keeps_a_slot_when_polling_then_the_job_awaits_the_callback_meanwhile(
    pipeline: JobPipeline, adapters: FakeAdapters, stored_job: JobFactory, store: JobStore
) -> None:
    job = stored_job()
    adapters[PRODVISUAL].on_start(task(task_id="gen_1")).on_fetch(
        RateLimitWaitError(provider="prodvisual", retry_after=10.2, slot=1_790_000_010.2, reason="busy")
    )
    pipeline.submit(job.job_id)

    assert pipeline.check(job.job_id, poll=True) == Step("await", 9)
    assert store.get(job.job_id).rate_slot == 1_790_000_010.2


# --- adoption: the provider's callback names the task of an unanswered call --------------------


def signed(task_id: str, event_id: str = "evt-1", state: TaskState = TaskState.COMPLETED) -> WebhookNotice:
    answer = completed(task_id=task_id) if state is TaskState.COMPLETED else task(task_id=task_id)
    return WebhookNotice(provider=PRODVISUAL, task_id=task_id, event_id=event_id, task=answer)


def test_given_an_unanswered_submit_when_its_signed_callback_arrives_then_the_task_is_adopted_and_resumed(
    pipeline: JobPipeline,
    *,
    adapters: FakeAdapters,
    webhooks: ProviderWebhooks,
    sfn: FakeSfn,
    stored_job: JobFactory,
    store: JobStore,
) -> None:
    job = unanswered(pipeline, adapters, stored_job(), PRODVISUAL)
    assert job.call is not None
    assert pipeline.submit(job.job_id).next == "await"
    store.put_task_token(job.job_id, "token-1")
    adapters[PRODVISUAL].on_webhook(signed("gen_orphan"))

    outcome = webhooks.receive_signed(PRODVISUAL, HEADERS, BODY, hint=f"{job.job_id}.{job.call.key}")

    assert outcome is Outcome.RESUMED
    assert sfn.tokens == ["token-1"]
    stored = store.get(job.job_id)
    assert stored.task is not None
    assert (stored.task.task_id, stored.task.state) == ("gen_orphan", TaskState.COMPLETED)
    assert store.job_id_for_task("prodvisual", "gen_orphan") == job.job_id
    assert pipeline.check(job.job_id, poll=False) == Step("archive")
    assert adapters[PRODVISUAL].count("start") == 1


@pytest.mark.parametrize("hint", ["", "{job}", "{job}.wrong-key", "{other}.{key}", "{job}.{key}x"])
def test_given_a_callback_whose_hint_does_not_match_the_call_when_received_then_nothing_is_adopted(
    pipeline: JobPipeline,
    *,
    adapters: FakeAdapters,
    webhooks: ProviderWebhooks,
    sfn: FakeSfn,
    stored_job: JobFactory,
    store: JobStore,
    hint: str,
) -> None:
    job = unanswered(pipeline, adapters, stored_job(), PRODVISUAL)
    other = stored_job()
    assert job.call is not None
    adapters[PRODVISUAL].on_webhook(signed("gen_orphan"))

    outcome = webhooks.receive_signed(
        PRODVISUAL, HEADERS, BODY, hint=hint.format(job=job.job_id, other=other.job_id, key=job.call.key)
    )

    assert outcome is Outcome.IGNORED
    assert store.get(job.job_id).task is None
    assert store.get(other.job_id).task is None
    assert sfn.sent == []


def test_given_an_answered_call_when_a_callback_names_another_task_then_it_is_not_adopted(
    pipeline: JobPipeline,
    adapters: FakeAdapters,
    webhooks: ProviderWebhooks,
    stored_job: JobFactory,
    store: JobStore,
) -> None:
    job = stored_job()
    adapters[PRODVISUAL].on_start(task(task_id="gen_1"))
    pipeline.submit(job.job_id)
    call = store.get(job.job_id).call
    assert call is not None
    adapters[PRODVISUAL].on_webhook(signed("gen_other"))

    outcome = webhooks.receive_signed(PRODVISUAL, HEADERS, BODY, hint=f"{job.job_id}.{call.key}")

    assert outcome is Outcome.IGNORED
    stored = store.get(job.job_id)
    assert stored.task is not None
    assert stored.task.task_id == "gen_1"


def test_given_an_unanswered_creatify_call_when_its_callback_arrives_then_the_task_is_refetched_and_adopted(
    pipeline: JobPipeline,
    adapters: FakeAdapters,
    webhooks: ProviderWebhooks,
    stored_job: JobFactory,
    store: JobStore,
) -> None:
    job = unanswered(pipeline, adapters, stored_job(CREATIFY), CREATIFY)
    assert job.call is not None
    adapters[CREATIFY].on_webhook(WebhookNotice(provider=CREATIFY, task_id="c_orphan", event_id="e1"))
    adapters[CREATIFY].on_fetch(task(CREATIFY, task_id="c_orphan", status="image_generating"))

    outcome = webhooks.receive_creatify(f"{job.job_id}.{job.call.key}", HEADERS, BODY)

    assert outcome in {Outcome.RESUMED, Outcome.RECORDED}
    assert ("fetch", ("image", "c_orphan")) in adapters[CREATIFY].calls
    stored = store.get(job.job_id)
    assert stored.task is not None
    assert stored.task.task_id == "c_orphan"
    assert stored.call is not None
    assert stored.call.answered


def test_given_a_prodvisual_job_with_a_call_in_flight_when_a_creatify_callback_names_it_then_unknown(
    pipeline: JobPipeline, adapters: FakeAdapters, webhooks: ProviderWebhooks, stored_job: JobFactory
) -> None:
    job = unanswered(pipeline, adapters, stored_job(), PRODVISUAL)
    assert job.call is not None

    with pytest.raises(UnknownCallbackError):
        webhooks.receive_creatify(f"{job.job_id}.{job.call.key}", HEADERS, BODY)

    assert adapters[CREATIFY].calls == []
