"""What a ``reload`` changed: elements added and removed, fields added, removed and changed, handler methods."""

from __future__ import annotations

from typing import Any

KINDS = ("aggregates", "events", "commands", "command_handlers", "event_handlers", "projections", "queries")


def _field_text(field: Any) -> str:
    describe = getattr(field, "describe", None)
    return str(describe()) if callable(describe) else type(field).__name__


def _field_changes(label: str, name: str, before: Any, after: Any) -> list[str]:
    old_fields = getattr(getattr(before, "meta_", None), "fields", {}) or {}
    new_fields = getattr(getattr(after, "meta_", None), "fields", {}) or {}
    lines = [f"~ {label} {name}: + field {f} ({_field_text(new_fields[f])})" for f in new_fields if f not in old_fields]
    lines += [f"~ {label} {name}: - field {f}" for f in old_fields if f not in new_fields]
    for f in new_fields:
        if f in old_fields and _field_text(old_fields[f]) != _field_text(new_fields[f]):
            lines.append(f"~ {label} {name}: field {f} {_field_text(old_fields[f])} -> {_field_text(new_fields[f])}")
    return lines


def describe_changes(old: Any, new: Any) -> list[str]:
    """Lines saying which elements the reload added, removed or changed."""
    lines = []
    for kind in KINDS:
        before, after = getattr(old.registry, kind, {}), getattr(new.registry, kind, {})
        label = kind.replace("_", " ").removesuffix("s").replace("querie", "query")
        lines += [f"+ {label} {name}" for name in after if name not in before]
        lines += [f"- {label} {name}" for name in before if name not in after]
        for name in after:
            if name in before:
                lines += _field_changes(label, name, before[name], after[name])
    for kind in ("event_handlers", "command_handlers"):
        label = kind.replace("_", " ").removesuffix("s")
        for name, handler in getattr(new.registry, kind, {}).items():
            previous = getattr(old.registry, kind, {}).get(name)
            if previous is not None and previous._handlers != handler._handlers:
                lines.append(f"~ {label} {name}: methods {sorted(handler._handlers.items())}")
    return lines or ["reloaded; nothing added, removed or changed"]
