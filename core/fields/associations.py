"""Fields linking an aggregate to its entities: ``HasMany``, ``HasOne`` and the child's ``Reference``.

Children live inside their aggregate's document (one JSON object or array per field),
so they are saved in the aggregate's commit and reloaded with it.
"""

from __future__ import annotations

from typing import Any

from workbench.core.exceptions import ConfigurationError
from workbench.core.fields.base import Field
from workbench.core.fields.value_objects import build_nested, clean_each


class _Association(Field):
    """A field whose values are entities of one class (given as the class or its name)."""

    def __init__(self, to_cls: Any, via: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.to_cls = to_cls
        self.via = via

    @property
    def nested_cls(self) -> Any:
        """The entity class (an error while it is still an unresolved name)."""
        if isinstance(self.to_cls, str):
            raise ConfigurationError(f"entity `{self.to_cls}` of field `{self.name}` is not registered")
        return self.to_cls

    def resolve(self, entities: dict[str, Any]) -> None:
        """Turn a class name given as a string into the registered entity class.

        Raises:
            ConfigurationError: no entity has that name.
        """
        if isinstance(self.to_cls, str):
            target = entities.get(self.to_cls)
            if target is None:
                raise ConfigurationError(f"entity `{self.to_cls}` of field `{self.name}` is not registered")
            self.to_cls = target

    def _child(self, value: Any) -> Any:
        return build_nested(self.nested_cls, value)

    def _target_name(self) -> str:
        return self.to_cls if isinstance(self.to_cls, str) else self.to_cls.__name__


class HasOne(_Association):
    """At most one child entity."""

    json_type = "object"

    def _cast(self, value: Any) -> Any:
        return self._child(value)

    def as_json(self, value: Any) -> Any:
        return None if value is None else value.to_dict()

    def from_json(self, value: Any) -> Any:
        return None if value is None else self.nested_cls._from_json(value)

    def describe(self) -> str:
        return f"HasOne({self._target_name()})"


class HasMany(_Association):
    """Any number of child entities, in the order they were added."""

    json_type = "array"

    def __init__(self, to_cls: Any, via: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("default", list)
        super().__init__(to_cls, via, **kwargs)

    def _cast(self, value: Any) -> Any:
        return clean_each(value, self._child)

    def as_json(self, value: Any) -> Any:
        return None if value is None else [child.to_dict() for child in value]

    def from_json(self, value: Any) -> Any:
        return [] if value is None else [self.nested_cls._from_json(item) for item in value]

    def describe(self) -> str:
        return f"HasMany({self._target_name()})"


class Reference(Field):
    """The child's link to its aggregate: holds the aggregate's identity (``<name>_id`` reads it)."""

    def __init__(self, to_cls: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.to_cls = to_cls

    def _cast(self, value: Any) -> Any:
        # Given the referenced aggregate itself, hold its identity (what is stored).
        return getattr(value, "id_value", value)

    def describe(self) -> str:
        name = self.to_cls if isinstance(self.to_cls, str) else self.to_cls.__name__
        return f"Reference({name})"
