"""The Idempotency-Key header: 1 to 255 printable ASCII characters, or a 400 that says so."""

from __future__ import annotations

import pytest

from mediajobs.api.errors import ApiError
from mediajobs.api.idempotency import idempotency_key


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "9b2f6c1e-6f0e-4f3a-9a53-2d1c1f1e4b7a",
        "k" * 255,
        "order 1234, retry #2",
        "~!@#$%^&*()_+{}|:<>?",
    ],
    ids=["one-char", "uuid", "255-chars", "spaces-and-comma", "punctuation"],
)
def test_given_a_well_formed_key_when_read_then_it_is_returned_unchanged(key: str) -> None:
    assert idempotency_key({"idempotency-key": key}) == key


def test_given_no_key_header_when_read_then_none() -> None:
    assert idempotency_key({"content-type": "application/json"}) is None


def test_given_the_header_in_another_case_when_read_then_it_is_found() -> None:
    assert idempotency_key({"Idempotency-Key": "abc"}) == "abc"


@pytest.mark.parametrize(
    "key",
    ["", "   ", "k" * 256, "tab\there", "new\nline", "caf\u00e9", "del\x7f", "\u2603"],
    ids=["empty", "blank", "256-chars", "tab", "newline", "non-ascii", "delete-char", "snowman"],
)
def test_given_a_malformed_key_when_read_then_400_invalid_idempotency_key(key: str) -> None:
    with pytest.raises(ApiError) as refused:
        idempotency_key({"idempotency-key": key})

    assert (refused.value.status, refused.value.code) == (400, "invalid_idempotency_key")
    assert "255 printable" in refused.value.message
