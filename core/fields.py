"""Field types for aggregates and events, named as in ``protean.fields``.

A field cleans a raw value (coercing where Protean's Pydantic-backed fields coerce) and
returns it, or raises :class:`FieldInvalid` with a message in Protean's words. Fields
also convert values to and from the JSON the store keeps.
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "Auto",
    "Boolean",
    "Date",
    "DateTime",
    "Dict",
    "Field",
    "FieldInvalid",
    "Float",
    "Identifier",
    "Integer",
    "List",
    "String",
    "Text",
]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


# Types that are never enum members, so clean() can skip the isinstance check.
_PLAIN_TYPES = frozenset({str, int, float, bool, list, dict})


class FieldInvalid(Exception):
    """One field's value is not acceptable; ``messages`` lists why."""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = list(messages)


def _choice_text(values: list[Any]) -> str:
    shown = [repr(v) for v in values]
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " or " + shown[-1]


class Field:
    """Base of every field type.

    Args:
        required: a value must be given (``None`` counts as missing).
        default: a value, or a callable returning one, used when none is given.
        choices: the allowed values (a list, or an ``enum.Enum`` class).
        unique: the value identifies at most one aggregate (checked by repositories).
        identifier: this field is the aggregate's identity (no auto ``id`` is added).
        description: free text, shown by ``workbench info``.
        validators: extra callables ``fn(value)`` that raise ``ValueError`` to reject.
    """

    json_type = "string"

    def __init__(
        self,
        *,
        required: bool = False,
        default: Any = MISSING,
        choices: Iterable[Any] | type[enum.Enum] | None = None,
        unique: bool = False,
        identifier: bool = False,
        description: str | None = None,
        validators: Iterable[Callable[[Any], Any]] = (),
        referenced_as: str | None = None,
    ) -> None:
        self.required = required
        self.default = default
        self.unique = unique or identifier
        self.identifier = identifier
        self.description = description
        self.validators = list(validators)
        self.referenced_as = referenced_as
        self.name = ""
        if choices is None:
            self.choices: list[Any] | None = None
        elif isinstance(choices, type) and issubclass(choices, enum.Enum):
            self.choices = [member.value for member in choices]
        else:
            self.choices = list(choices)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        options = []
        if self.identifier:
            options.append("identifier=True")
        if self.required:
            options.append("required=True")
        if self.default is not MISSING:
            options.append(f"default={self.default!r}")
        if self.choices is not None:
            options.append(f"choices={self.choices!r}")
        return f"{type(self).__name__}({', '.join(options)})"

    def get_default(self) -> Any:
        """The default value, calling it when it is callable; ``None`` when there is none."""
        default = self.default
        if default is MISSING:
            return None
        if callable(default):
            return default()
        if isinstance(default, (list, dict, set)):
            return type(default)(default)
        return default

    def clean(self, value: Any) -> Any:
        """Return the cleaned value or raise :class:`FieldInvalid`.

        ``MISSING`` means no value was given, so the default applies.
        """
        if value is MISSING:
            value = self.get_default()
        if value is None:
            if self.required:
                raise FieldInvalid("is required")
            return None
        if type(value) not in _PLAIN_TYPES and isinstance(value, enum.Enum):
            value = value.value
        value = self._cast(value)
        if self.choices is not None and value not in self.choices:
            raise FieldInvalid(f"Input should be {_choice_text(self.choices)}")
        if self.validators:
            for validator in self.validators:
                try:
                    validator(value)
                except (ValueError, TypeError) as exc:
                    raise FieldInvalid(str(exc)) from None
        return value

    def _cast(self, value: Any) -> Any:
        return value

    def as_json(self, value: Any) -> Any:
        """The value as the store keeps it in JSON."""
        return value

    def from_json(self, value: Any) -> Any:
        """The inverse of :meth:`as_json`."""
        return value

    def describe(self) -> str:
        """A short description for the CLI, e.g. ``Integer(required)``."""
        flags = [name for name in ("identifier", "required", "unique") if getattr(self, name)]
        if self.choices is not None:
            flags.append("choices=" + "|".join(map(str, self.choices)))
        return f"{type(self).__name__}({', '.join(flags)})" if flags else type(self).__name__


class String(Field):
    """Text of bounded length (``max_length`` defaults to 255, as in Protean)."""

    def __init__(
        self,
        max_length: int = 255,
        min_length: int | None = None,
        sanitize: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        # A required string must not be empty, as in Protean.
        self.min_length = min_length if min_length is not None else (1 if self.required else None)

    def _cast(self, value: Any) -> Any:
        if type(value) is not str:
            if isinstance(value, str):
                value = str(value)
            else:
                raise FieldInvalid("Input should be a valid string")
        if self.max_length is not None and len(value) > self.max_length:
            raise FieldInvalid(f"String should have at most {self.max_length} characters")
        if self.min_length is not None and len(value) < self.min_length:
            unit = "character" if self.min_length == 1 else "characters"
            raise FieldInvalid(f"String should have at least {self.min_length} {unit}")
        return value


class Text(String):
    """Unbounded text."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", None)
        super().__init__(**kwargs)


class Identifier(Field):
    """An identity value: strings, and integers or UUIDs coerced to strings."""

    def __init__(
        self,
        identity_strategy: str | None = None,
        identity_function: Callable[[], Any] | None = None,
        identity_type: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.identity_function = identity_function

    def _cast(self, value: Any) -> Any:
        if type(value) is str:
            if not value:
                raise FieldInvalid("String should have at least 1 character")
            return value
        if isinstance(value, bool) or (not isinstance(value, (int, str)) and not hasattr(value, "hex")):
            raise FieldInvalid("Input should be a valid string")
        return str(value)


class Auto(Identifier):
    """The automatically generated identifier (``id``)."""


class _Bounded(Field):
    def __init__(self, min_value: float | None = None, max_value: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.min_value = min_value
        self.max_value = max_value
        self._unbounded = min_value is None and max_value is None

    def _bounds(self, value: Any) -> Any:
        if self._unbounded:
            return value
        if self.min_value is not None and value < self.min_value:
            raise FieldInvalid(f"Input should be greater than or equal to {_bound_text(self.min_value)}")
        if self.max_value is not None and value > self.max_value:
            raise FieldInvalid(f"Input should be less than or equal to {_bound_text(self.max_value)}")
        return value


def _bound_text(bound: float) -> str:
    # Protean (Pydantic) prints a whole-number float bound without its ".0": `100`, not `100.0`.
    if isinstance(bound, float) and bound.is_integer():
        return str(int(bound))
    return str(bound)


class Integer(_Bounded):
    """Whole numbers; numeric strings and integral floats are coerced."""

    json_type = "integer"

    def _cast(self, value: Any) -> Any:
        if type(value) is int:
            return value if self._unbounded else self._bounds(value)
        if isinstance(value, bool):
            return self._bounds(int(value))
        if isinstance(value, float):
            if not value.is_integer():
                raise FieldInvalid("Input should be a valid integer, got a number with a fractional part")
            return self._bounds(int(value))
        if isinstance(value, str):
            try:
                return self._bounds(int(value.strip()))
            except ValueError:
                raise FieldInvalid("Input should be a valid integer, unable to parse string as an integer") from None
        if isinstance(value, int):
            return self._bounds(int(value))
        raise FieldInvalid("Input should be a valid integer")


class Float(_Bounded):
    """Floating point numbers; integers and numeric strings are coerced."""

    json_type = "number"

    def _cast(self, value: Any) -> Any:
        if isinstance(value, (bool, int, float)):
            value = float(value)
        elif isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise FieldInvalid("Input should be a valid number, unable to parse string as a number") from None
        else:
            raise FieldInvalid("Input should be a valid number")
        if math.isnan(value) or math.isinf(value):
            raise FieldInvalid("Input should be a finite number")
        return self._bounds(value)


_TRUE = {"true", "t", "yes", "y", "on", "1"}
_FALSE = {"false", "f", "no", "n", "off", "0"}


class Boolean(Field):
    """True or false; ``"yes"``/``"no"``, ``"true"``/``"false"``, 1/0 are coerced."""

    json_type = "boolean"

    def _cast(self, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
        if isinstance(value, (str, int)):
            # Protean's wording for a scalar it cannot read as true or false.
            raise FieldInvalid("Input should be a valid boolean, unable to interpret input")
        raise FieldInvalid("Input should be a valid boolean")


class Date(Field):
    """A calendar date; ISO strings are parsed. Stored as ``YYYY-MM-DD``."""

    def _cast(self, value: Any) -> Any:
        if isinstance(value, _dt.datetime):
            return _exact_date(value)
        if isinstance(value, _dt.date):
            return value
        if isinstance(value, str):
            text = value.strip()
            try:
                return _dt.date.fromisoformat(text)
            except ValueError:
                pass
            try:
                return _exact_date(_dt.datetime.fromisoformat(text))
            except ValueError:
                pass
        raise FieldInvalid("Input should be a valid date")

    def as_json(self, value: Any) -> Any:
        return value.isoformat() if value is not None else None

    def from_json(self, value: Any) -> Any:
        return _dt.date.fromisoformat(value) if isinstance(value, str) else value


def _exact_date(value: _dt.datetime) -> _dt.date:
    """The date of a midnight datetime; any time of day is refused rather than dropped."""
    if value.time() != _dt.time(0):
        raise FieldInvalid("Datetimes provided to dates should have zero time - e.g. be exact dates")
    return value.date()


class DateTime(Field):
    """A point in time; ISO strings are parsed. Stored as ISO 8601."""

    def _cast(self, value: Any) -> Any:
        if isinstance(value, _dt.datetime):
            return value
        if isinstance(value, _dt.date):
            return _dt.datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return _dt.datetime.fromisoformat(value.strip())
            except ValueError:
                pass
        raise FieldInvalid("Input should be a valid datetime")

    def as_json(self, value: Any) -> Any:
        return value.isoformat() if value is not None else None

    def from_json(self, value: Any) -> Any:
        return _dt.datetime.fromisoformat(value) if isinstance(value, str) else value


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
