"""Repositories: load and save aggregates (``domain.repository_for(Order)``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from workbench.core import unit_of_work
from workbench.core.exceptions import IncorrectUsageError, ObjectNotFoundError, TooManyObjectsError
from workbench.core.fields import FieldInvalid

if TYPE_CHECKING:
    from workbench.core.aggregate import BaseAggregate
    from workbench.core.domain import Domain

A = TypeVar("A", bound="BaseAggregate")

_LOOKUPS = {
    "exact": lambda value, arg: value == arg,
    "ne": lambda value, arg: value != arg,
    "in": lambda value, arg: value in arg,
    "gt": lambda value, arg: value is not None and value > arg,
    "gte": lambda value, arg: value is not None and value >= arg,
    "lt": lambda value, arg: value is not None and value < arg,
    "lte": lambda value, arg: value is not None and value <= arg,
    "contains": lambda value, arg: value is not None and arg in value,
}


class Repository(Generic[A]):
    """Stores aggregates of one class as documents in the ``aggregate:<name>`` table.

    Equality filters use a hash index kept by the store, so ``find_by(book_id=...)``
    costs the same with ten or a million aggregates.
    """

    def __init__(self, domain: Domain, aggregate_cls: type[A]) -> None:
        self.domain = domain
        self.aggregate_cls = aggregate_cls
        self.table = table_name(aggregate_cls)
        self.id_field: str = aggregate_cls.meta_.id_field  # type: ignore[assignment]

    def add(self, aggregate: A) -> A:
        """Save ``aggregate`` and the events it raised, atomically.

        Outside a unit of work this commits at once; inside one, at its end.
        """
        if not isinstance(aggregate, self.aggregate_cls):
            raise IncorrectUsageError(
                f"repository for `{self.aggregate_cls.__name__}` cannot save `{type(aggregate).__name__}`"
            )
        uow = unit_of_work.current_uow(self.domain)
        if uow is not None:
            uow.track(aggregate)
            return aggregate
        with unit_of_work.UnitOfWork(self.domain) as new_uow:
            new_uow.track(aggregate)
        return aggregate

    def get(self, identifier: Any) -> A:
        """The aggregate with this identity.

        Raises:
            ObjectNotFoundError: there is none.
        """
        doc = self.domain.store.get(self.table, self._clean(self.id_field, identifier))
        if doc is None:
            raise ObjectNotFoundError(
                f"`{self.aggregate_cls.__name__}` object with identifier {identifier} does not exist."
            )
        return self.aggregate_cls._from_doc(doc)  # type: ignore[no-any-return]

    def find_by(self, **filters: Any) -> A:
        """The one aggregate matching every filter.

        Raises:
            ObjectNotFoundError: none matches.
            TooManyObjectsError: more than one matches.
        """
        keys = self._matching_keys(filters, limit=2)
        if not keys:
            raise ObjectNotFoundError(f"`{self.aggregate_cls.__name__}` object with values {filters} does not exist.")
        if len(keys) > 1:
            raise TooManyObjectsError(
                f"More than one object of `{self.aggregate_cls.__name__}` found with values {filters}"
            )
        return self.aggregate_cls._from_doc(self.domain.store.rows(self.table)[keys[0]])  # type: ignore[no-any-return]

    def filter(self, **filters: Any) -> list[A]:
        """Every aggregate matching all filters (``field=value`` or ``field__gt=value``,
        with lookups ``exact ne in gt gte lt lte contains``), in insertion order."""
        rows = self.domain.store.rows(self.table)
        from_doc = self.aggregate_cls._from_doc
        return [from_doc(rows[key]) for key in self._matching_keys(filters)]

    def all(self) -> list[A]:
        """Every aggregate of this class."""
        from_doc = self.aggregate_cls._from_doc
        return [from_doc(doc) for doc in self.domain.store.rows(self.table).values()]

    def exists(self, **filters: Any) -> bool:
        """True when at least one aggregate matches (``exists(id=...)`` works too)."""
        return bool(self._matching_keys(filters, limit=1))

    def count(self, **filters: Any) -> int:
        """How many aggregates match."""
        if not filters:
            return len(self.domain.store.rows(self.table))
        return len(self._matching_keys(filters))

    # -- matching ---------------------------------------------------------------------

    def _clean(self, name: str, value: Any) -> Any:
        field = self.aggregate_cls.meta_.fields.get(name)
        if field is None:
            raise IncorrectUsageError(f"`{self.aggregate_cls.__name__}` has no field `{name}`")
        if value is None:
            return None
        try:
            return field.as_json(field._cast(value))
        except FieldInvalid:
            return value

    def _matching_keys(self, filters: dict[str, Any], limit: int | None = None) -> list[Any]:
        store = self.domain.store
        if len(filters) == 1:
            # The common `find_by(field=value)`: one index probe, nothing else.
            ((spec, value),) = filters.items()
            if "__" not in spec and spec != self.id_field:
                keys = store.keys_where(self.table, spec, self._clean(spec, value))
                return keys[:limit] if limit is not None else keys
        equal: list[tuple[str, Any]] = []
        other: list[tuple[str, Any, Any]] = []
        for spec, value in filters.items():
            name, _, lookup = spec.partition("__")
            lookup = lookup or "exact"
            if lookup not in _LOOKUPS:
                raise IncorrectUsageError(f"unknown lookup `{lookup}` in `{spec}`; use one of {', '.join(_LOOKUPS)}")
            if lookup == "in":
                cleaned = [self._clean(name, v) for v in value]
            elif lookup == "contains":
                self._clean(name, None)
                cleaned = value
            else:
                cleaned = self._clean(name, value)
            if lookup == "exact":
                equal.append((name, cleaned))
            else:
                other.append((name, cleaned, _LOOKUPS[lookup]))
        rows = store.rows(self.table)
        if equal:
            if equal[0][0] == self.id_field:
                candidates = [equal[0][1]] if equal[0][1] in rows else []
            else:
                candidates = store.keys_where(self.table, equal[0][0], equal[0][1])
            rest = equal[1:]
        else:
            candidates = list(rows)
            rest = []
        result = []
        for key in candidates:
            doc = rows[key]
            if all(doc.get(n) == v for n, v in rest) and all(test(doc.get(n), v) for n, v, test in other):
                result.append(key)
                if limit is not None and len(result) >= limit:
                    break
        return result


def table_name(aggregate_cls: type) -> str:
    """The store table of an aggregate class: ``aggregate:<snake_name>``."""
    return aggregate_cls.meta_.options["table"]  # type: ignore[attr-defined,no-any-return]
