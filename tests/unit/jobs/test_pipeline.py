"""JobPipeline steps against fake providers and a fake clock: what each answers and records."""

from __future__ import annotations

import math
import secrets
from datetime import UTC, datetime

import pytest

from mediajobs.errors import ErrorKind
from mediajobs.jobs.models import ErrorInfo, Job, JobStatus, ProductImage, ProviderCall
from mediajobs.jobs.pipeline import FINISHED, PERMANENT_CODES, JobPipeline, Step
from mediajobs.jobs.store import JobStore
from mediajobs.providers.base import ProviderName, ProviderTask, TaskState
from mediajobs.providers.creatify import MAX_URL_LENGTH
from tests.unit.jobs.conftest import POLL_INITIAL, POLL_MAX, JobFactory
from tests.unit.jobs.fakes import FakeAdapters, FakeClock, completed, new_job, permanent, retryable, task

CREATIFY = ProviderName.CREATIFY
JOGG = ProviderName.JOGG
PRODVISUAL = ProviderName.PRODVISUAL


def running_on(store: JobStore, job: Job, current: ProviderTask, clock: FakeClock) -> Job:
    """The job as it is once ``current`` was submitted and recorded."""
    return store.update(
        job.job_id, lambda j: j.with_task(current, now=clock()).moved_to(JobStatus.RUNNING, now=clock())
    )


# --- submit ----------------------------------------------------------------------------------------


def test_given_a_queued_job_when_submitted_then_the_task_is_recorded_and_it_awaits_the_first_interval(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job()
    adapters[PRODVISUAL].on_start(task(state=TaskState.PENDING, task_id="gen_1"))

    step = pipeline.submit(job.job_id)

    assert step == Step("await", POLL_INITIAL)
    stored = store.get(job.job_id)
    assert stored.status is JobStatus.RUNNING
    assert stored.task is not None
    assert (stored.task.task_id, stored.task.state) == ("gen_1", TaskState.PENDING)
    assert store.job_id_for_task("prodvisual", "gen_1") == job.job_id


def test_given_a_queued_job_when_submitted_then_the_provider_gets_the_jobs_options_and_callback(
    pipeline: JobPipeline, adapters: FakeAdapters, stored_job: JobFactory, store: JobStore
) -> None:
    job = stored_job(options={"style": "studio", "format": "webp"})
    adapters[PRODVISUAL].on_start(task())

    pipeline.submit(job.job_id)

    ((_, request),) = adapters[PRODVISUAL].calls
    assert request.options.model_dump(exclude_none=True) == {"style": "studio", "format": "webp"}
    call = store.get(job.job_id).call
    assert call is not None
    assert call.answered
    assert request.webhook_url == f"{job.public_base_url}/v1/webhooks/prodvisual?job={job.job_id}.{call.key}"
    assert request.product.image_url == job.spec.product.image_url


def test_given_a_submitted_job_when_submitted_again_then_the_provider_is_not_called_twice(
    pipeline: JobPipeline, adapters: FakeAdapters, stored_job: JobFactory
) -> None:
    job = stored_job()
    adapters[PRODVISUAL].on_start(task())
    pipeline.submit(job.job_id)

    step = pipeline.submit(job.job_id)

    assert adapters[PRODVISUAL].count("start") == 1
    assert step == Step("await", POLL_INITIAL)


@pytest.mark.parametrize(
    ("provider", "options", "first_stage", "expected"),
    [
        (PRODVISUAL, None, "generate", "archive"),
        (CREATIFY, None, "image", "advance"),
        (CREATIFY, {"aspect_ratio": "9x16", "stop_after": "image"}, "image", "archive"),
        (JOGG, None, "product", "advance"),
    ],
    ids=["prodvisual-single-stage", "creatify-image-then-video", "creatify-stop-after-image", "jogg-product"],
)
def test_given_a_synchronously_completed_first_stage_when_submitted_then_it_routes_by_stages_left(
    *,
    pipeline: JobPipeline,
    adapters: FakeAdapters,
    stored_job: JobFactory,
    provider: ProviderName,
    options: dict[str, str] | None,
    first_stage: str,
    expected: str,
) -> None:
    job = stored_job(provider, options=options)
    adapters[provider].on_start(completed(provider, stage=first_stage))

    assert pipeline.submit(job.job_id) == Step(expected)


@pytest.mark.parametrize(
    ("kind", "code"),
    # insufficient credits park the job instead (see the waiting_credits tests below)
    sorted((k, c) for k, c in PERMANENT_CODES.items() if k is not ErrorKind.INSUFFICIENT_CREDITS),
)
def test_given_a_permanent_provider_error_when_submitting_then_the_job_fails_with_its_mapped_code(
    *,
    pipeline: JobPipeline,
    adapters: FakeAdapters,
    store: JobStore,
    stored_job: JobFactory,
    kind: ErrorKind,
    code: str,
) -> None:
    job = stored_job()
    adapters[PRODVISUAL].on_start(permanent(kind))

    step = pipeline.submit(job.job_id)

    assert step == FINISHED
    failed = store.get(job.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error == ErrorInfo(
        code=code,
        message=f"prodvisual answered {kind.value}_code: {kind.value} said",
        provider_code=f"{kind.value}_code",
    )


def test_given_the_documented_error_codes_when_mapping_permanent_kinds_then_each_has_its_code() -> None:
    assert PERMANENT_CODES[ErrorKind.INSUFFICIENT_CREDITS] == "provider_insufficient_credits"
    assert PERMANENT_CODES[ErrorKind.BAD_REQUEST] == "provider_rejected_request"
    assert PERMANENT_CODES[ErrorKind.UNAUTHORIZED] == "provider_auth_failed"
    assert PERMANENT_CODES[ErrorKind.FORBIDDEN] == "provider_auth_failed"
    assert PERMANENT_CODES[ErrorKind.GENERATION_FAILED] == "provider_failed"


@pytest.mark.parametrize(("retry_after", "wait"), [(2.3, 3), (0.2, 1), (45.0, 45)])
def test_given_a_rate_limit_with_retry_after_when_submitting_then_retry_submit_after_the_delay(
    *,
    pipeline: JobPipeline,
    adapters: FakeAdapters,
    store: JobStore,
    stored_job: JobFactory,
    retry_after: float,
    wait: int,
) -> None:
    job = stored_job()
    adapters[PRODVISUAL].on_start(retryable(retry_after))

    step = pipeline.submit(job.job_id)

    assert step == Step("retry_submit", wait)
    assert step.wait_seconds == max(1, math.ceil(retry_after))
    assert store.get(job.job_id).status is JobStatus.QUEUED


def test_given_a_retryable_error_without_retry_after_when_submitting_then_it_raises_for_the_retry(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job()
    error = retryable(None)
    adapters[PRODVISUAL].on_start(error)

    with pytest.raises(type(error)) as raised:
        pipeline.submit(job.job_id)

    assert raised.value is error
    assert store.get(job.job_id).status is JobStatus.QUEUED


# --- check -----------------------------------------------------------------------------------------


def test_given_a_running_job_when_polled_then_the_provider_state_is_fetched_and_recorded(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(), task(state=TaskState.PENDING, task_id="gen_1"), clock)
    adapters[PRODVISUAL].on_fetch(task(state=TaskState.RUNNING, task_id="gen_1", status="processing"))

    step = pipeline.check(job.job_id, poll=True)

    assert adapters[PRODVISUAL].calls == [("fetch", ("generate", "gen_1"))]
    stored = store.get(job.job_id)
    assert stored.task is not None
    assert (stored.task.state, stored.task.provider_status) == (TaskState.RUNNING, "processing")
    assert step.next == "await"


def test_given_a_long_job_when_polled_repeatedly_then_waits_double_up_to_the_cap(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(), task(), clock)
    adapters[PRODVISUAL].on_fetch(*[task()] * 7)

    waits = [pipeline.check(job.job_id, poll=True).wait_seconds for _ in range(7)]

    assert waits == [60, 120, 240, 480, POLL_MAX, POLL_MAX, POLL_MAX]
    assert waits == [min(POLL_MAX, POLL_INITIAL * 2**n) for n in range(1, 8)]


def test_given_a_deadline_closer_than_the_interval_when_polled_then_the_wait_ends_at_the_deadline(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(deadline_seconds=100), task(), clock)
    clock.advance(89.5)
    adapters[PRODVISUAL].on_fetch(task())

    step = pipeline.check(job.job_id, poll=True)

    assert step == Step("await", 11)  # ceil of the 10.5 s left, not the 60 s interval


def test_given_a_passed_deadline_and_an_unfinished_task_when_checked_then_the_job_fails_with_timeout(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(deadline_seconds=100), task(), clock)
    clock.advance(100)
    adapters[PRODVISUAL].on_fetch(task())  # whether it asks the provider once more or not

    step = pipeline.check(job.job_id, poll=True)

    assert step == FINISHED
    failed = store.get(job.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == "timeout"
    assert "generate stage" in failed.error.message


def test_given_a_task_completed_before_the_deadline_when_the_callback_check_runs_after_it_then_archive(
    pipeline: JobPipeline, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(deadline_seconds=100), task(), clock)
    clock.advance(99.8)
    pipeline.record_webhook_task(job.job_id, completed())  # the webhook, just in time
    clock.advance(0.4)  # SendTaskSuccess -> CheckAfterCallback lands just after the deadline

    step = pipeline.check(job.job_id, poll=False)

    assert step == Step("archive")
    assert store.get(job.job_id).status is JobStatus.RUNNING


def test_given_the_last_wait_ends_at_the_deadline_when_polled_then_the_provider_is_asked_once_more(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(deadline_seconds=100), task(), clock)
    clock.advance(90)
    adapters[PRODVISUAL].on_fetch(task(), completed())
    last_wait = pipeline.check(job.job_id, poll=True).wait_seconds  # capped: ends at the deadline
    clock.advance(last_wait)

    step = pipeline.check(job.job_id, poll=True)  # the poll that the capped wait scheduled

    assert step == Step("archive")
    assert adapters[PRODVISUAL].count("fetch") == 2


def test_given_the_provider_failed_the_task_when_polled_then_the_job_fails_with_the_providers_reason(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(), task(), clock)
    adapters[PRODVISUAL].on_fetch(
        task(state=TaskState.FAILED, error_code="nsfw", error_message="the image breaks the content policy")
    )

    step = pipeline.check(job.job_id, poll=True)

    assert step == FINISHED
    failed = store.get(job.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == "provider_failed"
    assert failed.error.provider_code == "nsfw"
    assert "the image breaks the content policy" in failed.error.message


def test_given_the_provider_is_down_when_polled_then_the_job_awaits_again_instead_of_failing(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(), task(), clock)
    adapters[PRODVISUAL].on_fetch(retryable(None))

    step = pipeline.check(job.job_id, poll=True)

    assert step.next == "await"
    stored = store.get(job.job_id)
    assert (stored.status, stored.error) == (JobStatus.RUNNING, None)


def test_given_a_permanent_error_when_polled_then_the_job_fails_with_the_mapped_code(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(), task(), clock)
    adapters[PRODVISUAL].on_fetch(permanent(ErrorKind.NOT_FOUND))

    assert pipeline.check(job.job_id, poll=True) == FINISHED
    error = store.get(job.job_id).error
    assert error is not None
    assert error.code == "provider_not_found"


def test_given_a_callback_recorded_a_final_task_when_checked_after_it_then_no_fetch_and_it_routes(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(), completed(), clock)

    step = pipeline.check(job.job_id, poll=False)

    assert step == Step("archive")
    assert adapters[PRODVISUAL].calls == []


def test_given_a_completed_task_when_a_stale_running_answer_is_polled_then_the_task_stays_completed(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(), completed(), clock)
    adapters[PRODVISUAL].on_fetch(task(state=TaskState.RUNNING))

    step = pipeline.check(job.job_id, poll=True)

    assert step == Step("archive")
    stored = store.get(job.job_id)
    assert stored.task is not None
    assert stored.task.state is TaskState.COMPLETED


def test_given_a_completed_task_when_a_stale_answer_arrives_by_webhook_then_nothing_is_written(
    pipeline: JobPipeline, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(), completed(), clock)

    pipeline.record_webhook_task(job.job_id, task(state=TaskState.PENDING))

    stored = store.get(job.job_id)
    assert stored.version == job.version
    assert stored.task is not None
    assert stored.task.state is TaskState.COMPLETED


def test_given_a_final_job_when_checked_then_finished_without_asking_the_provider(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(), task(), clock)
    store.update(job.job_id, lambda j: j.moved_to(JobStatus.CANCELLED, now=clock()))

    assert pipeline.check(job.job_id, poll=True) == FINISHED
    assert adapters[PRODVISUAL].calls == []


# --- advance ---------------------------------------------------------------------------------------


def test_given_a_completed_image_stage_when_advanced_then_the_video_stage_is_recorded_and_awaited(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(CREATIFY), completed(CREATIFY, stage="image", task_id="t"), clock)
    store.update(job.job_id, lambda j: j.model_copy(update={"poll_count": 3}))
    adapters[CREATIFY].on_advance(task(CREATIFY, stage="video", task_id="t"))

    step = pipeline.advance(job.job_id)

    assert step == Step("await", POLL_INITIAL)
    stored = store.get(job.job_id)
    assert stored.stage == "video"
    assert stored.poll_count == 0
    assert [t.stage for t in stored.tasks] == ["image", "video"]


def test_given_the_last_stage_completed_when_advanced_then_archive_without_calling_the_provider(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(JOGG), completed(JOGG, stage="video", task_id="v"), clock)

    assert pipeline.advance(job.job_id) == Step("archive")
    assert adapters[JOGG].calls == []


def test_given_the_provider_has_no_next_stage_when_advanced_then_archive(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(CREATIFY), completed(CREATIFY, stage="image"), clock)
    adapters[CREATIFY].on_advance(None)

    assert pipeline.advance(job.job_id) == Step("archive")


def test_given_a_rate_limit_with_retry_after_when_advancing_then_retry_advance_after_the_delay(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(JOGG), completed(JOGG, stage="product"), clock)
    adapters[JOGG].on_advance(retryable(7.01, provider="jogg"))

    step = pipeline.advance(job.job_id)

    assert step == Step("retry_advance", 8)
    assert store.get(job.job_id).stage == "product"


def test_given_a_retryable_error_without_retry_after_when_advancing_then_it_raises(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(JOGG), completed(JOGG, stage="product"), clock)
    adapters[JOGG].on_advance(retryable(None, provider="jogg"))

    with pytest.raises(type(retryable())):
        pipeline.advance(job.job_id)


def test_given_insufficient_credits_when_advancing_then_the_job_waits_for_credits_before_advancing(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(JOGG), completed(JOGG, stage="product"), clock)
    adapters[JOGG].on_advance(permanent(ErrorKind.INSUFFICIENT_CREDITS, provider="jogg"))

    assert pipeline.advance(job.job_id) == Step("wait_credits_advance", POLL_INITIAL)
    waiting = store.get(job.job_id)
    assert waiting.status is JobStatus.WAITING_CREDITS
    assert waiting.error is None


def test_given_insufficient_credits_past_the_deadline_when_advancing_then_the_job_fails_with_that_code(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(JOGG, deadline_seconds=60), completed(JOGG, stage="product"), clock)
    clock.advance(61)
    adapters[JOGG].on_advance(permanent(ErrorKind.INSUFFICIENT_CREDITS, provider="jogg"))

    assert pipeline.advance(job.job_id) == FINISHED
    error = store.get(job.job_id).error
    assert error is not None
    assert error.code == "provider_insufficient_credits"


# --- waiting for credits ---------------------------------------------------------------------------


def test_given_no_credits_when_submitting_then_the_job_waits_for_credits_with_the_reason_on_its_timeline(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job()
    adapters[PRODVISUAL].on_start(permanent(ErrorKind.INSUFFICIENT_CREDITS))

    step = pipeline.submit(job.job_id)

    assert step == Step("wait_credits", POLL_INITIAL)
    waiting = store.get(job.job_id)
    assert waiting.status is JobStatus.WAITING_CREDITS
    assert waiting.call is None
    assert waiting.timeline[-1].status is JobStatus.WAITING_CREDITS
    assert waiting.timeline[-1].detail is not None
    assert "no credits left (insufficient_credits_code)" in waiting.timeline[-1].detail


def test_given_credits_still_missing_when_resubmitting_then_the_wait_doubles_up_to_the_cap(
    pipeline: JobPipeline, adapters: FakeAdapters, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = stored_job(deadline_seconds=100_000)
    waits = []
    for _ in range(7):
        adapters[PRODVISUAL].on_start(permanent(ErrorKind.INSUFFICIENT_CREDITS))
        step = pipeline.submit(job.job_id)
        waits.append(step.wait_seconds)
        clock.advance(step.wait_seconds)

    assert waits == [30, 60, 120, 240, 480, POLL_MAX, POLL_MAX]


def test_given_a_waiting_job_when_the_provider_takes_the_request_then_it_runs_again(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = stored_job()
    adapters[PRODVISUAL].on_start(permanent(ErrorKind.INSUFFICIENT_CREDITS))
    pipeline.submit(job.job_id)
    clock.advance(POLL_INITIAL)
    adapters[PRODVISUAL].on_start(task(state=TaskState.PENDING, task_id="gen_topped_up"))

    step = pipeline.submit(job.job_id)

    assert step == Step("await", POLL_INITIAL)
    running = store.get(job.job_id)
    assert running.status is JobStatus.RUNNING
    assert running.credit_waits == 0
    assert [e.status for e in running.timeline] == [
        JobStatus.QUEUED,
        JobStatus.WAITING_CREDITS,
        JobStatus.RUNNING,
    ]


def test_given_a_wait_longer_than_the_time_left_when_parking_then_it_ends_at_the_deadline(
    pipeline: JobPipeline, adapters: FakeAdapters, stored_job: JobFactory
) -> None:
    job = stored_job(deadline_seconds=12)
    adapters[PRODVISUAL].on_start(permanent(ErrorKind.INSUFFICIENT_CREDITS))

    assert pipeline.submit(job.job_id) == Step("wait_credits", 12)


def test_given_a_waiting_job_past_its_deadline_when_still_refused_then_it_fails_with_the_mapped_code(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = stored_job(deadline_seconds=12)
    adapters[PRODVISUAL].on_start(permanent(ErrorKind.INSUFFICIENT_CREDITS))
    pipeline.submit(job.job_id)
    clock.advance(12)
    adapters[PRODVISUAL].on_start(permanent(ErrorKind.INSUFFICIENT_CREDITS))

    assert pipeline.submit(job.job_id) == FINISHED
    failed = store.get(job.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert (failed.error.code, failed.error.provider_code) == (
        "provider_insufficient_credits",
        "insufficient_credits_code",
    )


# --- failures from the state machine ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("error_name", "code"),
    [
        ("States.Timeout", "timeout"),
        ("RetryableProviderError", "provider_unavailable"),
        ("ArchiveError", "archive_failed"),
        ("KeyError", "internal_error"),
        ("States.Runtime", "internal_error"),
    ],
)
def test_given_a_caught_state_error_when_marking_failed_then_the_job_gets_the_mapped_code(
    pipeline: JobPipeline, store: JobStore, stored_job: JobFactory, error_name: str, code: str
) -> None:
    job = stored_job()

    step = pipeline.fail_from_state_error(job.job_id, error_name)

    assert step == FINISHED
    failed = store.get(job.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == code
    assert failed.timeline[-1].detail == code


def test_given_a_failed_job_when_failed_again_then_the_first_error_is_kept(
    pipeline: JobPipeline, store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job()
    pipeline.fail_from_state_error(job.job_id, "States.Timeout")

    pipeline.fail_from_state_error(job.job_id, "ArchiveError")

    error = store.get(job.job_id).error
    assert error is not None
    assert error.code == "timeout"


# --- links -----------------------------------------------------------------------------------------

LONG_API_URL = "https://a1b2c3d4e5.execute-api.ap-southeast-2.amazonaws.com"


def call_with_key(key: str) -> ProviderCall:
    return ProviderCall(kind="submit", key=key, started_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_given_a_creatify_call_when_building_its_callback_url_then_it_carries_job_id_dot_call_key(
    pipeline: JobPipeline,
) -> None:
    key = secrets.token_urlsafe(18)  # what a create call gets
    job = new_job("0" * 32, CREATIFY, public_base_url=LONG_API_URL).model_copy(
        update={"call": call_with_key(key)}
    )

    url = pipeline.callback_url(job)

    assert url == f"{LONG_API_URL}/v1/webhooks/creatify/{job.job_id}.{key}"
    assert len(url) < MAX_URL_LENGTH


def test_given_a_creatify_job_with_no_call_in_flight_when_building_its_callback_url_then_none(
    pipeline: JobPipeline,
) -> None:
    job = new_job("0" * 32, CREATIFY, callback_token="job-secret", public_base_url=LONG_API_URL)

    assert pipeline.callback_url(job) is None


def test_given_a_signed_provider_call_when_building_its_callback_url_then_the_job_and_key_are_a_hint(
    pipeline: JobPipeline,
) -> None:
    job = new_job("0" * 32, JOGG, public_base_url=LONG_API_URL)

    assert pipeline.callback_url(job) == f"{LONG_API_URL}/v1/webhooks/jogg"
    with_call = job.model_copy(update={"call": call_with_key("k3y")})
    assert pipeline.callback_url(with_call) == f"{LONG_API_URL}/v1/webhooks/jogg?job={job.job_id}.k3y"


def test_given_no_public_base_url_when_building_the_callback_url_then_none_so_the_job_polls(
    pipeline: JobPipeline,
) -> None:
    assert pipeline.callback_url(new_job("0" * 32, public_base_url="")) is None


def test_given_a_job_when_building_its_product_link_then_it_is_short_enough_for_creatify(
    pipeline: JobPipeline,
) -> None:
    job = new_job("0" * 32, CREATIFY, public_base_url=LONG_API_URL)

    link = pipeline.product_link(job)

    base, _, token = link.rpartition("/p/")
    assert base == LONG_API_URL
    claim = pipeline.links.check(token)
    assert claim is not None
    assert (claim.job_id, claim.stage, claim.expires_at) == (job.job_id, "submit", job.deadline_at)
    assert len(link) < MAX_URL_LENGTH


def test_given_a_product_image_taken_in_when_submitting_then_the_provider_gets_our_product_link(
    pipeline: JobPipeline, adapters: FakeAdapters, store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job(CREATIFY)
    image = ProductImage(
        s3_key=f"products/{job.job_id}/image.png",
        content_type="image/png",
        bytes=1234,
        width=800,
        height=800,
        sha256="0" * 64,
    )
    store.update(job.job_id, lambda j: j.model_copy(update={"product_image": image}))
    adapters[CREATIFY].on_start(task(CREATIFY))

    pipeline.submit(job.job_id)

    ((_, request),) = adapters[CREATIFY].calls
    assert request.product.image_url == pipeline.product_link(store.get(job.job_id))
    assert request.product.image_url.startswith(f"{job.public_base_url}/p/{job.job_id}.submit.")
    call = store.get(job.job_id).call
    assert call is not None
    assert request.webhook_url == f"{job.public_base_url}/v1/webhooks/creatify/{job.job_id}.{call.key}"
