"""Repositories: load and save aggregates (``domain.repository_for(Order)``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from workbench.core import unit_of_work
from workbench.core.criteria import Q, matching
from workbench.core.exceptions import IncorrectUsageError, ObjectNotFoundError, TooManyObjectsError
from workbench.core.fields import FieldInvalid
from workbench.core.queryset import QuerySet, default_limit

if TYPE_CHECKING:
    from workbench.core.aggregate import BaseAggregate
    from workbench.core.domain import Domain
    from workbench.core.unit_of_work import UnitOfWork

A = TypeVar("A", bound="BaseAggregate")


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

    @property
    def query(self) -> QuerySet:
        """A new query over this aggregate class (Protean's ``repo.query``)."""
        return QuerySet(self, limit=default_limit(self))

    def get(self, identifier: Any) -> A:
        """The aggregate with this identity.

        Inside a unit of work this is the unit's own copy when it already read or
        saved the aggregate, so pending changes are seen.

        Raises:
            ObjectNotFoundError: there is none.
        """
        found = self.get_or_none(identifier)
        if found is None:
            raise ObjectNotFoundError(
                f"`{self.aggregate_cls.__name__}` object with identifier {identifier} does not exist."
            )
        return found

    def get_or_none(self, identifier: Any) -> A | None:
        """The aggregate with this identity, or None when there is none."""
        if identifier is None:
            return None
        key = self._clean(self.id_field, identifier)
        uow = unit_of_work.current_uow(self.domain)
        if uow is not None:
            known = uow.identity(self.aggregate_cls, key)
            if known is not None:
                return known  # type: ignore[return-value]
        doc = self.domain.store.get(self.table, key)
        if doc is None:
            return None
        aggregate = self.aggregate_cls._from_doc(doc)
        return uow.remember(aggregate) if uow is not None else aggregate  # type: ignore[return-value]

    def find_by(self, **filters: Any) -> A:
        """The one aggregate matching every filter.

        Raises:
            ObjectNotFoundError: none matches.
            TooManyObjectsError: more than one matches.
        """
        uow = unit_of_work.current_uow(self.domain)
        if len(filters) == 1 and (uow is None or not uow.has_pending()):
            # The common `find_by(field=value)` (a handler's lookup): one index probe.
            ((spec, value),) = filters.items()
            if "__" not in spec and spec != self.id_field:
                store = self.domain.store
                keys = store.keys_where(self.table, spec, self._clean(spec, value))
                if len(keys) == 1:
                    key = keys[0]
                    return self._instance(key, store.get(self.table, key), uow)  # type: ignore[arg-type]
        found = self._select(filters, limit=2, uow=uow)
        if not found:
            raise ObjectNotFoundError(f"`{self.aggregate_cls.__name__}` object with values {filters} does not exist.")
        if len(found) > 1:
            raise TooManyObjectsError(
                f"More than one object of `{self.aggregate_cls.__name__}` found with values {filters}"
            )
        key, doc = found[0]
        return self._instance(key, doc, uow)

    def filter(self, *args: Q, **filters: Any) -> list[A]:
        """Every aggregate matching all filters (``field=value``, ``field__gt=value`` or
        ``Q`` objects; lookups as in :data:`~workbench.core.criteria.LOOKUPS`), in insertion order."""
        return [self._instance(key, doc) for key, doc in self._select(filters, args)]

    def all(self) -> list[A]:
        """Every aggregate of this class."""
        return [self._instance(key, doc) for key, doc in self._select({})]

    def exists(self, **filters: Any) -> bool:
        """True when at least one aggregate matches (``exists(id=...)`` works too)."""
        return bool(self._select(filters, limit=1))

    def count(self, **filters: Any) -> int:
        """How many aggregates match."""
        if not filters and not self._pending_docs():
            return len(self.domain.store.rows(self.table))
        return len(self._select(filters))

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

    def _pending_docs(self) -> dict[Any, dict[str, Any]]:
        """Documents of this class's aggregates saved in the current unit of work, by key."""
        uow = unit_of_work.current_uow(self.domain)
        if uow is None or not uow.has_pending():
            return {}
        return {a.id_value: a._fields_json() for a in uow.pending(self.aggregate_cls)}

    def _instance(self, key: Any, doc: dict[str, Any], uow: UnitOfWork | None = None) -> A:
        """The aggregate for a matched document: the unit of work's copy if it has one."""
        if uow is None:
            uow = unit_of_work.current_uow(self.domain)
            if uow is None:
                return self.aggregate_cls._from_doc(doc)  # type: ignore[no-any-return]
        known = uow.identity(self.aggregate_cls, key)
        if known is not None:
            return known  # type: ignore[return-value]
        return uow.remember(self.aggregate_cls._from_doc(doc))  # type: ignore[return-value]

    def _select(
        self,
        filters: dict[str, Any],
        args: tuple[Q, ...] = (),
        limit: int | None = None,
        *,
        uow: UnitOfWork | None = None,
    ) -> list[tuple[Any, dict[str, Any]]]:
        if len(filters) == 1 and not args:
            # The common `find_by(field=value)`: one index probe, nothing else.
            ((spec, value),) = filters.items()
            if uow is None:
                uow = unit_of_work.current_uow(self.domain)
            pending = uow is not None and uow.has_pending() and self._pending_docs()
            if "__" not in spec and spec != self.id_field and not pending:
                store = self.domain.store
                keys = store.keys_where(self.table, spec, self._clean(spec, value))
                if not keys:
                    return []
                if limit is not None:
                    keys = keys[:limit]
                rows = store.rows(self.table)
                return [(key, rows[key]) for key in keys]
        return matching(self, Q(*args, **filters), limit)


def table_name(aggregate_cls: type) -> str:
    """The store table of an aggregate class: ``aggregate:<snake_name>``."""
    return aggregate_cls.meta_.options["table"]  # type: ignore[attr-defined,no-any-return]
