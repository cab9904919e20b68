"""Invariants: rules an aggregate, value object or domain service checks around every change.

``@invariant.pre`` methods run before a field of an aggregate changes (and before a
domain service method runs); ``@invariant.post`` methods run after it, and after an
aggregate or value object is built. A failing invariant raises one
:class:`~workbench.core.exceptions.ValidationError` holding every failing rule's
messages, and an aggregate whose post-check failed gets back the value it had, so what
the user sees (and what a later save writes) is never a state that broke a rule.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from workbench.core.exceptions import IncorrectUsageError, ValidationError

_STAGES = ("pre", "post")
Invariants = dict[str, tuple[Callable[[Any], Any], ...]]


class _Invariant:
    """``invariant.pre`` / ``invariant.post``: mark a method as an invariant of that stage."""

    @staticmethod
    def _mark(stage: str, method: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(method):
            raise IncorrectUsageError(f"@invariant.{stage} decorates a method, not {method!r}")
        method._invariant = stage  # type: ignore[attr-defined]
        return method

    def pre(self, method: Callable[..., Any]) -> Callable[..., Any]:
        """Run ``method`` before each change."""
        return self._mark("pre", method)

    def post(self, method: Callable[..., Any]) -> Callable[..., Any]:
        """Run ``method`` after each change."""
        return self._mark("post", method)

    def __repr__(self) -> str:
        return "<invariant: .pre / .post>"


invariant = _Invariant()


def collect_invariants(cls: type) -> Invariants:
    """The invariant methods of ``cls`` and its bases, by stage, in definition order.

    A subclass redefining a method replaces its base's version, as Python would.
    """
    found: dict[str, dict[str, Callable[[Any], Any]]] = {stage: {} for stage in _STAGES}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            stage = getattr(value, "_invariant", None)
            for bucket in found.values():
                bucket.pop(name, None)
            if stage in found:
                found[stage][name] = value
    return {stage: tuple(methods.values()) for stage, methods in found.items() if methods}


def check(instance: Any, invariants: Invariants, stage: str) -> None:
    """Run every ``stage`` invariant on ``instance``; raise one error holding all their messages.

    Raises:
        ValidationError: at least one invariant failed.
    """
    methods = invariants.get(stage)
    if not methods:
        return
    errors: dict[str, list[str]] = {}
    for method in methods:
        try:
            method(instance)
        except ValidationError as exc:
            for name, messages in exc.messages.items():
                errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def guarded_set(instance: Any, name: str, value: Any, guards: list[tuple[Any, Invariants]]) -> None:
    """Set field ``name`` of ``instance``, running each ``(owner, invariants)`` pre-check before and
    post-check after; when a post-check fails, the field gets back the value it had.

    Raises:
        ValidationError: the value is invalid, or an invariant failed.
    """
    for owner, rules in guards:
        check(owner, rules, "pre")
    values = instance.__dict__
    before = values.get(name)
    instance._validated_set(name, value)
    try:
        for owner, rules in guards:
            check(owner, rules, "post")
    except ValidationError:
        # The rule holds again: the owner keeps the value it had.
        values[name] = before
        raise


def _field_values(instance: Any) -> dict[str, Any]:
    """The field values of ``instance``, lists and dicts copied so in-place changes can be undone."""
    values = {}
    for name in instance.meta_.fields:
        value = instance.__dict__.get(name)
        if isinstance(value, (list, dict)):
            value = _copy(value)
        values[name] = value
    return values


def _copy(value: Any) -> Any:
    # Containers are copied down to their items; entities and other objects are kept as
    # they are (an entity keeps its identity, and the aggregate it is attached to).
    if isinstance(value, list):
        return [_copy(item) for item in value]
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value


@contextlib.contextmanager
def atomic_change(aggregate: Any) -> Iterator[Any]:
    """Change several fields of ``aggregate`` with its invariants checked once, at the end.

    Pre-invariants run on entry; inside the block a field may pass through states that
    break a rule; post-invariants run on exit. When they fail (or the block raises), the
    aggregate gets back the values it had on entry.

    Raises:
        ValidationError: an invariant failed on entry or on exit.
    """
    meta = getattr(aggregate, "meta_", None)
    invariants: Invariants = getattr(meta, "invariants", None) or {}
    check(aggregate, invariants, "pre")
    before = _field_values(aggregate)
    children = [(child, _field_values(child)) for child in _entities(aggregate)]
    values = aggregate.__dict__
    # Events raised inside the block are taken back with the changes they made.
    raised = {name: values[name] for name in ("_version", "_event_position") if name in values}
    events = list(values["_events"]) if isinstance(values.get("_events"), list) else None
    depth = values.get("_atomic", 0)
    values["_atomic"] = depth + 1

    def restore() -> None:
        values.update(before)
        values.update(raised)
        if events is not None:
            values["_events"][:] = events
        for child, fields in children:
            child.__dict__.update(fields)

    try:
        yield aggregate
    except BaseException:
        values["_atomic"] = depth
        restore()
        raise
    values["_atomic"] = depth
    if depth == 0:
        try:
            check(aggregate, invariants, "post")
        except ValidationError:
            restore()
            raise


def _entities(owner: Any) -> list[Any]:
    """Every entity inside ``owner`` (at any depth)."""
    found = []
    for name in owner.meta_.options.get("associations", ()):
        value = owner.__dict__.get(name)
        for child in value if isinstance(value, list) else ([value] if value is not None else []):
            found.append(child)
            found.extend(_entities(child))
    return found
