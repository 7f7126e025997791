"""ProdVisual styles are checked at the door: a job with a style the provider does not list is
refused with 422 ``unknown_style`` naming the valid ones, before any record is written.

The list is the provider's own (``GET /v1/styles``, cached by the catalog). When it cannot be read
right now, the style is not checked here: the job is accepted and the provider's answer decides,
as it would without this check.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from mediajobs.errors import Problem, ValidationFailedError

#: the provider's style ids, or None when they cannot be read right now
StyleList = Callable[[], Collection[str] | None]


def unchecked() -> Collection[str] | None:
    """No style list: every style is left to the provider."""
    return None


def check_style(style: str, known: Collection[str] | None, *, path: str = "options.style") -> None:
    """Raise ``unknown_style`` (422) when ``known`` is a list and ``style`` is not on it."""
    if known is None or style in known:
        return
    valid = ", ".join(sorted(known))
    problem = f"{style[:64]!r} is not a ProdVisual style; use one of: {valid}"
    raise ValidationFailedError(
        "unknown_style",
        f"{path} {problem} (GET /v1/providers/prodvisual/styles lists them)",
        [Problem(path, problem)],
    )
