"""API keys: ``Authorization: Bearer <key>``; keys are stored as SHA-256 hashes, never in plain text."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from mediajobs.jobs.store import JobStore

BEARER = "bearer "
#: a key's id: the first hex digits of its SHA-256 (not secret; whoever holds the key can compute it)
KEY_ID_LENGTH = 12


@dataclass(frozen=True)
class ApiCaller:
    """Who sent a request: the key's tenant and the key's id (budgets may be set per key)."""

    tenant_id: str
    key_id: str


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith(BEARER):
        return None
    token = authorization[len(BEARER) :].strip()
    return token or None


class Authenticator:
    """Resolves an Authorization header to its tenant and key id, with a short in-container cache."""

    def __init__(self, store: JobStore, *, cache_seconds: float = 60.0) -> None:
        self._store = store
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiCaller | None]] = {}
        self._lock = threading.Lock()

    def tenant_for(self, authorization: str | None) -> str | None:
        caller = self.caller_for(authorization)
        return caller.tenant_id if caller else None

    def caller_for(self, authorization: str | None) -> ApiCaller | None:
        token = bearer_token(authorization)
        if token is None or len(token) > 256:
            return None
        key_hash = hash_api_key(token)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key_hash)
        if cached and cached[0] > now:
            return cached[1]
        owner = self._store.key_owner(key_hash)
        # a key recorded without its id (set up before ids were stored) has the id it would get now
        caller = ApiCaller(owner[0], owner[1] or key_hash[:KEY_ID_LENGTH]) if owner else None
        with self._lock:
            self._cache[key_hash] = (now + self._cache_seconds, caller)
        return caller
