"""Fallback providers: when a job moves to its next provider, and when it must not."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from mediajobs.config import Settings
from mediajobs.errors import ErrorKind, RetryableProviderError
from mediajobs.jobs.models import ErrorInfo, FallbackSpec, Job, JobStatus, ProviderCall
from mediajobs.jobs.pipeline import FINISHED, JobPipeline, Step
from mediajobs.jobs.requests import JobRequest
from mediajobs.jobs.service import spec_from_request
from mediajobs.jobs.store import JobStore
from mediajobs.providers.base import ProviderName, TaskState
from tests.unit.jobs.fakes import FakeAdapters, FakeClock, completed, new_job, permanent, task

CREATIFY = ProviderName.CREATIFY
PRODVISUAL = ProviderName.PRODVISUAL
BOUND = 120


@pytest.fixture
def pipeline(store: JobStore, adapters: FakeAdapters, settings: Settings, clock: FakeClock) -> JobPipeline:
    tuned = settings.model_copy(update={"fallback_unreachable_seconds": BOUND})
    return JobPipeline(store=store, adapters=adapters, settings=tuned, clock=clock)


def with_fallback(store: JobStore, clock: FakeClock) -> Job:
    """A queued ProdVisual job whose fallback is Creatify stopping after the image."""
    job = new_job(uuid.uuid4().hex, PRODVISUAL, now=clock())
    spec = job.spec.model_copy(
        update={"fallback": [FallbackSpec(provider=CREATIFY, options={"stop_after": "image"})]}
    )
    return store.create(job.model_copy(update={"spec": spec, "attempt_started_at": clock()}))


def server_error() -> RetryableProviderError:
    return RetryableProviderError(
        provider="prodvisual",
        kind=ErrorKind.SERVER_ERROR,
        provider_code="500",
        provider_message="internal error",
        http_status=500,
    )


def timed_out() -> RetryableProviderError:
    return RetryableProviderError(
        provider="prodvisual", kind=ErrorKind.TIMEOUT, provider_code="timeout", provider_message="no answer"
    )


def test_given_the_provider_failed_the_task_when_checked_then_the_job_moves_to_its_fallback(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, clock: FakeClock
) -> None:
    # Given a job whose ProdVisual generation the provider reports failed
    job = with_fallback(store, clock)
    adapters[PRODVISUAL].on_start(task(task_id="gen_1"))
    pipeline.submit(job.job_id)
    adapters[PRODVISUAL].on_fetch(task(task_id="gen_1", state=TaskState.FAILED, error_message="nsfw"))
    clock.advance(30)

    # When the status check sees it
    step = pipeline.check(job.job_id, poll=True)

    # Then the job is not failed: it is on Creatify with its options, and the attempt is kept
    assert step == Step("fallback")
    moved = store.get(job.job_id)
    assert moved.status is JobStatus.RUNNING
    assert (moved.provider, moved.spec.options, moved.spec.fallback) == (
        CREATIFY,
        {"stop_after": "image"},
        [],
    )
    assert (moved.task, moved.call, moved.error) == (None, None, None)
    assert moved.callback_token
    (attempt,) = moved.attempts
    assert (attempt.provider, attempt.outcome, attempt.ended_at) == (PRODVISUAL, "provider_failed", clock())
    assert moved.timeline[-1].detail == "prodvisual provider_failed; fallback to creatify"

    # And the next submit creates the Creatify task
    adapters[CREATIFY].on_start(task(CREATIFY, task_id="img_1"))
    assert pipeline.submit(job.job_id).next == "await"
    assert adapters[CREATIFY].count("start") == 1
    assert store.get(job.job_id).task == task(CREATIFY, task_id="img_1")


def test_given_credits_ran_out_when_submitting_then_the_fallback_is_tried_and_the_call_is_settled(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, clock: FakeClock
) -> None:
    job = with_fallback(store, clock)
    adapters[PRODVISUAL].on_start(permanent(ErrorKind.INSUFFICIENT_CREDITS))

    step = pipeline.submit(job.job_id)

    assert step == Step("fallback")
    moved = store.get(job.job_id)
    assert moved.provider is CREATIFY
    assert moved.call is None
    assert [a.outcome for a in moved.attempts] == ["provider_insufficient_credits"]


@pytest.mark.parametrize("kind", [ErrorKind.BAD_REQUEST, ErrorKind.INVALID_IMAGE, ErrorKind.UNAUTHORIZED])
def test_given_a_failure_another_provider_would_not_change_when_submitting_then_the_job_fails(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, clock: FakeClock, kind: ErrorKind
) -> None:
    job = with_fallback(store, clock)
    adapters[PRODVISUAL].on_start(permanent(kind))

    assert pipeline.submit(job.job_id) == FINISHED

    failed = store.get(job.job_id)
    assert (failed.status, failed.provider, failed.attempts) == (JobStatus.FAILED, PRODVISUAL, [])
    assert adapters[CREATIFY].count("start") == 0


def test_given_a_create_call_that_got_no_answer_when_retries_run_out_then_no_fallback_is_called(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, clock: FakeClock
) -> None:
    # Given a submit that timed out: the provider may have made (and billed) the task
    job = with_fallback(store, clock)
    adapters[PRODVISUAL].on_start(timed_out())
    with pytest.raises(RetryableProviderError):
        pipeline.submit(job.job_id)
    call = store.get(job.job_id).call
    assert call is not None
    assert not call.answered

    # When the next submit runs, it waits for the callback; when the Task's retries run out, MarkFailed
    waiting = pipeline.submit(job.job_id)
    step = pipeline.fail_from_state_error(job.job_id, "RetryableProviderError", caught_at=clock())

    # Then the job never moved to Creatify
    assert waiting.next == "await"
    assert step == FINISHED
    failed = store.get(job.job_id)
    assert (failed.status, failed.provider) == (JobStatus.FAILED, PRODVISUAL)
    assert adapters[CREATIFY].count("start") == 0


def test_given_an_unanswered_call_when_a_failure_would_allow_a_fallback_then_the_job_does_not_move(
    pipeline: JobPipeline, store: JobStore, clock: FakeClock
) -> None:
    job = with_fallback(store, clock)
    call = ProviderCall(kind="submit", key="k" * 24, started_at=clock())
    store.update(job.job_id, lambda j: j.model_copy(update={"call": call}))

    moved = pipeline.fall_back(job.job_id, ErrorInfo(code="provider_failed", message="failed"))

    assert not moved
    assert store.get(job.job_id).provider is PRODVISUAL


def test_given_server_errors_when_they_last_past_the_bound_then_the_job_waits_and_then_falls_back(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, clock: FakeClock
) -> None:
    job = with_fallback(store, clock)
    adapters[PRODVISUAL].on_start(server_error(), server_error(), server_error())

    first = pipeline.submit(job.job_id)
    clock.advance(BOUND - 10)
    second = pipeline.submit(job.job_id)
    clock.advance(10)
    third = pipeline.submit(job.job_id)

    assert first == Step("retry_submit", 1)
    assert second == Step("retry_submit", 10)
    assert third == Step("fallback")
    moved = store.get(job.job_id)
    assert moved.provider is CREATIFY
    assert moved.unreachable_since is None
    (attempt,) = moved.attempts
    assert attempt.outcome == "provider_unavailable"
    assert attempt.message is not None
    assert f"unreachable for {BOUND} s" in attempt.message


def test_given_a_job_without_fallback_when_the_provider_answers_5xx_then_the_task_retry_takes_it(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, clock: FakeClock
) -> None:
    job = store.create(new_job(uuid.uuid4().hex, PRODVISUAL, now=clock()))
    adapters[PRODVISUAL].on_start(server_error())

    with pytest.raises(RetryableProviderError):
        pipeline.submit(job.job_id)

    assert store.get(job.job_id).unreachable_since is None


def unreachable(kind: ErrorKind) -> RetryableProviderError:
    """A status read that got no answer of ``kind`` (5xx, refused connection, timeout)."""
    return RetryableProviderError(
        provider="prodvisual", kind=kind, provider_code=kind.value, provider_message="no answer"
    )


def submitted(pipeline: JobPipeline, adapters: FakeAdapters, job: Job, task_id: str = "gen_1") -> Job:
    """The job once ProdVisual took its create call (a running generation ``task_id``)."""
    adapters[PRODVISUAL].on_start(task(task_id=task_id))
    assert pipeline.submit(job.job_id).next == "await"
    return pipeline.store.get(job.job_id)


@pytest.mark.parametrize("kind", [ErrorKind.SERVER_ERROR, ErrorKind.CONNECTION, ErrorKind.TIMEOUT])
def test_given_status_reads_that_get_no_answer_past_the_bound_when_polled_then_the_job_falls_back(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, clock: FakeClock, kind: ErrorKind
) -> None:
    # Given ProdVisual took the create call, then stops answering status reads
    job = submitted(pipeline, adapters, with_fallback(store, clock))
    adapters[PRODVISUAL].on_fetch(unreachable(kind), unreachable(kind), unreachable(kind))

    # When the job polls before, near and at the bound
    first = pipeline.check(job.job_id, poll=True)
    clock.advance(BOUND - 10)
    second = pipeline.check(job.job_id, poll=True)
    clock.advance(10)
    third = pipeline.check(job.job_id, poll=True)

    # Then it waits (never past the bound), and then moves to Creatify with the attempt kept
    assert first.next == "await"
    assert 1 <= first.wait_seconds <= BOUND
    assert second == Step("await", 10)
    assert third == Step("fallback")
    moved = store.get(job.job_id)
    assert (moved.status, moved.provider, moved.task, moved.unreachable_since) == (
        JobStatus.RUNNING,
        CREATIFY,
        None,
        None,
    )
    (attempt,) = moved.attempts
    assert (attempt.provider, attempt.outcome, attempt.task_ids) == (
        PRODVISUAL,
        "provider_unavailable",
        ["gen_1"],
    )
    assert attempt.message is not None
    assert f"unreachable for {BOUND} s" in attempt.message
    assert moved.timeline[-1].detail == "prodvisual provider_unavailable; fallback to creatify"
    assert adapters[CREATIFY].count("start") == 0  # the next Submit state makes the Creatify task


def test_given_the_provider_answers_a_status_read_when_it_fails_again_then_the_unreachable_clock_restarts(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, clock: FakeClock
) -> None:
    # Given status reads failed for most of the bound, then one was answered
    job = submitted(pipeline, adapters, with_fallback(store, clock))
    adapters[PRODVISUAL].on_fetch(server_error(), task(task_id="gen_1", status="processing"), server_error())
    pipeline.check(job.job_id, poll=True)
    clock.advance(BOUND - 10)
    answered = pipeline.check(job.job_id, poll=True)
    assert answered.next == "await"
    assert store.get(job.job_id).unreachable_since is None

    # When reads fail again past the first failure's bound
    clock.advance(20)
    step = pipeline.check(job.job_id, poll=True)

    # Then the job still waits on ProdVisual: the clock started again at the new failure
    assert step.next == "await"
    stored = store.get(job.job_id)
    assert (stored.provider, stored.unreachable_since, stored.attempts) == (PRODVISUAL, clock(), [])


def test_given_status_reads_failing_when_the_provider_sends_a_webhook_then_the_unreachable_clock_restarts(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, clock: FakeClock
) -> None:
    # Given status reads failed for most of the bound
    job = submitted(pipeline, adapters, with_fallback(store, clock))
    adapters[PRODVISUAL].on_fetch(server_error(), server_error())
    pipeline.check(job.job_id, poll=True)
    clock.advance(BOUND - 10)

    # When the provider's verified webhook reports progress on the task, and reads fail past the bound
    reported = pipeline.record_webhook_task(job.job_id, task(task_id="gen_1", status="processing"))
    clock.advance(20)
    step = pipeline.check(job.job_id, poll=True)

    # Then the job still waits on ProdVisual: a provider that reports on its task is reachable
    assert reported.unreachable_since is None
    assert step.next == "await"
    stored = store.get(job.job_id)
    assert (stored.provider, stored.unreachable_since, stored.attempts) == (PRODVISUAL, clock(), [])


def test_given_a_job_without_fallback_when_status_reads_fail_past_the_bound_then_it_keeps_polling(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, clock: FakeClock
) -> None:
    job = submitted(pipeline, adapters, store.create(new_job(uuid.uuid4().hex, PRODVISUAL, now=clock())))
    adapters[PRODVISUAL].on_fetch(*(server_error() for _ in range(4)))

    steps = []
    for _ in range(4):
        steps.append(pipeline.check(job.job_id, poll=True))
        clock.advance(BOUND)

    assert [s.next for s in steps] == ["await"] * 4
    stored = store.get(job.job_id)
    assert (stored.status, stored.error, stored.unreachable_since) == (JobStatus.RUNNING, None, None)


def test_given_a_create_call_still_unanswered_when_status_reads_fail_past_the_bound_then_nothing_moves(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, clock: FakeClock
) -> None:
    # Given a running task and a create call of the job that got no answer (it may have made a task)
    job = submitted(pipeline, adapters, with_fallback(store, clock))
    call = ProviderCall(kind="advance", key="k" * 24, started_at=clock())
    store.update(job.job_id, lambda j: j.model_copy(update={"call": call}))
    adapters[PRODVISUAL].on_fetch(server_error(), server_error())

    # When status reads fail for longer than the bound
    pipeline.check(job.job_id, poll=True)
    clock.advance(BOUND * 2)
    step = pipeline.check(job.job_id, poll=True)

    # Then the job neither moves to Creatify nor fails: it keeps waiting
    assert step.next == "await"
    stored = store.get(job.job_id)
    assert (stored.status, stored.provider, stored.attempts) == (JobStatus.RUNNING, PRODVISUAL, [])


def test_given_a_task_known_to_be_final_when_its_status_read_fails_then_the_job_goes_on_without_falling_back(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, clock: FakeClock
) -> None:
    job = submitted(pipeline, adapters, with_fallback(store, clock))
    pipeline.record_webhook_task(job.job_id, completed(task_id="gen_1"))
    store.update(job.job_id, lambda j: j.model_copy(update={"unreachable_since": clock()}))
    clock.advance(BOUND * 2)
    adapters[PRODVISUAL].on_fetch(server_error())

    step = pipeline.check(job.job_id, poll=True)

    assert step == Step("archive")
    assert store.get(job.job_id).provider is PRODVISUAL


def test_given_a_fallback_on_the_same_provider_when_the_abandoned_tasks_answer_arrives_then_nothing_changes(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, clock: FakeClock
) -> None:
    # Given a ProdVisual job whose fallback is ProdVisual again (another style), moved on after
    # its first generation's status reads went unanswered past the bound
    job = store.create(
        new_job(uuid.uuid4().hex, PRODVISUAL, now=clock()).model_copy(update={"attempt_started_at": clock()})
    )
    spec = job.spec.model_copy(
        update={"fallback": [FallbackSpec(provider=PRODVISUAL, options={"style": "studio"})]}
    )
    store.update(job.job_id, lambda j: j.model_copy(update={"spec": spec}))
    job = submitted(pipeline, adapters, job)
    adapters[PRODVISUAL].on_fetch(server_error(), server_error())
    pipeline.check(job.job_id, poll=True)
    clock.advance(BOUND)
    assert pipeline.check(job.job_id, poll=True) == Step("fallback")

    # When the abandoned generation's answer arrives late, before and after the new one exists
    before = pipeline.record_webhook_task(job.job_id, completed(task_id="gen_1"))
    job = submitted(pipeline, adapters, job, task_id="gen_2")
    after = pipeline.record_task(job.job_id, completed(task_id="gen_1"))

    # Then neither is recorded on the new attempt
    assert before.task is None
    assert after.task == task(task_id="gen_2")
    assert (after.status, after.spec.options) == (JobStatus.RUNNING, {"style": "studio"})
    assert [t.task_id for t in after.tasks] == ["gen_1", "gen_2"]
    assert [t.state for t in after.tasks] == [TaskState.RUNNING, TaskState.RUNNING]


def test_given_mark_failed_ran_twice_when_its_first_run_moved_the_job_then_the_second_changes_nothing(
    pipeline: JobPipeline, store: JobStore, clock: FakeClock
) -> None:
    # Given a job with two fallbacks whose MarkFailed already moved it to the first
    job = with_fallback(store, clock)
    spec = job.spec.model_copy(
        update={
            "fallback": [*job.spec.fallback, FallbackSpec(provider=PRODVISUAL, options={"style": "studio"})]
        }
    )
    store.update(job.job_id, lambda j: j.model_copy(update={"spec": spec}))
    caught_at = clock()
    clock.advance(1)
    assert pipeline.fail_from_state_error(job.job_id, "RetryableProviderError", caught_at=caught_at) == Step(
        "fallback"
    )

    # When the same MarkFailed state runs again (a retried invocation)
    again = pipeline.fail_from_state_error(job.job_id, "RetryableProviderError", caught_at=caught_at)

    # Then it answers fallback again and the job stays on its first fallback
    assert again == Step("fallback")
    stored = store.get(job.job_id)
    assert stored.provider is CREATIFY
    assert len(stored.attempts) == 1
    assert stored.spec.fallback == [FallbackSpec(provider=PRODVISUAL, options={"style": "studio"})]


def test_given_a_job_that_moved_on_when_the_old_providers_answer_arrives_then_it_is_not_recorded(
    pipeline: JobPipeline, store: JobStore, clock: FakeClock
) -> None:
    job = with_fallback(store, clock)
    assert pipeline.fall_back(job.job_id, ErrorInfo(code="provider_failed", message="failed"))

    after = pipeline.record_webhook_task(job.job_id, task(task_id="gen_1", state=TaskState.COMPLETED))

    assert after.task is None
    assert after.provider is CREATIFY


def test_given_the_last_provider_fails_when_checked_then_the_job_fails_with_its_error(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, clock: FakeClock
) -> None:
    job = with_fallback(store, clock)
    assert pipeline.fall_back(job.job_id, ErrorInfo(code="provider_failed", message="failed"))
    adapters[CREATIFY].on_start(task(CREATIFY, task_id="img_1", state=TaskState.FAILED, error_message="x"))
    clock.advance(timedelta(seconds=5).total_seconds())

    assert pipeline.submit(job.job_id) == FINISHED

    failed = store.get(job.job_id)
    assert (failed.status, failed.provider) == (JobStatus.FAILED, CREATIFY)
    assert failed.error is not None
    assert failed.error.code == "provider_failed"


# --- the request -----------------------------------------------------------------------------------

REQUEST: TypeAdapter[JobRequest] = TypeAdapter(JobRequest)


def test_given_fallbacks_when_validating_then_each_gets_its_own_providers_options_in_the_spec() -> None:
    request = REQUEST.validate_python(
        {
            "provider": "prodvisual",
            "product": {"image_url": "https://shop.example/p.png"},
            "options": {"style": "lifestyle"},
            "fallback": [{"provider": "creatify", "options": {"stop_after": "image"}}],
        }
    )

    spec = spec_from_request(request)

    assert spec.fallback == [FallbackSpec(provider=CREATIFY, options=spec.fallback[0].options)]
    assert spec.fallback[0].options["stop_after"] == "image"


@pytest.mark.parametrize(
    ("fallback", "complaint"),
    [
        ({"provider": "jogg"}, "jogg needs product.page_url"),
        ({"provider": "prodvisual", "options": {}}, "style"),
        ({"provider": "creatify", "options": {"stop_after": "never"}}, "stop_after"),
        ({"provider": "openai"}, "does not match any of the expected tags"),
    ],
)
def test_given_a_fallback_that_does_not_suit_when_validating_then_it_is_refused(
    fallback: dict[str, object], complaint: str
) -> None:
    body = {
        "provider": "creatify",
        "product": {"image_url": "https://shop.example/p.png"},
        "fallback": [fallback],
    }

    with pytest.raises(ValidationError) as refused:
        REQUEST.validate_python(body)

    assert complaint in str(refused.value)
