"""Verify the client webhooks mediajobs sends, signed the Standard Webhooks way.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; each ``v1,<base64>`` entry of
``webhook-signature`` is an HMAC-SHA256 of it under one secret (two entries during a rotation).
A ``whsec_`` secret is the base64 of the HMAC key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

from pydantic import ValidationError as PydanticValidationError

from mediajobs_client.errors import WebhookVerificationError
from mediajobs_client.models import WebhookEvent

#: how far a delivery's timestamp may be from now, either way (the Standard Webhooks default)
DEFAULT_TOLERANCE_SECONDS = 300


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookVerificationError("the webhook secret is not 'whsec_' and base64") from exc


def sign(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The ``v1,<base64>`` signature of one delivery (what mediajobs puts in ``webhook-signature``)."""
    payload = body.encode() if isinstance(body, str) else body
    content = f"{msg_id}.{timestamp}.".encode() + payload
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> WebhookEvent:
    """The event of a delivery whose signature matches ``secret`` and whose timestamp is recent.

    ``body`` is the raw request body (before any JSON parsing), ``headers`` the request's headers
    (any case). Raises ``WebhookVerificationError`` otherwise.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        msg_id = lowered["webhook-id"]
        timestamp_text = lowered["webhook-timestamp"]
        signatures = lowered["webhook-signature"]
    except KeyError as exc:
        raise WebhookVerificationError(f"the delivery has no {exc.args[0]} header") from exc
    try:
        timestamp = int(timestamp_text)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not a number of seconds") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookVerificationError(
            f"webhook-timestamp is {int(current - timestamp)} s from now (more than {tolerance_seconds} s)"
        )
    expected = sign(secret, msg_id, timestamp, body).encode()
    if not any(
        hmac.compare_digest(expected, candidate.encode())
        for candidate in signatures.split()
        if candidate.startswith("v1,")
    ):
        raise WebhookVerificationError("no webhook-signature matches the secret")
    try:
        event = WebhookEvent.model_validate_json(body)
    except PydanticValidationError as exc:
        raise WebhookVerificationError("the signed body is not a mediajobs event") from exc
    event.webhook_id = msg_id
    return event


class Webhooks:
    """``client.webhooks``: the same verification, bound to an optional default secret."""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret

    def verify(
        self,
        body: bytes | str,
        headers: Mapping[str, str],
        secret: str | None = None,
        *,
        tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    ) -> WebhookEvent:
        key = secret or self.secret
        if key is None:
            raise WebhookVerificationError("no webhook secret given")
        return verify(body, headers, key, tolerance_seconds=tolerance_seconds)
