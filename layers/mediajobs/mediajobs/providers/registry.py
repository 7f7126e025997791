"""Which adapter and options model serve each provider, built from settings and Secrets Manager.

Provider credentials live in Secrets Manager (JSON secrets, ARNs in the settings) and are read
through Powertools parameters with caching, so a rotated key is picked up within
``secrets_max_age_seconds`` without a redeploy. Adapters (and their HTTP clients) are reused
for as long as the credentials stay the same. Every request they send passes the shared rate
limiter first (:mod:`mediajobs.ratelimit`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from aws_lambda_powertools.utilities import parameters
from pydantic import BaseModel

from mediajobs.config import Settings
from mediajobs.providers.base import ProviderAdapter, ProviderName
from mediajobs.providers.creatify import CreatifyAdapter, CreatifyOptions
from mediajobs.providers.jogg import JoggAdapter, JoggOptions
from mediajobs.providers.prodvisual import ProdVisualAdapter, ProdVisualOptions
from mediajobs.ratelimit import SharedRateLimiter

OPTIONS_MODELS: Mapping[ProviderName, type[BaseModel]] = {
    ProviderName.CREATIFY: CreatifyOptions,
    ProviderName.JOGG: JoggOptions,
    ProviderName.PRODVISUAL: ProdVisualOptions,
}

SecretReader = Callable[[str, int], Mapping[str, Any]]


def read_secret(arn: str, max_age: int) -> Mapping[str, Any]:
    value = parameters.get_secret(arn, transform="json", max_age=max_age)
    if not isinstance(value, Mapping):
        raise TypeError("provider secret must be a JSON object")
    return value


def _str(secret: Mapping[str, Any], key: str) -> str:
    value = secret.get(key)
    if not isinstance(value, str) or not value:
        raise KeyError(f"provider secret has no {key!r}")
    return value


class ProviderRegistry:
    """Hands out one adapter per provider, rebuilt only when its credentials change."""

    def __init__(
        self,
        settings: Settings,
        secret_reader: SecretReader = read_secret,
        limiter: SharedRateLimiter | None = None,
    ) -> None:
        self._settings = settings
        self._read = secret_reader
        self._limiter = limiter
        self._lock = threading.Lock()
        self._cache: dict[ProviderName, tuple[tuple[str, ...], ProviderAdapter]] = {}

    def adapter(self, provider: ProviderName) -> ProviderAdapter:
        credentials = self._credentials(provider)
        with self._lock:
            cached = self._cache.get(provider)
            if cached and cached[0] == credentials:
                return cached[1]
            adapter = self._build(provider, credentials)
            if cached:
                cached[1].close()
            self._cache[provider] = (credentials, adapter)
            return adapter

    def _credentials(self, provider: ProviderName) -> tuple[str, ...]:
        s = self._settings
        if provider is ProviderName.CREATIFY:
            secret = self._read(s.creatify_secret_arn, s.secrets_max_age_seconds)
            return (_str(secret, "api_id"), _str(secret, "api_key"))
        if provider is ProviderName.JOGG:
            secret = self._read(s.jogg_secret_arn, s.secrets_max_age_seconds)
            return (_str(secret, "api_key"), _str(secret, "webhook_secret"))
        secret = self._read(s.prodvisual_secret_arn, s.secrets_max_age_seconds)
        return (_str(secret, "api_key"),)

    def _build(self, provider: ProviderName, credentials: tuple[str, ...]) -> ProviderAdapter:
        s = self._settings
        gate = self._limiter.gate(provider.value) if self._limiter is not None else None
        timeout = httpx.Timeout(s.provider_timeout_seconds, connect=5.0)
        if provider is ProviderName.CREATIFY:
            return CreatifyAdapter(
                s.creatify_base_url, credentials[0], credentials[1], timeout=timeout, before_request=gate
            )
        if provider is ProviderName.JOGG:
            return JoggAdapter(
                s.jogg_base_url, credentials[0], credentials[1], timeout=timeout, before_request=gate
            )
        return ProdVisualAdapter(s.prodvisual_base_url, credentials[0], timeout=timeout, before_request=gate)
