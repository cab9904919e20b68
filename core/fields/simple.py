"""Text, identity, number and boolean fields."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from workbench.core.fields.base import Field, FieldInvalid


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


