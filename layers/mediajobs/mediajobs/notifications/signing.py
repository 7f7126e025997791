"""A client event's body, its webhook id and its Standard Webhooks signatures."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from standardwebhooks import Webhook

from mediajobs.notifications.models import WHSEC_PATTERN, InvalidWebhookSettingsError, NotificationError

if TYPE_CHECKING:
    pass


# --- the event and its signature -------------------------------------------------------------------


def webhook_id(event_type: str, subject_id: str) -> str:
    """The event's ``webhook-id``: the same for every attempt, every notification, every retry."""
    digest = hashlib.sha256(f"{event_type}:{subject_id}".encode()).hexdigest()
    return f"msg_{digest[:24]}"


def generate_secret() -> str:
    """A new signing secret: ``whsec_`` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_secret(secret: str) -> str:
    """``secret`` if it is a usable ``whsec_`` secret; InvalidWebhookSettingsError otherwise."""
    if not re.fullmatch(WHSEC_PATTERN, secret):
        raise InvalidWebhookSettingsError(
            "a webhook secret is 'whsec_' followed by the base64 of at least 24 random bytes"
        )
    try:
        base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError as exc:
        raise InvalidWebhookSettingsError("the webhook secret is not valid base64 after 'whsec_'") from exc
    return secret


def signature_headers(msg_id: str, body: str, secrets_: Sequence[str], at: datetime) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (one ``v1,`` per secret)."""
    if not secrets_:
        raise NotificationError("there is no secret to sign with")
    moment = at.astimezone(UTC).replace(microsecond=0)
    signatures = " ".join(Webhook(secret).sign(msg_id, moment, body) for secret in secrets_)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signatures,
    }


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_body(event_type: str, occurred_at: datetime, data: Mapping[str, Any]) -> str:
    """The JSON text every attempt sends: ``{"type", "timestamp", "data"}``."""
    event = {"type": event_type, "timestamp": _timestamp(occurred_at), "data": data}
    return json.dumps(event, separators=(",", ":"))


def job_event_data(view: Mapping[str, Any]) -> dict[str, Any]:
    """The job as ``GET /v1/jobs/{id}`` shows it (its JSON), without presigned URLs (they expire:
    clients GET the job when they want to download)."""
    data: dict[str, Any] = json.loads(json.dumps(view))
    for output in data.get("outputs", []):
        output.pop("download_url", None)
        output.pop("download_url_expires_at", None)
    return data


def parse_retry_delays(text: str) -> tuple[int, ...]:
    """``"5,30,120"`` -> ``(5, 30, 120)``: the wait before each retry (empty: no retry)."""
    return tuple(int(part) for part in text.split(",") if part.strip())
