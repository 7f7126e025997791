"""API keys: ``Authorization: Bearer <key>``; keys are stored as SHA-256 hashes, never in plain text."""

from __future__ import annotations

import hashlib
import threading
import time

from mediajobs.jobs.store import JobStore

BEARER = "bearer "


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith(BEARER):
        return None
    token = authorization[len(BEARER) :].strip()
    return token or None


class Authenticator:
    """Resolves an Authorization header to a tenant id, with a short in-container cache."""

    def __init__(self, store: JobStore, *, cache_seconds: float = 60.0) -> None:
        self._store = store
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def tenant_for(self, authorization: str | None) -> str | None:
        token = bearer_token(authorization)
        if token is None or len(token) > 256:
            return None
        key_hash = hash_api_key(token)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key_hash)
        if cached and cached[0] > now:
            return cached[1]
        tenant = self._store.tenant_for_key(key_hash)
        with self._lock:
            self._cache[key_hash] = (now + self._cache_seconds, tenant)
        return tenant
