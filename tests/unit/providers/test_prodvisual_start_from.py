"""ProdVisualAdapter.start with start_from: refused, every generation starts from the product image."""

from __future__ import annotations

import httpx
import pytest

from mediajobs.errors import ErrorKind, PermanentProviderError
from mediajobs.providers.base import ProductInput, StartFrom, StartKind, StartRequest
from mediajobs.providers.http import NO_RETRY
from mediajobs.providers.prodvisual import ProdVisualAdapter, ProdVisualOptions


def test_given_a_start_from_when_started_then_it_is_refused_without_a_call() -> None:
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    adapter = ProdVisualAdapter(
        "https://api.prodvisual.test", "pv_test_key", retry=NO_RETRY, transport=httpx.MockTransport(answer)
    )
    request = StartRequest(
        product=ProductInput(image_url="https://shop.example/p.png"),
        options=ProdVisualOptions(style="lifestyle"),
        start_from=StartFrom(kind=StartKind.RENDER, source_task_id="gen_1"),
    )

    with pytest.raises(PermanentProviderError) as refused:
        adapter.start(request)

    assert refused.value.kind is ErrorKind.BAD_REQUEST
    assert calls == []
