"""List and Dict fields, and the field that a plain type annotation stands for."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from workbench.core.fields.base import MISSING, Field, FieldInvalid
from workbench.core.fields.simple import Boolean, Float, Integer, String
from workbench.core.fields.temporal import Date, DateTime


def _content_field(content_type: Any) -> Field | None:
    if content_type is None:
        return None
    if isinstance(content_type, Field):
        return content_type
    if isinstance(content_type, type) and issubclass(content_type, Field):
        return content_type()
    return python_type_field(content_type)


class List(Field):
    """A list; ``content_type`` (a field class or instance) validates every item."""

    json_type = "array"

    def __init__(self, content_type: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("default", list)
        super().__init__(**kwargs)
        self.content = _content_field(content_type)

    def _cast(self, value: Any) -> Any:
        if isinstance(value, (tuple, set, frozenset)):
            value = list(value)
        if not isinstance(value, list):
            raise FieldInvalid("Input should be a valid list")
        if self.content is None:
            return value
        cleaned = []
        for index, item in enumerate(value):
            try:
                cleaned.append(self.content.clean(item))
            except FieldInvalid as exc:
                raise FieldInvalid(f"item {index}: {exc.messages[0]}") from None
        return cleaned

    def as_json(self, value: Any) -> Any:
        if value is None or self.content is None:
            return value
        return [self.content.as_json(item) for item in value]

    def from_json(self, value: Any) -> Any:
        if value is None or self.content is None:
            return value
        return [self.content.from_json(item) for item in value]


class Dict(Field):
    """A JSON object (string keys)."""

    json_type = "object"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default", dict)
        super().__init__(**kwargs)

    def _cast(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise FieldInvalid("Input should be a valid dictionary")
        return value


_PYTHON_TYPES: dict[Any, type[Field]] = {
    str: String,
    int: Integer,
    float: Float,
    bool: Boolean,
    dict: Dict,
    list: List,
    _dt.date: Date,
    _dt.datetime: DateTime,
}


def python_type_field(annotation: Any, default: Any = MISSING) -> Field | None:
    """A field for a plain type annotation (``quantity: int``), or None if it has none.

    Without a default the field is required, as a Pydantic annotation would be.
    """
    field_cls = _PYTHON_TYPES.get(annotation)
    if field_cls is None or isinstance(default, Field):
        return None
    if default is MISSING:
        return field_cls(required=True)
    return field_cls(default=default)
