"""Entities: objects with an identity that live inside an aggregate and change through it.

An entity is saved in its aggregate's document and reloaded with it; its events go to
the aggregate's stream. ``HasMany`` fields give the aggregate Protean's helpers
``add_<field>``, ``remove_<field>``, ``filter_<field>`` and ``get_one_from_<field>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workbench.core._model import BaseModel, ElementMeta, collect_fields, derive_class, field_errors
from workbench.core._naming import underscore
from workbench.core.exceptions import (
    ConfigurationError,
    IncorrectUsageError,
    ObjectNotFoundError,
    TooManyObjectsError,
    ValidationError,
)
from workbench.core.fields import Auto, FieldInvalid
from workbench.core.fields.associations import HasMany, HasOne, Reference, _Association
from workbench.core.invariants import check, collect_invariants, guarded_set

if TYPE_CHECKING:
    from workbench.core.domain import Domain

ENTITY_OPTIONS = frozenset({"abstract", "part_of", "auto_add_id_field", "suppress_checks", "schema_name", "provider"})


class BaseEntity(BaseModel):
    """Base of every entity class (``@domain.entity(part_of=...)`` derives plain classes from it)."""

    def __init__(self, *template: dict[str, Any], **kwargs: Any) -> None:
        if "meta_" not in type(self).__dict__:
            raise ConfigurationError(f"`{type(self).__name__}` should be registered with a domain")
        self._set_fields(template, kwargs)
        self.__dict__["_root"] = None
        check(self, self.meta_.invariants, "post")

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> Any:
        entity = super()._from_json(data)
        entity.__dict__["_root"] = None
        return entity

    def __setattr__(self, name: str, value: Any) -> None:
        invariants = self.meta_.invariants
        values = self.__dict__
        # A change to an entity is a change to its aggregate: the aggregate's rules run too
        # (except inside atomic_change, which checks them once at the end).
        root = values.get("_root")
        root_rules = None if root is None or root.__dict__.get("_atomic") else root.meta_.invariants
        if (not invariants and not root_rules) or name not in self.meta_.fields:
            self._validated_set(name, value)
            return
        guarded_set(self, name, value, [(self, invariants), (root, root_rules or {})])

    def __getattr__(self, name: str) -> Any:
        # `line.order_id`: the identity held by the Reference field `order`.
        if name.endswith("_id"):
            field = self.meta_.fields.get(name[:-3])
            if isinstance(field, Reference):
                return self.__dict__.get(name[:-3])
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    @property
    def id_value(self) -> Any:
        """The identity, whatever the identifier field is called."""
        return self.__dict__[self.meta_.id_field]  # type: ignore[index]

    def to_dict(self) -> dict[str, Any]:
        """Field values as JSON (without the link to the aggregate, which the document implies)."""
        data = self._fields_json()
        for name in self.meta_.options["references"]:
            data.pop(name, None)
        return data

    def raise_(self, event: Any) -> None:
        """Raise ``event`` on behalf of this entity's aggregate (it goes to the aggregate's stream).

        Raises:
            IncorrectUsageError: the entity is not attached to an aggregate yet.
        """
        root = self.__dict__.get("_root")
        if root is None:
            raise IncorrectUsageError(
                f"`{type(self).__name__}` is not part of an aggregate yet: add it to one before raising events"
            )
        root.raise_(event)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id_value == self.id_value  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id_value))


def attach_children(aggregate: Any) -> None:
    """Point every child entity of ``aggregate`` (at any depth) back at it and at its identity."""
    for name in aggregate.meta_.options.get("associations", ()):
        value = aggregate.__dict__.get(name)
        children = value if isinstance(value, list) else ([value] if value is not None else [])
        for child in children:
            _attach(child, aggregate, aggregate.id_value)


def _attach(child: Any, root: Any, root_id: Any) -> None:
    values = child.__dict__
    values["_root"] = root
    for reference in child.meta_.options["references"]:
        values[reference] = root_id
    for name in child.meta_.options.get("associations", ()):
        value = values.get(name)
        for grandchild in value if isinstance(value, list) else ([value] if value is not None else []):
            _attach(grandchild, root, root_id)


def _target(reference: Reference) -> str:
    to = reference.to_cls
    return (to if isinstance(to, str) else to.__name__).rsplit(".", 1)[-1]


def register_entity(domain: Domain, cls: type, given: dict[str, Any]) -> type[BaseEntity]:
    """Derive and describe an entity class.

    Raises:
        IncorrectUsageError: no ``part_of``, or more than one identifier field.
    """
    from workbench.core._registry import _options

    opts = _options(cls, given, ENTITY_OPTIONS, "entity")
    part_of = opts.get("part_of")
    if not part_of and not opts.get("abstract"):
        raise IncorrectUsageError(f"Entity `{cls.__name__}` needs to be associated with an Aggregate")
    new_cls: Any = derive_class(cls, BaseEntity)
    fields = collect_fields(new_cls)
    id_fields = [name for name, f in fields.items() if f.identifier]
    if len(id_fields) > 1:
        raise IncorrectUsageError(f"entity `{cls.__name__}` has more than one identifier field: {', '.join(id_fields)}")
    if not id_fields:
        auto = Auto(identifier=True, default=domain.new_id)
        auto.name = "id"
        fields["id"] = auto
        id_fields = ["id"]
    owner = part_of if isinstance(part_of, str) or part_of is None else part_of.__name__
    # Only a Reference to the aggregate links the entity to it; a Reference to another
    # aggregate keeps the identity it was given.
    references = [name for name, f in fields.items() if isinstance(f, Reference) and _target(f) == owner]
    if not references and owner:
        reference = Reference(part_of)
        reference.name = underscore(owner)
        fields[reference.name] = reference
        references = [reference.name]
    opts["references"] = tuple(references)
    opts["associations"] = tuple(name for name, f in fields.items() if isinstance(f, _Association))
    meta = ElementMeta(
        kind="ENTITY", domain=domain, fields=fields, id_field=id_fields[0], part_of=part_of, options=opts
    )
    meta.invariants = collect_invariants(new_cls)
    meta.fqn = f"{new_cls.__module__}.{new_cls.__qualname__}"
    meta.finish()
    new_cls.meta_ = meta
    add_child_helpers(new_cls)
    return new_cls  # type: ignore[no-any-return]


def add_child_helpers(cls: Any) -> None:
    """Give ``cls`` Protean's ``add_/remove_/filter_/get_one_from_<field>`` for each ``HasMany`` field."""
    for name, field in cls.meta_.fields.items():
        if isinstance(field, HasMany):
            for helper, make in _HELPERS.items():
                if f"{helper}{name}" not in vars(cls):
                    setattr(cls, f"{helper}{name}", make(name))


def _adder(name: str) -> Callable[..., None]:
    def add(self: Any, *items: Any) -> None:
        field = self.meta_.fields[name]
        current = list(self.__dict__.get(name) or [])
        given = [i for group in items for i in (group if isinstance(group, list) else [group])]
        try:
            added = field.clean(given)
        except FieldInvalid as exc:
            # The caller handles Protean's ValidationError, never the field's internal error.
            raise ValidationError(field_errors(name, exc)) from None
        known = {child.id_value: index for index, child in enumerate(current)}
        root = self.__dict__.get("_root", self) if isinstance(self, BaseEntity) else self
        for child in added:
            _refuse_if_elsewhere(child, root)
        for child in added:
            if child.id_value in known:
                current[known[child.id_value]] = child  # adding a changed copy replaces it
            else:
                current.append(child)
        setattr(self, name, current)

    add.__doc__ = f"Add entities to `{name}` (a changed copy of one already there replaces it)."
    return add


def _refuse_if_elsewhere(child: Any, root: Any) -> None:
    """Refuse an entity that still belongs to another aggregate (it would be stored in both).

    Raises:
        ValidationError: Protean's message for an entity whose identity is already present.
    """
    other = child.__dict__.get("_root")
    if other is None or root is None or other is root:
        return
    if type(other) is type(root) and other.id_value == root.id_value:
        return  # another copy of the same aggregate
    raise ValidationError(
        {child.meta_.id_field: [f"{type(child).__name__} with id '{child.id_value}' is already present."]}
    )


def _remover(name: str) -> Callable[..., None]:
    def remove(self: Any, *items: Any) -> None:
        current = list(self.__dict__.get(name) or [])
        gone = {item.id_value for group in items for item in (group if isinstance(group, list) else [group])}
        missing = gone - {child.id_value for child in current}
        if missing:
            raise ObjectNotFoundError(f"`{name}` holds no entity with identifier {', '.join(map(str, missing))}")
        for child in current:
            if child.id_value in gone:
                child.__dict__["_root"] = None  # free to join another aggregate
        setattr(self, name, [child for child in current if child.id_value not in gone])

    remove.__doc__ = f"Remove entities from `{name}`."
    return remove


def _filter(name: str) -> Callable[..., list[Any]]:
    def filter_(self: Any, **criteria: Any) -> list[Any]:
        children = self.__dict__.get(name) or []
        return [c for c in children if all(getattr(c, k) == v for k, v in criteria.items())]

    filter_.__doc__ = f"The entities of `{name}` whose fields equal the given values."
    return filter_


def _get_one(name: str) -> Callable[..., Any]:
    def get_one(self: Any, **criteria: Any) -> Any:
        found = _filter(name)(self, **criteria)
        if not found:
            raise ObjectNotFoundError(f"No linked entities matching criteria {criteria} found in `{name}`")
        if len(found) > 1:
            raise TooManyObjectsError(f"Multiple linked entities matching criteria {criteria} found in `{name}`")
        return found[0]

    get_one.__doc__ = f"The one entity of `{name}` whose fields equal the given values."
    return get_one


_HELPERS: dict[str, Callable[[str], Callable[..., Any]]] = {
    "add_": _adder,
    "remove_": _remover,
    "filter_": _filter,
    "get_one_from_": _get_one,
}


def resolve_entity_fields(domain: Domain) -> None:
    """Resolve entity classes named by string in aggregates' and entities' association fields.

    Raises:
        ConfigurationError: a named entity is not registered.
    """
    registry = domain.registry
    for group in (registry.aggregates, registry.entities):
        for element in group.values():
            for name, field in element.meta_.fields.items():
                if isinstance(field, (HasMany, HasOne)) and isinstance(field.to_cls, str):
                    if field.to_cls not in registry.entities:
                        raise ConfigurationError(
                            f"Unresolved references in domain `{domain.name}`: `{element.__name__}.{name}` "
                            f"references `{field.to_cls}` via {type(field).__name__} "
                            f"(entities: {', '.join(registry.entities) or 'none'})"
                        )
                    field.resolve(registry.entities)
