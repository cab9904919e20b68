"""The base of every field: cleaning, defaults, choices, validators and JSON conversion."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Any


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


