"""Finding elements by the names people type, and reading ``field=value`` arguments."""

from __future__ import annotations

import json
from typing import Any

from workbench.core._naming import suggestion
from workbench.core.exceptions import IncorrectUsageError
from workbench.core.fields import Dict, HasMany, HasOne, List, ValueObject


def pick(kind: str, name: str, options: dict[str, Any]) -> Any:
    """``options[name]`` (case-insensitively), or an error suggesting close names."""
    if name in options:
        return options[name]
    lowered = {k.lower(): v for k, v in options.items()}
    if name.lower() in lowered:
        return lowered[name.lower()]
    hint = suggestion(name, list(options), known=f" (known: {', '.join(options) or 'none'})", most=3, cutoff=0.5)
    raise IncorrectUsageError(f"unknown {kind} `{name}`{hint}")


def event_class(domain: Any, name: str) -> Any:
    """An event class by class name or type string."""
    found = domain.event_class(name)
    if found is not None and found.meta_.kind == "EVENT":  # the lookup also knows commands
        return found
    if found is not None:
        raise IncorrectUsageError(f"`{name}` is a command, not an event: `send {name} field=value ...` processes it")
    return pick("event", name, domain.registry.events)


def aggregate_class(domain: Any, name: str) -> Any:
    """An aggregate class by class name."""
    return pick("aggregate", name, domain.registry.aggregates)


def stored_class(domain: Any, name: str) -> Any:
    """An aggregate or projection class by name (both are stored and can be shown)."""
    return pick("aggregate or projection", name, {**domain.registry.aggregates, **domain.registry.projections})


def aggregate_methods(cls: Any) -> dict[str, Any]:
    """The public methods a person may ``call`` on an aggregate (not the framework's own)."""
    framework = {"raise_", "to_dict", "stream_name"}
    return {
        name: getattr(cls, name)
        for name in dir(cls)
        if not name.startswith("_") and name not in framework and callable(getattr(cls, name))
    }


def assignments(element: Any, pairs: list[str]) -> dict[str, Any]:
    """``["quantity=3", "tags=[1,2]", "address.city=Pune"]`` as keyword arguments for ``element``.

    Values stay strings (fields coerce them, as Protean does), except for list, dict and
    value object fields, which take JSON. A dotted name sets one field inside a value
    object field (``address.city=Pune``), at any depth.
    """
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise IncorrectUsageError(f"expected field=value, got `{pair}`")
        _assign(element, values, name.split("."), raw, name)
    return values


def _assign(element: Any, values: dict[str, Any], path: list[str], raw: str, full: str) -> None:
    fields = element.meta_.fields
    name = path[0]
    if name not in fields:
        pick(f"field of {element.__name__}", name, fields)
    field = fields[name]
    if len(path) > 1:
        if not isinstance(field, (ValueObject, HasOne)):
            raise IncorrectUsageError(f"`{full}`: field `{name}` of {element.__name__} has no fields inside it")
        inner = values.setdefault(name, {})
        if not isinstance(inner, dict):
            raise IncorrectUsageError(f"field `{name}` is given twice; give each field once")
        _assign(field.nested_cls, inner, path[1:], raw, full)
        return
    if name in values:
        raise IncorrectUsageError(f"field `{full}` is given twice; give each field once")
    if isinstance(field, (List, Dict, ValueObject, HasOne, HasMany)):
        try:
            values[name] = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise IncorrectUsageError(f"{full}: expected JSON ({exc.msg}), got `{raw}`") from None
        except RecursionError:
            raise IncorrectUsageError(f"{full}: the JSON value is nested too deeply") from None
    else:
        values[name] = None if raw == "" else raw


def call_arguments(args: list[str]) -> tuple[list[Any], dict[str, Any]]:
    """Method arguments: ``name=value`` become keywords; values are JSON when they parse."""

    def value(raw: str) -> Any:
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw

    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for arg in args:
        name, sep, raw = arg.partition("=")
        if sep and name.isidentifier():
            keywords[name] = value(raw)
        else:
            positional.append(value(arg))
    return positional, keywords


def known_categories(domain: Any) -> list[str]:
    """Categories the domain declares (aggregates, handler subscriptions) or the store holds."""
    names: dict[str, None] = {}
    for cls in domain.registry.aggregates.values():
        if cls.meta_.stream_category:
            names[cls.meta_.stream_category] = None
    for consumer in domain.registry.consumers:
        for category in getattr(consumer.meta_, "stream_categories", None) or ():
            if category != "$all":
                names[category] = None
    for category in domain.store.categories():
        names[category] = None
    return list(names)


def category_name(domain: Any, text: str, *, allow_all: bool = True) -> str:
    """A category as typed (``order``, ``shop::order``, ``all``/``$all``), checked against the known ones.

    ``all`` stands for ``$all`` because a POSIX shell expands ``$all`` to nothing.
    """
    if allow_all and text in ("$all", "all"):
        return "$all"
    name = domain.normalize_category(text)
    known = known_categories(domain)
    if name in known:
        return str(name)
    hint = suggestion(name, known, known=f" (known: {', '.join(known) or 'none'})", most=3, cutoff=0.5)
    if "-" in name and name.partition("-")[0] in known:
        hint = f"; `{name}` looks like a stream: give its category `{name.partition('-')[0]}`"
    raise IncorrectUsageError(f"unknown category `{text}`{hint}")
