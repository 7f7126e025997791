"""HMAC-SHA256 webhook signatures (ProdVisual, JoggAI): hex digest of the raw body."""

from __future__ import annotations

import hashlib
import hmac
import re

from mediajobs.errors import WebhookVerificationError

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign_hex(secret: str | bytes, body: bytes) -> str:
    """The lowercase hex HMAC-SHA256 of ``body`` under ``secret``."""
    return hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def verify_hex(secret: str | bytes, body: bytes, signature: str | None) -> None:
    """Raise ``WebhookVerificationError`` unless ``signature`` is the HMAC of ``body``.

    A ``sha256=`` prefix is accepted. The comparison is constant-time; a missing, empty or
    malformed header fails before any comparison.
    """
    if not secret:
        raise WebhookVerificationError("no webhook secret is configured")
    if signature is None or not signature.strip():
        raise WebhookVerificationError("signature header is missing")
    value = signature.strip()
    value = value.removeprefix("sha256=")
    if not _HEX_SHA256.fullmatch(value):
        raise WebhookVerificationError("signature header is not a hex SHA-256 digest")
    if not hmac.compare_digest(value.lower(), sign_hex(secret, body)):
        raise WebhookVerificationError("signature does not match the body")
