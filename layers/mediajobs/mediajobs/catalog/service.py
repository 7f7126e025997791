"""The provider catalog: what each provider can do, its option schemas, ProdVisual's styles, credits.

Capabilities are ours (what mediajobs runs for a provider), not read from the provider. The styles
list and the credits are the provider's answers passed through in our own shape; the styles list
changes rarely and is kept for ``styles_ttl_seconds`` in the container. A provider that fails
answers 503 (worth retrying) or 502 (mediajobs' credentials or the provider's answer are wrong),
never 500.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from mediajobs.catalog.models import (
    CreditsView,
    ProvidersView,
    ProviderView,
    PurchaseView,
    RegenerateSupport,
    StylesView,
    StyleView,
)
from mediajobs.errors import (
    DomainError,
    ErrorKind,
    ProviderError,
    ServiceUnavailableError,
    UnknownResourceError,
    UpstreamError,
)
from mediajobs.jobs.actions import REGENERATE_FIELDS
from mediajobs.jobs.progress import STAGES
from mediajobs.observability import logger
from mediajobs.providers.base import OutputKind, ProviderAdapter, ProviderName
from mediajobs.providers.prodvisual import ProdVisualAdapter
from mediajobs.providers.registry import OPTIONS_MODELS

STYLES_URL = "/v1/providers/prodvisual/styles"
DEFAULT_STYLES_TTL_SECONDS = 600.0

_DESCRIPTIONS: dict[ProviderName, tuple[str, str]] = {
    ProviderName.CREATIFY: (
        "Creatify",
        "Product-to-video: a preview image from the product image, then a short product video.",
    ),
    ProviderName.JOGG: (
        "JoggAI",
        "An avatar, voice and script video from a product page or product details.",
    ),
    ProviderName.PRODVISUAL: (
        "ProdVisual",
        "Styled product shots (PNG, JPEG, WebP) for Amazon, Etsy, Shopify and other platforms.",
    ),
}
_OUTPUTS: dict[ProviderName, list[OutputKind]] = {
    ProviderName.CREATIFY: [OutputKind.PREVIEW, OutputKind.VIDEO],
    ProviderName.JOGG: [OutputKind.VIDEO, OutputKind.PREVIEW],
    ProviderName.PRODVISUAL: [OutputKind.IMAGE],
}
_REGENERATE: dict[ProviderName, str] = {
    ProviderName.CREATIFY: (
        "exactly one of image_prompt (a new preview image, then its video unless the source stopped "
        "after the image) and video_prompt (a new video from the source's video)"
    ),
    ProviderName.JOGG: "script_style and/or override_script: a new video of the source's product",
    ProviderName.PRODVISUAL: "style and optionally the other options: a new generation of the product image",
}
_SIGNING: dict[ProviderName, str] = {
    ProviderName.CREATIFY: "none: the callback URL carries a per-job secret and the task is re-fetched",
    ProviderName.JOGG: "HMAC-SHA256 of the raw body, hex, in X-Webhook-Signature",
    ProviderName.PRODVISUAL: (
        "HMAC-SHA256 of the raw body keyed with the API key, hex, in X-ProdVisual-Signature"
    ),
}
#: providers whose documents have a credits endpoint
_CREDITS = frozenset({ProviderName.PRODVISUAL})


def provider_views() -> ProvidersView:
    return ProvidersView(
        providers=[
            ProviderView(
                provider=provider,
                name=_DESCRIPTIONS[provider][0],
                description=_DESCRIPTIONS[provider][1],
                stages=list(STAGES[provider]),
                output_kinds=_OUTPUTS[provider],
                regenerate=RegenerateSupport(
                    supported=True,
                    fields=list(REGENERATE_FIELDS[provider]),
                    description=_REGENERATE[provider],
                ),
                continue_to_video=provider is ProviderName.CREATIFY,
                webhook_signing=_SIGNING[provider],
                credits=provider in _CREDITS,
                styles_url=STYLES_URL if provider is ProviderName.PRODVISUAL else None,
                options_schema=OPTIONS_MODELS[provider].model_json_schema(),
            )
            for provider in ProviderName
        ]
    )


class ProviderCatalog:
    def __init__(
        self,
        adapters: Callable[[ProviderName], ProviderAdapter],
        *,
        styles_ttl_seconds: float = DEFAULT_STYLES_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._adapters = adapters
        self._ttl = styles_ttl_seconds
        self._monotonic = monotonic
        self._clock = clock
        self._lock = threading.Lock()
        self._styles: tuple[float, StylesView] | None = None
        self._providers = provider_views()

    def providers(self) -> ProvidersView:
        return self._providers

    def prodvisual_styles(self) -> tuple[StylesView, int]:
        """ProdVisual's styles and for how many more seconds this copy is kept."""
        with self._lock:
            cached = self._styles
            now = self._monotonic()
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1], max(0, int(self._ttl - (now - cached[0])))
        answer = _call(ProviderName.PRODVISUAL, lambda: self._prodvisual().styles())
        view = StylesView(
            provider=ProviderName.PRODVISUAL,
            styles=[StyleView(id=s.id, name=s.name, description=s.description) for s in answer.styles],
            total=answer.total,
            fetched_at=self._clock(),
        )
        with self._lock:
            self._styles = (self._monotonic(), view)
        return view, int(self._ttl)

    def known_style_ids(self) -> frozenset[str] | None:
        """The ids of ProdVisual's styles (cached), or None when the provider cannot say right now."""
        try:
            styles, _ = self.prodvisual_styles()
        except DomainError as exc:
            logger.warning("ProdVisual's styles are unknown right now: not checked", extra={"code": exc.code})
            return None
        return frozenset(s.id for s in styles.styles)

    def credits(self, provider: str) -> CreditsView:
        try:
            name = ProviderName(provider)
        except ValueError:
            known = ", ".join(p.value for p in ProviderName)
            raise UnknownResourceError(
                "unknown_provider", f"there is no provider {provider[:64]!r}; use one of: {known}"
            ) from None
        if name not in _CREDITS:
            raise UnknownResourceError(
                "not_supported",
                f"{_DESCRIPTIONS[name][0]} has no credits endpoint in its API; "
                "see the balance in its dashboard",
            )
        answer = _call(name, lambda: self._prodvisual().credits())
        purchase = answer.last_purchase
        return CreditsView(
            provider=name,
            credits_remaining=answer.credits_remaining,
            credits_used_total=answer.credits_used_total,
            credits_used_today=answer.credits_used_today,
            last_purchase=PurchaseView(amount=purchase.amount, date=purchase.date) if purchase else None,
        )

    def _prodvisual(self) -> ProdVisualAdapter:
        adapter = self._adapters(ProviderName.PRODVISUAL)
        if not isinstance(adapter, ProdVisualAdapter):
            raise TypeError(f"the ProdVisual adapter is a {type(adapter).__name__}")
        return adapter


def _call[T](provider: ProviderName, call: Callable[[], T]) -> T:
    """``call()`` with provider and credential failures as 502/503 answers."""
    label = _DESCRIPTIONS[provider][0]
    try:
        return call()
    except ProviderError as exc:
        logger.warning(
            "provider catalog call failed",
            extra={"provider": provider.value, "kind": exc.kind.value, "provider_code": exc.provider_code},
        )
        if exc.retryable:
            raise ServiceUnavailableError(
                "provider_unavailable", f"{label} is not answering right now; retry shortly"
            ) from exc
        if exc.kind in {ErrorKind.UNAUTHORIZED, ErrorKind.FORBIDDEN}:
            raise UpstreamError(
                "provider_auth_failed",
                f"{label} refused mediajobs' credentials; the operator must fix them",
            ) from exc
        raise UpstreamError(
            "provider_error", f"{label} answered an error: {exc.provider_message[:200]}"
        ) from exc
    except (GetParameterError, TransformParameterError, KeyError, TypeError) as exc:
        # the provider secret is missing, unreadable or lacks a key: an operator problem
        logger.error(
            "provider credentials unavailable",
            extra={"provider": provider.value, "error": type(exc).__name__},
        )
        raise ServiceUnavailableError(
            "provider_unavailable", f"mediajobs cannot reach {label} right now; retry later"
        ) from exc
