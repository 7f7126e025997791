"""ProviderWebhooks: verified notices record the task once and resume the execution once."""

from __future__ import annotations

import pytest

from mediajobs.jobs.models import Job, JobStatus, ProviderCall
from mediajobs.jobs.provider_webhooks import Outcome, ProviderWebhooks, UnknownCallbackError
from mediajobs.jobs.store import JobStore
from mediajobs.providers.base import ProviderName, ProviderTask, TaskState, WebhookNotice
from tests.unit.jobs.conftest import JobFactory
from tests.unit.jobs.fakes import FakeAdapters, FakeClock, FakeSfn, completed, retryable, task

CREATIFY = ProviderName.CREATIFY
JOGG = ProviderName.JOGG
PRODVISUAL = ProviderName.PRODVISUAL
HEADERS = {"content-type": "application/json", "x-prodvisual-signature": "sig"}
BODY = b'{"event": "generation.completed"}'
TOKEN = "execution-task-token"


def running_on(store: JobStore, job: Job, current: ProviderTask, clock: FakeClock) -> Job:
    return store.update(
        job.job_id, lambda j: j.with_task(current, now=clock()).moved_to(JobStatus.RUNNING, now=clock())
    )


def notice(
    provider: ProviderName, task_id: str, event_id: str = "evt-1", signed: ProviderTask | None = None
) -> WebhookNotice:
    return WebhookNotice(provider=provider, task_id=task_id, event_id=event_id, task=signed)


@pytest.fixture
def waiting_job(store: JobStore, stored_job: JobFactory, clock: FakeClock) -> Job:
    """A ProdVisual job running task gen_1, its execution parked on TOKEN."""
    job = running_on(store, stored_job(), task(task_id="gen_1"), clock)
    store.put_task_token(job.job_id, TOKEN)
    return job


# --- signed providers ------------------------------------------------------------------------------


def test_given_a_waiting_job_when_a_signed_final_notice_for_its_task_arrives_then_recorded_and_resumed(
    webhooks: ProviderWebhooks, adapters: FakeAdapters, sfn: FakeSfn, store: JobStore, waiting_job: Job
) -> None:
    adapters[PRODVISUAL].on_webhook(notice(PRODVISUAL, "gen_1", signed=completed(task_id="gen_1")))

    outcome = webhooks.receive_signed(PRODVISUAL, HEADERS, BODY)

    assert outcome is Outcome.RESUMED
    assert sfn.tokens == [TOKEN]
    stored = store.get(waiting_job.job_id)
    assert stored.task is not None
    assert stored.task.state is TaskState.COMPLETED
    assert store.claim_task_token(waiting_job.job_id) is None


def test_given_a_signed_notice_when_parsed_then_the_adapter_sees_the_raw_headers_and_body(
    webhooks: ProviderWebhooks, adapters: FakeAdapters, waiting_job: Job
) -> None:
    adapters[PRODVISUAL].on_webhook(notice(PRODVISUAL, "gen_1", signed=completed(task_id="gen_1")))

    webhooks.receive_signed(PRODVISUAL, HEADERS, BODY)

    assert adapters[PRODVISUAL].calls[0] == ("webhook", (HEADERS, BODY))


def test_given_a_handled_event_when_the_same_event_id_arrives_again_then_duplicate_and_no_second_resume(
    webhooks: ProviderWebhooks, adapters: FakeAdapters, sfn: FakeSfn, store: JobStore, waiting_job: Job
) -> None:
    final = completed(task_id="gen_1")
    adapters[PRODVISUAL].on_webhook(
        notice(PRODVISUAL, "gen_1", "evt-9", final), notice(PRODVISUAL, "gen_1", "evt-9", final)
    )
    webhooks.receive_signed(PRODVISUAL, HEADERS, BODY)
    store.put_task_token(waiting_job.job_id, "next-wait-token")
    version = store.get(waiting_job.job_id).version

    outcome = webhooks.receive_signed(PRODVISUAL, HEADERS, BODY)

    assert outcome is Outcome.DUPLICATE
    assert sfn.tokens == [TOKEN]
    assert store.get(waiting_job.job_id).version == version


def test_given_a_notice_for_a_task_no_job_runs_when_received_then_ignored(
    webhooks: ProviderWebhooks, adapters: FakeAdapters, sfn: FakeSfn, store: JobStore, waiting_job: Job
) -> None:
    adapters[PRODVISUAL].on_webhook(notice(PRODVISUAL, "gen_other", signed=completed(task_id="gen_other")))

    outcome = webhooks.receive_signed(PRODVISUAL, HEADERS, BODY)

    assert outcome is Outcome.IGNORED
    assert sfn.sent == []
    assert store.get(waiting_job.job_id).version == waiting_job.version


def test_given_a_job_at_its_video_stage_when_a_notice_for_the_old_product_stage_arrives_then_ignored(
    *,
    webhooks: ProviderWebhooks,
    adapters: FakeAdapters,
    sfn: FakeSfn,
    store: JobStore,
    stored_job: JobFactory,
    clock: FakeClock,
) -> None:
    job = running_on(store, stored_job(JOGG), completed(JOGG, stage="product", task_id="product_1"), clock)
    job = running_on(store, job, task(JOGG, stage="video", task_id="video_1"), clock)
    store.put_task_token(job.job_id, TOKEN)
    late = completed(JOGG, stage="product", task_id="product_1", status="late")
    adapters[JOGG].on_webhook(notice(JOGG, "product_1", signed=late))

    outcome = webhooks.receive_signed(JOGG, HEADERS, BODY)

    assert outcome is Outcome.IGNORED
    assert sfn.sent == []
    assert store.get(job.job_id).stage == "video"
    assert store.get(job.job_id).version == job.version


def test_given_a_signed_notice_whose_task_is_another_stage_of_the_current_id_when_received_then_ignored(
    *,
    webhooks: ProviderWebhooks,
    adapters: FakeAdapters,
    sfn: FakeSfn,
    store: JobStore,
    stored_job: JobFactory,
    clock: FakeClock,
) -> None:
    job = running_on(store, stored_job(JOGG), task(JOGG, stage="video", task_id="same_id"), clock)
    store.put_task_token(job.job_id, TOKEN)
    adapters[JOGG].on_webhook(
        notice(JOGG, "same_id", signed=completed(JOGG, stage="product", task_id="same_id"))
    )

    outcome = webhooks.receive_signed(JOGG, HEADERS, BODY)

    assert outcome is Outcome.IGNORED
    assert sfn.sent == []
    assert store.get(job.job_id).version == job.version


def test_given_a_waiting_job_when_a_non_final_notice_arrives_then_recorded_without_resuming(
    webhooks: ProviderWebhooks, adapters: FakeAdapters, sfn: FakeSfn, store: JobStore, waiting_job: Job
) -> None:
    progress = task(task_id="gen_1", state=TaskState.RUNNING, status="processing")
    adapters[PRODVISUAL].on_webhook(notice(PRODVISUAL, "gen_1", signed=progress))

    outcome = webhooks.receive_signed(PRODVISUAL, HEADERS, BODY)

    assert outcome is Outcome.RECORDED
    assert sfn.sent == []
    stored = store.get(waiting_job.job_id)
    assert stored.task is not None
    assert stored.task.provider_status == "processing"
    assert store.claim_task_token(waiting_job.job_id) == TOKEN


def test_given_a_signed_notice_without_the_task_when_received_then_the_task_is_fetched(
    webhooks: ProviderWebhooks, adapters: FakeAdapters, sfn: FakeSfn, waiting_job: Job
) -> None:
    adapters[PRODVISUAL].on_webhook(notice(PRODVISUAL, "gen_1", signed=None))
    adapters[PRODVISUAL].on_fetch(completed(task_id="gen_1"))

    outcome = webhooks.receive_signed(PRODVISUAL, HEADERS, BODY)

    assert outcome is Outcome.RESUMED
    assert ("fetch", ("generate", "gen_1")) in adapters[PRODVISUAL].calls


def test_given_a_failing_record_when_acting_on_a_notice_then_the_event_is_forgotten_for_the_retry(
    webhooks: ProviderWebhooks, adapters: FakeAdapters, sfn: FakeSfn, waiting_job: Job
) -> None:
    adapters[PRODVISUAL].on_webhook(
        notice(PRODVISUAL, "gen_1", "evt-5"), notice(PRODVISUAL, "gen_1", "evt-5")
    )
    adapters[PRODVISUAL].on_fetch(retryable(None), completed(task_id="gen_1"))
    with pytest.raises(type(retryable())):
        webhooks.receive_signed(PRODVISUAL, HEADERS, BODY)

    outcome = webhooks.receive_signed(PRODVISUAL, HEADERS, BODY)

    assert outcome is Outcome.RESUMED
    assert sfn.tokens == [TOKEN]


# --- Creatify (unsigned: the URL token names the job, the state is re-fetched) --------------------


def with_call(store: JobStore, job: Job, clock: FakeClock, *, key: str, answered: bool = True) -> Job:
    """The job's create call in flight, with ``key`` in its callback URL."""
    call = ProviderCall(kind="submit", key=key, started_at=clock(), answered=answered)
    return store.update(job.job_id, lambda j: j.model_copy(update={"call": call}))


@pytest.fixture
def creatify_job(store: JobStore, stored_job: JobFactory, clock: FakeClock) -> Job:
    job = running_on(
        store, stored_job(CREATIFY, callback_token="job-secret"), task(CREATIFY, task_id="c1"), clock
    )
    job = with_call(store, job, clock, key="s3cret-token")
    store.put_task_token(job.job_id, TOKEN)
    return job


def test_given_a_creatify_job_when_a_callback_has_a_wrong_token_then_unknown_callback(
    webhooks: ProviderWebhooks, adapters: FakeAdapters, creatify_job: Job
) -> None:
    with pytest.raises(UnknownCallbackError):
        webhooks.receive_creatify(f"{creatify_job.job_id}.not-the-token", HEADERS, BODY)

    assert adapters[CREATIFY].calls == []


@pytest.mark.parametrize("token", ["", ".s3cret-token", "ffffffffffffffffffffffffffffffff.s3cret-token"])
def test_given_a_callback_naming_no_job_when_received_then_unknown_callback(
    webhooks: ProviderWebhooks, creatify_job: Job, token: str
) -> None:
    with pytest.raises(UnknownCallbackError):
        webhooks.receive_creatify(token, HEADERS, BODY)


def test_given_a_job_without_a_callback_token_when_a_creatify_callback_names_it_then_unknown_callback(
    webhooks: ProviderWebhooks, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(PRODVISUAL), task(task_id="gen_1"), clock)

    with pytest.raises(UnknownCallbackError):
        webhooks.receive_creatify(f"{job.job_id}.", HEADERS, BODY)


def test_given_the_right_token_when_a_creatify_callback_arrives_then_the_state_is_refetched_not_trusted(
    webhooks: ProviderWebhooks, adapters: FakeAdapters, sfn: FakeSfn, store: JobStore, creatify_job: Job
) -> None:
    adapters[CREATIFY].on_webhook(notice(CREATIFY, "c1", signed=completed(CREATIFY, task_id="c1")))
    adapters[CREATIFY].on_fetch(task(CREATIFY, task_id="c1", status="image_generating"))

    outcome = webhooks.receive_creatify(f"{creatify_job.job_id}.s3cret-token", HEADERS, BODY)

    assert outcome is Outcome.RECORDED
    assert ("fetch", ("image", "c1")) in adapters[CREATIFY].calls
    stored = store.get(creatify_job.job_id)
    assert stored.task is not None
    assert (stored.task.state, stored.task.provider_status) == (TaskState.RUNNING, "image_generating")
    assert sfn.sent == []


def test_given_the_right_token_and_a_finished_task_when_a_creatify_callback_arrives_then_resumed(
    webhooks: ProviderWebhooks, adapters: FakeAdapters, sfn: FakeSfn, creatify_job: Job
) -> None:
    adapters[CREATIFY].on_webhook(notice(CREATIFY, "c1"))
    adapters[CREATIFY].on_fetch(completed(CREATIFY, task_id="c1"))

    outcome = webhooks.receive_creatify(f"{creatify_job.job_id}.s3cret-token", HEADERS, BODY)

    assert outcome is Outcome.RESUMED
    assert sfn.tokens == [TOKEN]


def test_given_the_right_token_when_the_callback_names_a_task_of_no_stage_then_ignored_without_fetch(
    webhooks: ProviderWebhooks, adapters: FakeAdapters, sfn: FakeSfn, creatify_job: Job
) -> None:
    adapters[CREATIFY].on_webhook(notice(CREATIFY, "someone-elses-task"))

    outcome = webhooks.receive_creatify(f"{creatify_job.job_id}.s3cret-token", HEADERS, BODY)

    assert outcome is Outcome.IGNORED
    assert adapters[CREATIFY].count("fetch") == 0
    assert sfn.sent == []


def test_given_a_callback_that_finished_its_task_when_the_same_url_is_used_again_then_unknown_callback(
    webhooks: ProviderWebhooks, adapters: FakeAdapters, store: JobStore, creatify_job: Job
) -> None:
    adapters[CREATIFY].on_webhook(notice(CREATIFY, "c1", "evt-1"), notice(CREATIFY, "c1", "evt-2"))
    adapters[CREATIFY].on_fetch(completed(CREATIFY, task_id="c1"))
    token = f"{creatify_job.job_id}.s3cret-token"
    assert webhooks.receive_creatify(token, HEADERS, BODY) is Outcome.RESUMED

    with pytest.raises(UnknownCallbackError):
        webhooks.receive_creatify(token, HEADERS, BODY)

    assert store.get(creatify_job.job_id).call is None
    assert adapters[CREATIFY].count("fetch") == 1


def test_given_the_jobs_own_secret_instead_of_the_call_key_when_a_callback_arrives_then_unknown_callback(
    webhooks: ProviderWebhooks, creatify_job: Job
) -> None:
    with pytest.raises(UnknownCallbackError):
        webhooks.receive_creatify(f"{creatify_job.job_id}.job-secret", HEADERS, BODY)


def test_given_a_failing_refetch_when_a_creatify_callback_arrives_then_its_retry_can_act(
    webhooks: ProviderWebhooks, adapters: FakeAdapters, sfn: FakeSfn, creatify_job: Job
) -> None:
    adapters[CREATIFY].on_webhook(notice(CREATIFY, "c1", "evt-c"), notice(CREATIFY, "c1", "evt-c"))
    adapters[CREATIFY].on_fetch(retryable(None, provider="creatify"), completed(CREATIFY, task_id="c1"))
    token = f"{creatify_job.job_id}.s3cret-token"
    with pytest.raises(type(retryable())):
        webhooks.receive_creatify(token, HEADERS, BODY)

    assert webhooks.receive_creatify(token, HEADERS, BODY) is Outcome.RESUMED
    assert sfn.tokens == [TOKEN]


# --- park: the token and the result may arrive in either order --------------------------------------


def test_given_the_result_arrived_before_the_token_when_the_execution_parks_then_it_resumes_at_once(
    *,
    webhooks: ProviderWebhooks,
    adapters: FakeAdapters,
    sfn: FakeSfn,
    store: JobStore,
    stored_job: JobFactory,
    clock: FakeClock,
) -> None:
    job = running_on(store, stored_job(), task(task_id="gen_1"), clock)
    adapters[PRODVISUAL].on_webhook(notice(PRODVISUAL, "gen_1", signed=completed(task_id="gen_1")))
    assert webhooks.receive_signed(PRODVISUAL, HEADERS, BODY) is Outcome.RECORDED

    outcome = webhooks.park(job.job_id, TOKEN)

    assert outcome is Outcome.RESUMED
    assert sfn.tokens == [TOKEN]
    assert store.claim_task_token(job.job_id) is None


def test_given_no_result_yet_when_the_execution_parks_then_the_token_waits_for_the_webhook(
    webhooks: ProviderWebhooks, sfn: FakeSfn, store: JobStore, stored_job: JobFactory, clock: FakeClock
) -> None:
    job = running_on(store, stored_job(), task(task_id="gen_1"), clock)

    outcome = webhooks.park(job.job_id, TOKEN)

    assert outcome is Outcome.RECORDED
    assert sfn.sent == []
    assert store.claim_task_token(job.job_id) == TOKEN


def test_given_a_timed_out_wait_when_a_final_notice_resumes_it_then_recorded_not_resumed(
    webhooks: ProviderWebhooks, adapters: FakeAdapters, sfn: FakeSfn, store: JobStore, waiting_job: Job
) -> None:
    sfn.fail_with = "TaskTimedOut"
    adapters[PRODVISUAL].on_webhook(notice(PRODVISUAL, "gen_1", signed=completed(task_id="gen_1")))

    outcome = webhooks.receive_signed(PRODVISUAL, HEADERS, BODY)

    assert outcome is Outcome.RECORDED
    stored = store.get(waiting_job.job_id)
    assert stored.task is not None
    assert stored.task.state is TaskState.COMPLETED


def test_given_a_final_job_when_a_notice_arrives_then_ignored(
    *,
    webhooks: ProviderWebhooks,
    adapters: FakeAdapters,
    sfn: FakeSfn,
    store: JobStore,
    waiting_job: Job,
    clock: FakeClock,
) -> None:
    store.update(waiting_job.job_id, lambda j: j.moved_to(JobStatus.CANCELLED, now=clock()))
    adapters[PRODVISUAL].on_webhook(notice(PRODVISUAL, "gen_1", signed=completed(task_id="gen_1")))

    outcome = webhooks.receive_signed(PRODVISUAL, HEADERS, BODY)

    assert outcome is Outcome.IGNORED
    assert sfn.sent == []
