"""JobStore on the template's table (moto): conditional writes, the task index, tokens, dedupe, keys."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from mediajobs.jobs.models import Job, JobStatus
from mediajobs.jobs.store import ConcurrentUpdateError, JobNotFoundError, JobStore
from mediajobs.providers.base import ProviderName, TaskState
from tests.unit.jobs.conftest import JobFactory
from tests.unit.jobs.fakes import START, completed, new_job, task


def test_given_a_stored_job_when_created_again_with_its_id_then_refused_and_the_original_kept(
    store: JobStore, stored_job: JobFactory
) -> None:
    original = stored_job(tenant_id="tenant-a")
    duplicate = new_job(original.job_id, tenant_id="tenant-b")

    with pytest.raises(ConcurrentUpdateError):
        store.create(duplicate)

    assert store.get(original.job_id).tenant_id == "tenant-a"


def test_given_no_job_when_got_then_job_not_found(store: JobStore) -> None:
    with pytest.raises(JobNotFoundError):
        store.get(uuid.uuid4().hex)


def test_given_a_job_when_saved_with_its_version_then_the_version_grows_and_the_change_is_stored(
    store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job()

    saved = store.save(job.model_copy(update={"poll_count": 3}), expected_version=job.version)

    assert saved.version == job.version + 1
    reread = store.get(job.job_id)
    assert (reread.version, reread.poll_count) == (saved.version, 3)


def test_given_a_job_changed_by_another_writer_when_saved_with_the_stale_version_then_concurrent_update(
    store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job()
    store.save(job.model_copy(update={"poll_count": 1}), expected_version=job.version)

    with pytest.raises(ConcurrentUpdateError):
        store.save(job.model_copy(update={"poll_count": 99}), expected_version=job.version)

    assert store.get(job.job_id).poll_count == 1


def test_given_a_concurrent_change_when_updating_then_it_retries_and_applies_the_change_once(
    store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job()
    calls: list[int] = []

    def add_one_poll(current: Job) -> Job:
        calls.append(current.version)
        if len(calls) == 1:
            # another writer gets in between our read and our write
            store.save(current.model_copy(update={"poll_count": 10}), expected_version=current.version)
        return current.model_copy(update={"poll_count": current.poll_count + 1})

    updated = store.update(job.job_id, add_one_poll)

    assert calls == [job.version, job.version + 1]
    assert updated.poll_count == 11
    assert store.get(job.job_id).poll_count == 11


def test_given_a_change_with_nothing_to_write_when_updating_then_the_record_is_untouched(
    store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job()

    result = store.update(job.job_id, lambda _current: None)

    assert result.version == job.version
    assert store.get(job.job_id).version == job.version


def test_given_a_job_with_a_current_task_when_looking_up_its_task_id_then_the_job_is_found(
    store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job(ProviderName.JOGG)
    store.save(job.with_task(task(ProviderName.JOGG, task_id="video_789"), now=START), expected_version=0)

    assert store.job_id_for_task("jogg", "video_789") == job.job_id


def test_given_a_task_id_of_another_provider_when_looking_it_up_then_no_job(
    store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job(ProviderName.JOGG)
    store.save(job.with_task(task(ProviderName.JOGG, task_id="video_789"), now=START), expected_version=0)

    assert store.job_id_for_task("prodvisual", "video_789") is None


def test_given_a_job_that_moved_to_a_new_task_when_looking_up_the_old_task_then_no_job(
    store: JobStore, stored_job: JobFactory
) -> None:
    jogg = ProviderName.JOGG
    job = stored_job(jogg)
    job = store.save(job.with_task(completed(jogg, task_id="product_1"), now=START), expected_version=0)
    store.save(
        job.with_task(task(jogg, stage="video", task_id="video_1"), now=START), expected_version=job.version
    )

    assert store.job_id_for_task("jogg", "product_1") is None
    assert store.job_id_for_task("jogg", "video_1") == job.job_id


def test_given_a_stored_token_when_claimed_twice_then_only_the_first_claim_gets_it(
    store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job()
    store.put_task_token(job.job_id, "token-1")

    assert store.claim_task_token(job.job_id) == "token-1"
    assert store.claim_task_token(job.job_id) is None


def test_given_a_token_when_the_job_record_is_saved_then_the_token_stays_claimable(
    store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job()
    store.put_task_token(job.job_id, "token-1")

    store.save(job.model_copy(update={"poll_count": 2}), expected_version=job.version)

    assert store.claim_task_token(job.job_id) == "token-1"


def test_given_a_webhook_event_when_remembered_twice_then_true_once_then_false(store: JobStore) -> None:
    event_id = uuid.uuid4().hex

    assert store.remember_event("jogg", event_id) is True
    assert store.remember_event("jogg", event_id) is False


def test_given_the_same_event_id_from_two_providers_when_remembered_then_both_are_new(
    store: JobStore,
) -> None:
    assert store.remember_event("jogg", "evt-1") is True
    assert store.remember_event("prodvisual", "evt-1") is True


def test_given_a_forgotten_event_when_remembered_again_then_it_is_new(store: JobStore) -> None:
    store.remember_event("jogg", "evt-1")

    store.forget_event("jogg", "evt-1")

    assert store.remember_event("jogg", "evt-1") is True


def test_given_a_stored_key_when_looking_up_its_hash_then_its_tenant(store: JobStore) -> None:
    store.put_api_key("hash-1", tenant_id="tenant-a", name="shop")

    assert store.tenant_for_key("hash-1") == "tenant-a"


def test_given_an_unknown_key_hash_when_looking_it_up_then_no_tenant(store: JobStore) -> None:
    assert store.tenant_for_key("hash-unknown") is None


def test_given_a_revoked_key_when_looking_it_up_then_no_tenant(store: JobStore) -> None:
    store.put_api_key("hash-1", tenant_id="tenant-a", name="shop")
    store._table.update_item(
        Key={"pk": "APIKEY#hash-1", "sk": "APIKEY"},
        UpdateExpression="SET revoked = :yes",
        ExpressionAttributeValues={":yes": True},
    )

    assert store.tenant_for_key("hash-1") is None


def test_given_fractional_credits_when_stored_and_read_then_the_same_floats(
    store: JobStore, stored_job: JobFactory
) -> None:
    jogg = ProviderName.JOGG
    job = stored_job(jogg)
    job = job.with_task(completed(jogg, credits_used=0.1), now=START)
    job = job.with_task(completed(jogg, stage="video", task_id="v", credits_used=1.7), now=START)
    store.save(job, expected_version=job.version)

    reread = store.get(job.job_id)

    assert [t.credits_used for t in reread.tasks] == [0.1, 1.7]
    assert all(type(t.credits_used) is float for t in reread.tasks)
    assert reread.credits_used == pytest.approx(1.8)


def test_given_a_job_when_stored_then_floats_are_dynamodb_decimals_and_the_task_is_indexed(
    store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job()
    job = store.save(job.with_task(completed(credits_used=2.5), now=START), expected_version=job.version)

    item = store._table.get_item(Key={"pk": f"JOB#{job.job_id}", "sk": "JOB"})["Item"]

    assert item["tasks"][0]["credits_used"] == Decimal("2.5")
    assert item["gsi1pk"] == "prodvisual#task-1"
    assert item["status"] == JobStatus.QUEUED.value


def test_given_numeric_options_when_the_job_is_written_twice_then_the_options_keep_their_numbers(
    store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job(ProviderName.JOGG, options={"avatar_id": 7, "music_id": 3, "caption": True})
    first = store.get(job.job_id)
    store.save(first.model_copy(update={"poll_count": 1}), expected_version=first.version)

    reread = store.get(job.job_id)

    assert reread.spec.options == {"avatar_id": 7, "music_id": 3, "caption": True}
    assert all(type(reread.spec.options[k]) is int for k in ("avatar_id", "music_id"))


def test_given_a_task_state_when_stored_and_read_then_the_enum_survives(
    store: JobStore, stored_job: JobFactory
) -> None:
    job = stored_job()
    store.save(job.with_task(task(state=TaskState.PENDING), now=START), expected_version=job.version)

    reread = store.get(job.job_id)

    assert reread.task is not None
    assert reread.task.state is TaskState.PENDING
