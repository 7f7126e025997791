"""API keys: made (shown once, kept hashed), listed, revoked, rotated; the API's lookup agrees."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mediajobs.api.auth import ApiCaller, Authenticator, hash_api_key
from mediajobs.api.keys import ApiKeyError, ApiKeyNotFoundError, ApiKeyStore, key_id_for
from mediajobs.jobs.store import JobStore


def test_given_a_tenant_when_a_key_is_made_then_it_is_mj_live_and_32_urlsafe_characters(
    keys: ApiKeyStore,
) -> None:
    made = keys.create("acme", name="shop backend")

    assert re.fullmatch(r"mj_live_[A-Za-z0-9_-]{32}", made.key)
    assert (made.record.tenant_id, made.record.name, made.record.active) == ("acme", "shop backend", True)
    assert made.record.key_id == hash_api_key(made.key)[:12]


def test_given_two_keys_made_then_they_differ(keys: ApiKeyStore) -> None:
    assert keys.create("acme").key != keys.create("acme").key


def test_given_a_key_made_then_the_table_holds_its_hash_and_never_the_key(
    keys: ApiKeyStore, table: Any
) -> None:
    made = keys.create("acme", name="shop")

    stored = str(table.scan()["Items"])
    assert made.key not in stored
    assert made.key.removeprefix("mj_live_") not in stored
    assert f"APIKEY#{hash_api_key(made.key)}" in stored


def test_given_a_key_made_when_the_api_looks_it_up_then_it_belongs_to_its_tenant(
    keys: ApiKeyStore, jobs: JobStore
) -> None:
    made = keys.create("acme")

    assert jobs.tenant_for_key(hash_api_key(made.key)) == "acme"
    assert Authenticator(jobs).tenant_for(f"Bearer {made.key}") == "acme"


def test_given_a_key_when_the_api_identifies_the_caller_then_it_knows_the_keys_id_for_its_budget(
    keys: ApiKeyStore, jobs: JobStore
) -> None:
    made = keys.create("acme")
    jobs.put_api_key(hash_api_key("an-older-key"), tenant_id="acme", name="recorded without its id")
    auth = Authenticator(jobs)

    caller = auth.caller_for(f"Bearer {made.key}")
    older = auth.caller_for("Bearer an-older-key")

    assert caller == ApiCaller("acme", made.record.key_id)
    assert older == ApiCaller("acme", key_id_for("an-older-key"))
    assert auth.caller_for("Bearer unknown") is None


def test_given_keys_of_two_tenants_when_one_is_listed_then_only_its_keys_oldest_first(
    keys: ApiKeyStore,
) -> None:
    first = keys.create("acme", name="first")
    keys.create("globex", name="theirs")
    second = keys.create("acme", name="second")

    listed = keys.list_keys("acme")

    assert [(r.key_id, r.name) for r in listed] == [
        (first.record.key_id, "first"),
        (second.record.key_id, "second"),
    ]
    assert all(r.tenant_id == "acme" for r in listed)


def test_given_a_listing_then_it_shows_neither_keys_nor_hashes(keys: ApiKeyStore) -> None:
    made = keys.create("acme")

    shown = str([r.model_dump() for r in keys.list_keys("acme")])

    assert made.key not in shown
    assert hash_api_key(made.key) not in shown


def test_given_a_tenant_with_no_keys_when_listed_then_empty(keys: ApiKeyStore) -> None:
    assert keys.list_keys("nobody") == []


def test_given_an_active_key_when_revoked_then_the_api_no_longer_finds_its_tenant(
    keys: ApiKeyStore, jobs: JobStore
) -> None:
    made = keys.create("acme")

    revoked = keys.revoke("acme", made.record.key_id)

    assert revoked.revoked_at is not None
    assert jobs.tenant_for_key(hash_api_key(made.key)) is None


def test_given_a_revoked_key_when_listed_then_it_shows_the_revocation_date(keys: ApiKeyStore) -> None:
    made = keys.create("acme")
    revoked = keys.revoke("acme", made.record.key_id)

    (listed,) = keys.list_keys("acme")

    assert (listed.key_id, listed.active, listed.revoked_at) == (
        made.record.key_id,
        False,
        revoked.revoked_at,
    )


def test_given_a_revoked_key_when_revoked_again_then_nothing_changes(keys: ApiKeyStore) -> None:
    made = keys.create("acme")
    first = keys.revoke("acme", made.record.key_id)

    again = keys.revoke("acme", made.record.key_id)

    assert again == first


def test_given_another_tenants_key_id_when_revoking_then_not_found_and_the_key_still_works(
    keys: ApiKeyStore, jobs: JobStore
) -> None:
    theirs = keys.create("globex")

    with pytest.raises(ApiKeyNotFoundError):
        keys.revoke("acme", theirs.record.key_id)

    assert jobs.tenant_for_key(hash_api_key(theirs.key)) == "globex"


@pytest.mark.parametrize("key_id", ["0123456789ab", "not-a-key-id", ""])
def test_given_an_unknown_or_malformed_key_id_when_revoking_then_not_found(
    keys: ApiKeyStore, key_id: str
) -> None:
    with pytest.raises(ApiKeyNotFoundError):
        keys.revoke("acme", key_id)


@pytest.mark.parametrize("tenant", ["", "a b", "#acme", "x" * 65, "TENANT#acme"])
def test_given_a_malformed_tenant_id_when_making_a_key_then_refused(keys: ApiKeyStore, tenant: str) -> None:
    with pytest.raises(ApiKeyError, match="tenant id"):
        keys.create(tenant)


def test_given_a_name_over_64_characters_when_making_a_key_then_refused(keys: ApiKeyStore) -> None:
    with pytest.raises(ApiKeyError, match="name"):
        keys.create("acme", name="n" * 65)


def test_given_a_key_when_rotated_then_both_work_until_the_old_one_is_revoked(
    keys: ApiKeyStore, jobs: JobStore
) -> None:
    old = keys.create("acme", name="2025")
    new = keys.create("acme", name="2026")
    both = [jobs.tenant_for_key(hash_api_key(k.key)) for k in (old, new)]

    keys.revoke("acme", old.record.key_id)

    assert both == ["acme", "acme"]
    assert jobs.tenant_for_key(hash_api_key(old.key)) is None
    assert jobs.tenant_for_key(hash_api_key(new.key)) == "acme"
    assert [r.active for r in keys.list_keys("acme")] == [False, True]


def test_given_a_revoked_key_when_the_lookup_cache_has_expired_then_the_authenticator_refuses_it(
    keys: ApiKeyStore, jobs: JobStore
) -> None:
    made = keys.create("acme")
    auth = Authenticator(jobs, cache_seconds=0)
    before = auth.tenant_for(f"Bearer {made.key}")

    keys.revoke("acme", made.record.key_id)

    assert (before, auth.tenant_for(f"Bearer {made.key}")) == ("acme", None)


def test_given_a_key_when_its_id_is_computed_then_it_is_the_id_the_store_gave(keys: ApiKeyStore) -> None:
    made = keys.create("acme")

    assert key_id_for(made.key) == made.record.key_id
