"""JoggAdapter.start with start_from: a new video of an existing product, no product stage."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from mediajobs.errors import ErrorKind, PermanentProviderError
from mediajobs.providers.base import ProductInput, StartFrom, StartKind, StartRequest, TaskState
from mediajobs.providers.http import NO_RETRY
from mediajobs.providers.jogg import JoggAdapter
from mediajobs.providers.jogg.models import JoggOptions, ScriptStyle

PRODUCT_ID = "NTIzMzc0NjI5"
VIDEO_ID = "OTg3NjU0MzIx"


@dataclass
class ScriptedJogg:
    seen: list[tuple[str, str, Any]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path, json.loads(request.content or b"null")))
        data = {"video_id": VIDEO_ID, "status": "processing"}
        return httpx.Response(200, json={"code": 0, "msg": "Success", "data": data})


def start(jogg: ScriptedJogg, kind: StartKind, options: JoggOptions) -> Any:
    adapter = JoggAdapter(
        "https://api.jogg.test", "k", "s", retry=NO_RETRY, transport=httpx.MockTransport(jogg)
    )
    return adapter.start(
        StartRequest(
            product=ProductInput(page_url="https://shop.example/p"),
            options=options,
            webhook_url="https://hooks.test/j",
            start_from=StartFrom(kind=kind, source_task_id=PRODUCT_ID),
        )
    )


def test_given_a_render_start_when_started_then_only_the_video_of_that_product_is_created() -> None:
    jogg = ScriptedJogg()

    task = start(
        jogg, StartKind.RENDER, JoggOptions(script_style=ScriptStyle.DISCOVERY, override_script="Hi.")
    )

    [(method, path, body)] = jogg.seen
    assert (method, path) == ("POST", "/v2/create_video_from_product")
    assert body["product_id"] == PRODUCT_ID
    assert body["script"]["style"] == "Discovery"
    assert body["override_script"] == "Hi."
    assert body["webhook_url"] == "https://hooks.test/j"
    assert (task.stage, task.task_id, task.state) == ("video", VIDEO_ID, TaskState.RUNNING)


@pytest.mark.parametrize("kind", [StartKind.REGEN_IMAGE, StartKind.REGEN_VIDEO, StartKind.GEN_VIDEO])
def test_given_a_creatify_start_when_started_then_it_is_refused_without_a_call(kind: StartKind) -> None:
    jogg = ScriptedJogg()

    with pytest.raises(PermanentProviderError) as refused:
        start(jogg, kind, JoggOptions())

    assert refused.value.kind is ErrorKind.BAD_REQUEST
    assert refused.value.provider_code == "unsupported_start"
    assert jogg.seen == []
