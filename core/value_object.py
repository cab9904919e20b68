"""Value objects: immutable values with no identity, equal when their fields are equal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.core._model import ElementMeta, ImmutableModel, collect_fields, derive_class
from workbench.core.exceptions import ConfigurationError, IncorrectUsageError
from workbench.core.invariants import check, collect_invariants

if TYPE_CHECKING:
    from workbench.core.domain import Domain

VALUE_OBJECT_OPTIONS = frozenset({"abstract", "part_of", "suppress_checks"})


class BaseValueObject(ImmutableModel):
    """Base of every value object class (``@domain.value_object`` derives plain classes from it).

    Built from keyword arguments or a dict; its post-invariants run once it is built.
    """

    _immutable_kind = "Value"

    def __init__(self, *template: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*template, **kwargs)
        check(self, self.meta_.invariants, "post")

    def to_dict(self) -> dict[str, Any]:
        """Field values as JSON."""
        return self._fields_json()

    def _replace(self, **changes: Any) -> Any:
        """A copy with some fields changed (the value itself never changes)."""
        return type(self)(self.to_dict() | changes)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_dict() == self.to_dict()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(sorted(self.to_dict().items()))))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {type(self).__name__} object ({self.to_dict()})>"


def register_value_object(domain: Domain, cls: type, given: dict[str, Any]) -> type[BaseValueObject]:
    """Derive and describe a value object class.

    Raises:
        ConfigurationError: an unknown option.
        IncorrectUsageError: a field is an identifier or unique (a value has no identity).
    """
    from workbench.core._registry import _options

    opts = _options(cls, given, VALUE_OBJECT_OPTIONS, "value object")
    new_cls: Any = derive_class(cls, BaseValueObject)
    fields = collect_fields(new_cls)
    for name, fld in fields.items():
        if fld.identifier or fld.unique:
            raise IncorrectUsageError(
                f"Value Objects cannot contain fields marked 'identifier' or 'unique' (field `{name}`)"
            )
    meta = ElementMeta(kind="VALUE_OBJECT", domain=domain, fields=fields, options=opts)
    meta.abstract = bool(opts.get("abstract"))
    meta.part_of = opts.get("part_of")
    meta.invariants = collect_invariants(new_cls)
    meta.fqn = f"{new_cls.__module__}.{new_cls.__qualname__}"
    meta.finish()
    new_cls.meta_ = meta
    return new_cls  # type: ignore[no-any-return]


def resolve_value_object_fields(domain: Domain) -> None:
    """Resolve value object classes named by string in every registered element's fields.

    Raises:
        ConfigurationError: a named value object is not registered.
    """
    from workbench.core.fields import ValueObject, ValueObjectList

    registry = domain.registry
    value_objects = registry.value_objects
    for group in (value_objects, registry.aggregates, registry.entities, registry.events, registry.commands):
        for element in group.values():
            for name, fld in element.meta_.fields.items():
                if isinstance(fld, ValueObjectList):
                    fld = fld.content
                if isinstance(fld, ValueObject) and isinstance(fld.target, str):
                    if fld.target not in value_objects:
                        raise ConfigurationError(
                            f"Unresolved references in domain `{domain.name}`: `{element.__name__}.{name}` "
                            f"references `{fld.target}` via ValueObject "
                            f"(value objects: {', '.join(value_objects) or 'none'})"
                        )
                    fld.resolve(value_objects)
