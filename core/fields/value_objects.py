"""Fields holding value objects: ``ValueObject(Address)`` and ``ValueObjectList(Address)``."""

from __future__ import annotations

from typing import Any

from workbench.core.exceptions import ConfigurationError, ValidationError
from workbench.core.fields.base import Field, FieldInvalid
from workbench.core.fields.containers import List


class NestedInvalid(FieldInvalid):
    """A value inside a field is not acceptable; ``errors`` names the inner fields."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        first = next(iter(errors.values()), ["is invalid"])
        super().__init__(*first)
        self.errors = errors


def build_nested(cls: Any, value: Any) -> Any:
    """``value`` as an instance of ``cls`` (a value object or entity class), built from a dict if needed.

    Raises:
        FieldInvalid: ``value`` is neither; NestedInvalid when the dict's fields are bad.
    """
    if isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise FieldInvalid(f"Input should be a {cls.__name__} or a dictionary of its fields")
    try:
        return cls(value)
    except ValidationError as exc:
        raise NestedInvalid(exc.messages) from None


def clean_each(value: Any, clean: Any) -> list[Any]:
    """Clean every item of a list with ``clean``; errors name the item's index and inner field.

    Raises:
        FieldInvalid: ``value`` is not a list; NestedInvalid when some items are bad.
    """
    if isinstance(value, (tuple, set, frozenset)):
        value = list(value)
    if not isinstance(value, list):
        raise FieldInvalid("Input should be a valid list")
    cleaned = []
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(value):
        try:
            cleaned.append(clean(item))
        except NestedInvalid as exc:
            errors.update({f"{index}.{name}": messages for name, messages in exc.errors.items()})
        except FieldInvalid as exc:
            errors[str(index)] = exc.messages
    if errors:
        raise NestedInvalid(errors)
    return cleaned


class ValueObject(Field):
    """A field holding one value object, stored as a JSON object of its fields.

    Args:
        value_object_cls: the value object class, or its name (resolved when the domain
            is initialised).
    """

    json_type = "object"

    def __init__(self, value_object_cls: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = value_object_cls

    @property
    def value_object_cls(self) -> Any:
        """The value object class (an error while it is still an unresolved name)."""
        if isinstance(self.target, str):
            raise ConfigurationError(f"value object `{self.target}` of field `{self.name}` is not registered")
        return self.target

    @property
    def nested_cls(self) -> Any:
        """The class whose fields a dotted name (``address.city``) reaches."""
        return self.value_object_cls

    def resolve(self, value_objects: dict[str, Any]) -> None:
        """Turn a class name given as a string into the registered class.

        Raises:
            ConfigurationError: no value object has that name.
        """
        if isinstance(self.target, str):
            target = value_objects.get(self.target)
            if target is None:
                raise ConfigurationError(f"value object `{self.target}` of field `{self.name}` is not registered")
            self.target = target

    def _cast(self, value: Any) -> Any:
        return build_nested(self.value_object_cls, value)

    def as_json(self, value: Any) -> Any:
        return None if value is None else value.to_dict()

    def from_json(self, value: Any) -> Any:
        return None if value is None else self.value_object_cls._from_json(value)

    def describe(self) -> str:
        name = self.target if isinstance(self.target, str) else self.target.__name__
        return f"ValueObject({name}{', required' if self.required else ''})"


class ValueObjectList(List):
    """A list of value objects of one class, stored as a JSON array of objects."""

    def __init__(self, content_type: Any, **kwargs: Any) -> None:
        item = content_type if isinstance(content_type, ValueObject) else ValueObject(content_type)
        super().__init__(item, **kwargs)

    def _cast(self, value: Any) -> Any:
        content = self.content
        assert content is not None
        return clean_each(value, content.clean)

    def describe(self) -> str:
        assert isinstance(self.content, ValueObject)
        return "ValueObjectList(" + self.content.describe()[len("ValueObject(") :]
