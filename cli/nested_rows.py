"""An aggregate's entities and value objects as dotted rows (``lines.0.sku``) for ``show``."""

from __future__ import annotations

from typing import Any

from workbench.core.fields import HasMany, HasOne, ValueObject, ValueObjectList

_NESTED = (HasMany, HasOne, ValueObject, ValueObjectList)


def nested_fields(cls: Any) -> set[str]:
    """Names of ``cls``'s fields that hold entities or value objects."""
    return {name for name, field in cls.meta_.fields.items() if isinstance(field, _NESTED)}


def flatten(prefix: str, value: Any) -> list[list[Any]]:
    """``[[path, value], ...]`` for every leaf inside ``value``, paths as the CLI takes them."""
    if isinstance(value, dict) and value:
        return [row for key, inner in value.items() for row in flatten(f"{prefix}.{key}", inner)]
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return [row for index, item in enumerate(value) for row in flatten(f"{prefix}.{index}", item)]
    return [[prefix, value]]


def field_rows(cls: Any, doc: dict[str, Any]) -> list[list[Any]]:
    """One row per plain field; one per leaf of each entity or value object inside."""
    nested = nested_fields(cls)
    return [row for key, value in doc.items() for row in (flatten(key, value) if key in nested else [[key, value]])]
