"""Listing cursors bound to the tenant they were made for (``/v1/jobs``, ``/v1/webhook-deliveries``).

A cursor is base64url JSON: a version, a tag of the tenant (a truncated SHA-256, so the tenant id
itself is not in it) and the listing position. Decoding checks the tag against the caller's tenant
and the position against the listing's key format, so another tenant's cursor, an edited one or an
unbound one from before is refused (the callers answer 400 ``invalid_cursor``) instead of moving
the caller's Query to a position another tenant's listing gave out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any

MAX_CURSOR_LENGTH = 512


def _tenant_tag(tenant_id: str) -> str:
    return hashlib.sha256(f"mediajobs-cursor:{tenant_id}".encode()).hexdigest()[:16]


def encode_cursor(tenant_id: str, position: str) -> str:
    """An opaque cursor: the listing position, bound to the tenant it was made for."""
    payload = json.dumps({"v": 1, "t": _tenant_tag(tenant_id), "k": position}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(tenant_id: str, cursor: str, *, position: re.Pattern[str]) -> str | None:
    """The position ``cursor`` names, or ``None`` when it is not one made for ``tenant_id``."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        return None
    try:
        payload: Any = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(payload, dict) or payload.get("v") != 1 or payload.get("t") != _tenant_tag(tenant_id):
        return None
    after = payload.get("k")
    if not isinstance(after, str) or not position.fullmatch(after):
        return None
    return after


__all__ = ["MAX_CURSOR_LENGTH", "decode_cursor", "encode_cursor"]
