"""Values JSON cannot hold, found and named before anything is written."""

from __future__ import annotations

import math
from typing import Any

from workbench.core.exceptions import ValidationError
from workbench.core.store.state import Op


def unstorable_value(ops: list[Op], exc: Exception) -> ValidationError:
    """A :class:`ValidationError` naming the field whose value JSON cannot hold.

    orjson refuses integers beyond 64 bits and nesting deeper than 254 levels; the
    offending field is found by walking the commit (only after such a failure).
    """
    for op in ops:
        docs = [op[1].get("data") or {}] if op[0] == "ev" else [op[3]] if op[0] == "put" else []
        for doc in docs:
            for name, value in doc.items():
                problem = _unstorable(value, 0)
                if problem:
                    return ValidationError({name: [problem]})
    return ValidationError({"value": [f"cannot be stored: {exc}"]})


def _unstorable(value: Any, depth: int) -> str | None:
    if depth > 250:
        return "is nested too deeply to store (at most 250 levels)"
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return "is beyond the 64-bit range that can be stored"
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            problem = _unstorable(item, depth + 1)
            if problem:
                return problem
    return None


# Document keys that come back from JSON as the same dict key (a tuple would come back a list).
_KEY_TYPES = frozenset({str, int, bool, type(None)})


def unusable_key(key: Any, label: str) -> ValidationError | None:
    """Why ``key`` cannot be a document key (None when it can), checked before a commit is written."""
    if type(key) in _KEY_TYPES or (type(key) is float and math.isfinite(key)):
        return None
    return ValidationError({"id": [f"{label} key {key!r} cannot be stored: use a string or a number"]})


def unusable_event_field(record: dict[str, Any], name: str) -> ValidationError:
    """The error for an event whose id, stream or category is not a string (the indexes hold strings)."""
    return ValidationError({name: [f"event {name} {record[name]!r} is not a string"]})
