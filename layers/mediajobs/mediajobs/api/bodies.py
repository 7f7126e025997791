"""Request bodies read without letting their size or shape escape the error handling.

``json.loads`` recurses once per nesting level: a body of 100,000 ``[`` raises ``RecursionError``
deep inside the parser, which no JSON error handler expects. So a body is checked, in this order,
before it is parsed:

1. its size, against :data:`MAX_BODY_BYTES` (413 ``body_too_large``);
2. its nesting depth, by a scan that does not recurse (:func:`nesting_depth`), against
   :data:`MAX_JSON_DEPTH` (400 ``malformed_json``: no body mediajobs accepts nests that deep);
3. then ``json.loads``, with ``NaN``/``Infinity`` and numbers beyond a float refused, and Python's
   own "too many digits" ``ValueError`` turned into a JSON error (400 ``malformed_json``).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from mediajobs.api.errors import ApiError

#: the largest request body the API and the webhook receiver read (below Lambda's 6 MB payload)
MAX_BODY_BYTES = 5 * 1024 * 1024
#: arrays and objects inside each other; the deepest valid request nests 5 levels
MAX_JSON_DEPTH = 32

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")


class BodyTooLargeError(ApiError):
    def __init__(self, limit: int = MAX_BODY_BYTES) -> None:
        super().__init__(413, "body_too_large", f"request bodies are limited to {limit} bytes")


class MalformedJsonError(ApiError):
    def __init__(self, reason: str = "the request body is not valid JSON") -> None:
        super().__init__(400, "malformed_json", reason)


def nesting_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``text`` nests arrays and objects deeper than ``limit`` (or cannot be balanced).

    Strings are removed first (brackets inside them do not count), then every round removes the
    innermost empty pairs: a document ``limit`` deep is empty after ``limit`` rounds. Each round
    is one linear pass in C; nothing recurses. Unbalanced brackets count as too deep: such a
    text is not JSON either way.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_A_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(limit):
        if not brackets:
            return False
        reduced = _EMPTY_PAIR.sub("", brackets)
        if reduced == brackets:
            return True
        brackets = reduced
    return bool(brackets)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def check_body_size(data: bytes | str, limit: int = MAX_BODY_BYTES) -> None:
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise BodyTooLargeError(limit)


def parse_json(text: str | bytes) -> Any:
    """The JSON document in ``text``, or :class:`BodyTooLargeError` / :class:`MalformedJsonError`."""
    check_body_size(text)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJsonError("the request body is not valid JSON (it is not UTF-8 text)") from exc
    if nesting_depth_exceeds(text):
        raise MalformedJsonError(f"the request body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except ValueError as exc:  # JSONDecodeError, and int()'s digit limit on a huge integer
        raise MalformedJsonError() from exc
