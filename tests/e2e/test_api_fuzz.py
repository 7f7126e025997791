"""Property-based fuzzing of every API and provider webhook route of the local stack.

Hypothesis draws a route of the template (the client API's and the provider webhooks'; not the
console's static pages), path parameters, a query string, headers (content type, API key, random
others) and a body: random JSON (deep nesting, huge numbers, NaN), random bytes, or JSON so deep a
recursive parser gives up. Whatever it sends, the answer is never a 5xx, and every error is our
envelope: JSON ``{"error": {"code", "message", "request_id"}}``.

Bounded: a fixed number of examples, derandomized (CI draws the same requests every time), sizes
below what the local HTTP front refuses itself (its own 413/431 are not the API's answers).
"""

from __future__ import annotations

import json
import string
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local.stack import LocalStack

EXAMPLES = 400
#: routes served by the API and webhook functions (the console's pages are static files)
FUZZED_FUNCTIONS = frozenset({"ApiFunction", "ProviderWebhookFunction"})
PATH_SAFE = string.ascii_letters + string.digits + "-._~"
#: headers httpx or the HTTP framing own: changing them makes a broken request, not a hostile one
FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection", "expect", "upgrade"})


@dataclass
class Tally:
    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)


@pytest.fixture(scope="module")
def fuzz_key(stack: LocalStack) -> str:
    key = f"fuzz-{uuid.uuid4().hex}"
    stack.add_api_key(key, f"tenant-{key}")
    return key


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    counted = Tally()
    yield counted
    elapsed = time.monotonic() - counted.started
    print(
        f"\nfuzz: {counted.cases} cases in {elapsed:.1f} s; statuses {dict(sorted(counted.statuses.items()))}"
    )


def routes(stack: LocalStack) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in stack.template.routes if r.function in FUZZED_FUNCTIONS]


path_params = st.one_of(
    # "." and ".." are dot segments: the client removes them, and the request goes elsewhere
    st.text(alphabet=PATH_SAFE, min_size=1, max_size=80).filter(lambda p: p not in {".", ".."}),
    st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    st.sampled_from(["prodvisual", "jogg", "creatify", "unknown", "0" * 32 + ".submit.1.x", "." * 5]),
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
job_like = st.fixed_dictionaries(
    {"provider": st.sampled_from(["prodvisual", "jogg", "creatify", "x"])},
    optional={"product": json_values, "options": json_values, "items": st.lists(json_values, max_size=3)},
)


def nested(depth: int, opener: str) -> bytes:
    closer = {"[": "]", '{"a":': "}"}[opener]
    inner = "1" if opener != "[" else ""
    return (opener * depth + inner + closer * depth).encode()


bodies = st.one_of(
    st.none(),
    json_values.map(lambda v: json.dumps(v).encode()),
    job_like.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=2048),
    st.builds(nested, st.integers(min_value=1, max_value=60_000), st.sampled_from(["[", '{"a":'])),
    st.integers(min_value=400, max_value=50_000).map(
        lambda n: b'{"provider": "prodvisual", "n": ' + b"7" * n + b"}"
    ),
    st.sampled_from(
        [b"NaN", b'{"a": Infinity}', b"1e999999", b"-", b'"\\ud800"', b"\xef\xbb\xbf{}", b"{" * 3]
    ),
)

header_names = st.text(alphabet=string.ascii_lowercase + "-", min_size=1, max_size=20).filter(
    lambda n: n not in FRAMING and n.strip("-")
)
header_values = st.text(alphabet=string.printable.strip() + " ", max_size=60).map(str.strip)
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "application/json-seq",
        "*/*",
        ";;;",
    ]
)


@st.composite
def requests(draw: st.DrawFn, available: list[tuple[str, str]], key: str) -> dict[str, object]:
    method, template_path = draw(st.sampled_from(available))
    path = template_path
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + draw(path_params) + path[end + 1 :]
    headers = draw(st.dictionaries(header_names, header_values, max_size=4))
    content_type = draw(content_types)
    if content_type is not None:
        headers["content-type"] = content_type
    auth = draw(st.sampled_from(["valid", "valid", "valid", "none", "garbage"]))
    if auth == "valid":
        headers["authorization"] = f"Bearer {key}"
    elif auth == "garbage":
        headers["authorization"] = draw(header_values)
    query = draw(
        st.dictionaries(
            st.sampled_from(["limit", "cursor", "status", "provider", "job", "x"]), header_values, max_size=3
        )
    )
    return {"method": method, "url": path, "headers": headers, "params": query, "content": draw(bodies)}


def test_given_anything_at_any_route_when_answered_then_never_5xx_and_errors_are_our_envelope(
    stack: LocalStack, fuzz_key: str, tally: Tally
) -> None:
    available = routes(stack)
    assert {path for _, path in available} >= {"/v1/jobs", "/v1/webhooks/{provider}", "/p/{token}"}
    http = httpx.Client(base_url=stack.api_url, timeout=30.0)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(request=requests(available, fuzz_key))
    def check(request: dict[str, object]) -> None:
        answer = http.request(**request)  # type: ignore[arg-type]
        tally.cases += 1
        tally.statuses[answer.status_code] = tally.statuses.get(answer.status_code, 0) + 1
        where = f"{request['method']} {request['url']} -> {answer.status_code}: {answer.text[:300]}"
        assert answer.status_code < 500, where
        if answer.status_code >= 400:
            assert answer.headers["content-type"].startswith("application/json"), where
            error = answer.json()["error"]
            assert isinstance(error["code"], str), where
            assert error["code"], where
            assert isinstance(error["message"], str), where
            assert error["message"], where
            assert error["request_id"], where

    try:
        check()
    finally:
        http.close()
    assert tally.cases >= EXAMPLES
