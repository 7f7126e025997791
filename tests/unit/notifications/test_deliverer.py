"""One delivery attempt at a time: signed POST, 2xx delivered, 410 disables, the rest retried then failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks import Webhook

from mediajobs.fetching import UrlPolicy
from mediajobs.notifications.models import Delivery, DeliveryNotFoundError, DeliveryStatus
from mediajobs.notifications.service import Attempt, WebhookDeliverer
from mediajobs.notifications.signing import generate_secret
from mediajobs.notifications.store import NotificationStore
from tests.unit.jobs.fakes import START, FakeClock
from tests.unit.notifications.conftest import HOOK, PUBLIC_ADDRESS, TENANT
from tests.unit.notifications.test_store import delivery

DELAYS = (5, 30)
PRIVATE_HOOK = "https://internal.example.com/hook"


@dataclass
class Receiver:
    """The client's endpoint behind httpx.MockTransport: answers ``script`` in turn, then 200."""

    script: list[int | Exception] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.script.pop(0) if self.script else 200
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, headers={"location": "https://elsewhere.example.com/"}, text="ok")


def resolve(host: str, _port: int) -> Sequence[str]:
    return ["10.0.0.7"] if host == "internal.example.com" else [PUBLIC_ADDRESS]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def deliverer(store: NotificationStore, receiver: Receiver, clock: FakeClock) -> WebhookDeliverer:
    return WebhookDeliverer(
        store=store,
        http=httpx.Client(transport=httpx.MockTransport(receiver)),
        policy=UrlPolicy(resolver=resolve),
        retry_delays=DELAYS,
        timeout_seconds=10,
        clock=clock,
    )


@pytest.fixture
def pending(store: NotificationStore, secret: str) -> Delivery:
    store.configure_tenant(TENANT, secrets=[secret], default_url=None, now=START)
    record = delivery()
    store.create_delivery(record)
    return record


def test_given_a_2xx_answer_when_delivered_then_it_is_done_and_recorded_delivered(
    deliverer: WebhookDeliverer, store: NotificationStore, pending: Delivery
) -> None:
    attempt = deliverer.attempt(pending.webhook_id)

    assert attempt == Attempt("done", DeliveryStatus.DELIVERED)
    assert store.get_delivery(pending.webhook_id).status is DeliveryStatus.DELIVERED


def test_the_post_carries_the_body_signed_for_the_tenants_secret(
    deliverer: WebhookDeliverer, receiver: Receiver, pending: Delivery, secret: str, clock: FakeClock
) -> None:
    clock.current = datetime.now(UTC)  # the verifier refuses timestamps 5 minutes off its clock

    deliverer.attempt(pending.webhook_id)

    [request] = receiver.requests
    assert (request.method, str(request.url)) == ("POST", HOOK)
    assert request.content == pending.body.encode()
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == pending.webhook_id
    assert Webhook(secret).verify(request.content, dict(request.headers)) is not None


def test_given_two_secrets_when_delivered_then_both_sign(
    deliverer: WebhookDeliverer,
    store: NotificationStore,
    receiver: Receiver,
    pending: Delivery,
    clock: FakeClock,
) -> None:
    clock.current = datetime.now(UTC)
    secrets = [generate_secret(), generate_secret()]
    store.configure_tenant(TENANT, secrets=secrets, default_url=None, now=START)

    deliverer.attempt(pending.webhook_id)

    headers = dict(receiver.requests[0].headers)
    assert all(Webhook(s).verify(receiver.requests[0].content, headers) for s in secrets)


@pytest.mark.parametrize(
    "answer",
    [500, 429, 400, 302, httpx.ConnectError("refused"), httpx.ReadTimeout("slow")],
    ids=["500", "429", "400", "redirect-not-followed", "connection-error", "timeout"],
)
def test_given_a_failed_attempt_when_attempts_are_left_then_it_retries_after_the_first_delay(
    deliverer: WebhookDeliverer,
    store: NotificationStore,
    receiver: Receiver,
    pending: Delivery,
    answer: int | Exception,
) -> None:
    receiver.script = [answer]

    attempt = deliverer.attempt(pending.webhook_id)

    assert attempt == Attempt("retry", DeliveryStatus.PENDING, DELAYS[0])
    saved = store.get_delivery(pending.webhook_id)
    assert (saved.status, saved.attempts) == (DeliveryStatus.PENDING, 1)
    assert saved.last_error
    assert len(receiver.requests) == 1  # a redirect is not followed


def test_given_failures_when_every_attempt_is_used_then_the_delivery_fails_with_the_last_answer(
    deliverer: WebhookDeliverer, store: NotificationStore, receiver: Receiver, pending: Delivery
) -> None:
    receiver.script = [500, 503, 502]

    attempts = [deliverer.attempt(pending.webhook_id) for _ in range(3)]

    assert [a.next for a in attempts] == ["retry", "retry", "failed"]
    assert [a.wait_seconds for a in attempts] == [5, 30, 0]
    saved = store.get_delivery(pending.webhook_id)
    assert (saved.status, saved.attempts, saved.last_http_status) == (DeliveryStatus.FAILED, 3, 502)
    assert "?token" not in str(saved.last_error)  # the URL's query never reaches the record


def test_given_retries_when_they_are_made_then_every_one_has_the_same_webhook_id_and_body(
    deliverer: WebhookDeliverer, receiver: Receiver, pending: Delivery, clock: FakeClock
) -> None:
    receiver.script = [500]
    deliverer.attempt(pending.webhook_id)
    clock.advance(5)
    deliverer.attempt(pending.webhook_id)

    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == pending.webhook_id
    assert first.content == second.content
    assert int(second.headers["webhook-timestamp"]) == int(first.headers["webhook-timestamp"]) + 5


def test_given_a_410_when_delivered_then_the_url_is_disabled_for_the_tenant(
    deliverer: WebhookDeliverer, store: NotificationStore, receiver: Receiver, pending: Delivery
) -> None:
    receiver.script = [410]

    attempt = deliverer.attempt(pending.webhook_id)

    assert attempt == Attempt("done", DeliveryStatus.DISABLED)
    assert store.get_delivery(pending.webhook_id).status is DeliveryStatus.DISABLED
    assert store.tenant_webhooks(TENANT).disabled_urls == {HOOK}


def test_given_a_disabled_url_when_a_pending_delivery_is_attempted_then_nothing_is_sent(
    deliverer: WebhookDeliverer, store: NotificationStore, receiver: Receiver, pending: Delivery
) -> None:
    store.disable_url(TENANT, HOOK, now=START)

    attempt = deliverer.attempt(pending.webhook_id)

    assert attempt == Attempt("done", DeliveryStatus.DISABLED)
    assert receiver.requests == []


def test_given_a_delivered_delivery_when_attempted_again_then_nothing_is_sent(
    deliverer: WebhookDeliverer, receiver: Receiver, pending: Delivery
) -> None:
    deliverer.attempt(pending.webhook_id)

    assert deliverer.attempt(pending.webhook_id) == Attempt("done", DeliveryStatus.DELIVERED)
    assert len(receiver.requests) == 1


def test_given_a_url_that_now_resolves_inside_our_network_when_attempted_then_it_fails_unsent(
    deliverer: WebhookDeliverer, store: NotificationStore, receiver: Receiver, secret: str
) -> None:
    store.configure_tenant(TENANT, secrets=[secret], default_url=None, now=START)
    record = delivery(url=PRIVATE_HOOK)
    store.create_delivery(record)

    attempt = deliverer.attempt(record.webhook_id)

    assert attempt == Attempt("failed", DeliveryStatus.FAILED)
    assert receiver.requests == []
    assert "private network" in str(store.get_delivery(record.webhook_id).last_error)


def test_given_a_tenant_without_a_secret_when_attempted_then_nothing_is_sent_and_it_retries(
    deliverer: WebhookDeliverer, store: NotificationStore, receiver: Receiver
) -> None:
    record = delivery()
    store.create_delivery(record)

    attempt = deliverer.attempt(record.webhook_id)

    assert attempt == Attempt("retry", DeliveryStatus.PENDING, DELAYS[0])
    assert receiver.requests == []
    assert "no webhook signing secret" in str(store.get_delivery(record.webhook_id).last_error)


def test_given_an_event_without_a_url_when_attempted_then_it_is_done_unsent(
    deliverer: WebhookDeliverer, store: NotificationStore, receiver: Receiver
) -> None:
    record = delivery(url=None, status=DeliveryStatus.NO_WEBHOOK)
    store.create_delivery(record)

    assert deliverer.attempt(record.webhook_id) == Attempt("done", DeliveryStatus.NO_WEBHOOK)
    assert receiver.requests == []


def test_given_an_unknown_webhook_id_when_attempted_then_it_raises(deliverer: WebhookDeliverer) -> None:
    with pytest.raises(DeliveryNotFoundError):
        deliverer.attempt("msg_" + "0" * 24)
