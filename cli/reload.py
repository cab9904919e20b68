"""What a ``reload`` changed: elements added, removed, and changed (fields, handler methods)."""

from __future__ import annotations

from typing import Any


def describe_changes(old: Any, new: Any) -> list[str]:
    """Lines saying which elements the reload added, removed or changed."""
    lines = []
    for kind in ("aggregates", "events", "event_handlers"):
        before, after = getattr(old.registry, kind), getattr(new.registry, kind)
        label = kind.replace("_", " ").rstrip("s")
        for name in after.keys() - before.keys():
            lines.append(f"+ {label} {name}")
        for name in before.keys() - after.keys():
            lines.append(f"- {label} {name}")
    for name, handler in new.registry.event_handlers.items():
        previous = old.registry.event_handlers.get(name)
        if previous is not None and previous._handlers != handler._handlers:
            lines.append(f"~ event handler {name}: methods {sorted(handler._handlers.items())}")
    return lines or ["reloaded; no elements added or removed"]
