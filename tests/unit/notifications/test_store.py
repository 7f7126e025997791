"""Tenant webhook settings and delivery records in the jobs table (moto, table from template.yaml)."""

from __future__ import annotations

import pytest

from mediajobs.notifications.models import Delivery, DeliveryStatus, InvalidWebhookSettingsError
from mediajobs.notifications.signing import generate_secret
from mediajobs.notifications.store import NotificationStore
from tests.unit.jobs.fakes import START
from tests.unit.notifications.conftest import HOOK, TENANT


def delivery(msg_id: str = "msg_" + "a" * 24, **changes: object) -> Delivery:
    fields: dict[str, object] = {
        "webhook_id": msg_id,
        "tenant_id": TENANT,
        "event_type": "job.succeeded",
        "subject_id": "j" * 32,
        "url": HOOK,
        "body": '{"type":"job.succeeded"}',
        "occurred_at": START,
        "status": DeliveryStatus.PENDING,
        "created_at": START,
        "updated_at": START,
    }
    return Delivery.model_validate(fields | changes)


def test_given_no_settings_when_a_tenant_is_read_then_it_has_no_url_and_no_secret(
    store: NotificationStore,
) -> None:
    settings = store.tenant_webhooks(TENANT)

    assert (settings.default_url, settings.secrets, settings.disabled_urls) == (None, [], set())


def test_given_a_configured_tenant_when_read_then_url_and_secrets_come_back_in_order(
    store: NotificationStore,
) -> None:
    secrets = [generate_secret(), generate_secret()]

    store.configure_tenant(TENANT, secrets=secrets, default_url=HOOK, now=START)

    settings = store.tenant_webhooks(TENANT)
    assert (settings.default_url, settings.secrets) == (HOOK, secrets)


@pytest.mark.parametrize("count", [0, 3])
def test_given_zero_or_three_secrets_when_configured_then_it_is_refused(
    store: NotificationStore, count: int
) -> None:
    with pytest.raises(InvalidWebhookSettingsError):
        store.configure_tenant(
            TENANT, secrets=[generate_secret() for _ in range(count)], default_url=None, now=START
        )


def test_given_a_disabled_url_when_it_is_set_as_default_again_then_it_is_enabled(
    store: NotificationStore,
) -> None:
    store.disable_url(TENANT, HOOK, now=START)
    assert store.tenant_webhooks(TENANT).disabled_urls == {HOOK}

    store.configure_tenant(TENANT, secrets=[generate_secret()], default_url=HOOK, now=START)

    assert store.tenant_webhooks(TENANT).disabled_urls == set()


def test_given_a_disabled_url_when_enabled_then_it_is_no_longer_disabled(store: NotificationStore) -> None:
    store.disable_url(TENANT, HOOK, now=START)
    store.disable_url(TENANT, "https://other.example.com/hook", now=START)

    store.enable_url(TENANT, HOOK, now=START)

    assert store.tenant_webhooks(TENANT).disabled_urls == {"https://other.example.com/hook"}


def test_given_a_recorded_delivery_when_recorded_again_then_the_second_is_refused(
    store: NotificationStore,
) -> None:
    assert store.create_delivery(delivery()) is True
    assert store.create_delivery(delivery(body="changed")) is False

    assert store.get_delivery(delivery().webhook_id).body == delivery().body


def test_given_a_pending_delivery_when_an_attempt_is_recorded_then_status_and_answer_are_kept(
    store: NotificationStore,
) -> None:
    store.create_delivery(delivery())

    written = store.record_attempt(
        delivery(), status=DeliveryStatus.DELIVERED, attempts=1, http_status=204, error=None, now=START
    )

    saved = store.get_delivery(delivery().webhook_id)
    assert written is True
    assert (saved.status, saved.attempts, saved.last_http_status, saved.delivered_at) == (
        DeliveryStatus.DELIVERED,
        1,
        204,
        START,
    )


def test_given_a_stale_view_of_a_delivery_when_an_attempt_is_recorded_then_it_is_refused(
    store: NotificationStore,
) -> None:
    store.create_delivery(delivery())
    store.record_attempt(
        delivery(), status=DeliveryStatus.PENDING, attempts=1, http_status=500, error="HTTP 500", now=START
    )

    written = store.record_attempt(
        delivery(), status=DeliveryStatus.DELIVERED, attempts=1, http_status=200, error=None, now=START
    )

    assert written is False
    assert store.get_delivery(delivery().webhook_id).status is DeliveryStatus.PENDING


def test_a_delivery_record_expires_after_thirty_days(store: NotificationStore, table: object) -> None:
    store.create_delivery(delivery())

    item = table.get_item(Key={"pk": f"DELIVERY#{delivery().webhook_id}", "sk": "DELIVERY"})["Item"]  # type: ignore[attr-defined]

    assert int(item["expires_at"]) == int(START.timestamp()) + 30 * 86400
