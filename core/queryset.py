"""Protean's repository query API: ``QuerySet`` and ``ResultSet``.

``repo.query.filter(status="SHIPPED").exclude(quantity__lt=3).order_by("-quantity")
.limit(10).all()`` returns a :class:`ResultSet` (``.items``, ``.total``, ``.first``).
The criteria and how they use the store's indexes are in :mod:`workbench.core.criteria`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from workbench.core.criteria import Q, matching
from workbench.core.exceptions import IncorrectUsageError, NotSupportedError

if TYPE_CHECKING:
    from workbench.core.repository import Repository


def _doc_sort_key(field: str) -> Callable[[tuple[Any, dict[str, Any]]], tuple[int, Any]]:
    # Missing values sort last going up and first going down, as in SQL databases.
    def key(pair: tuple[Any, dict[str, Any]]) -> tuple[int, Any]:
        value = pair[1].get(field)
        return (1, 0) if value is None else (0, value)

    return key


class ResultSet:
    """One page of query results, as Protean returns it.

    Attributes:
        offset: how many matches were skipped.
        limit: the page size asked for (None: no limit).
        total: how many aggregates match in all.
        items: the aggregates on this page.
    """

    def __init__(self, offset: int, limit: int | None, total: int, items: list[Any]) -> None:
        self.offset = offset
        self.limit = limit
        self.total = total
        self.items = items

    @property
    def first(self) -> Any:
        """The first item, or None."""
        return self.items[0] if self.items else None

    @property
    def last(self) -> Any:
        """The last item, or None."""
        return self.items[-1] if self.items else None

    @property
    def has_next(self) -> bool:
        """True when more pages follow this one."""
        return self.limit is not None and self.offset + self.limit < self.total

    @property
    def has_prev(self) -> bool:
        """True when this page has items and starts after the first match."""
        return bool(self.items) and self.offset > 0

    @property
    def page(self) -> int:
        """This page's number, from 1 (1 when there is no limit)."""
        return self.offset // self.limit + 1 if self.limit else 1

    @property
    def page_size(self) -> int | None:
        """The limit (None: unlimited)."""
        return self.limit

    @property
    def total_pages(self) -> int:
        """How many pages the matches fill (0 when nothing matches)."""
        if self.total == 0:
            return 0
        return -(-self.total // self.limit) if self.limit else 1

    def to_dict(self) -> dict[str, Any]:
        """``offset``, ``limit``, ``total`` and ``items`` as a dict."""
        return {"offset": self.offset, "limit": self.limit, "total": self.total, "items": self.items}

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __getitem__(self, index: Any) -> Any:
        return self.items[index]

    def __repr__(self) -> str:
        return f"<ResultSet: {len(self.items)} of {self.total} (offset {self.offset})>"


def default_limit(repository: Repository[Any]) -> int | None:
    """The page size of a new query: the aggregate's ``limit`` option (Protean's default 100)."""
    limit = repository.aggregate_cls.meta_.options.get("limit", 100)
    return limit if isinstance(limit, int) and limit > 0 else None


class QuerySet:
    """A lazy query over one repository; every method returns a new QuerySet.

    Nothing is read until ``all()``, ``count()``, iteration or ``len()``. As in
    Protean, a page holds at most the aggregate's ``limit`` option (100 unless set)
    until ``.limit(n)`` or ``.limit(None)`` says otherwise.
    """

    def __init__(
        self,
        repository: Repository[Any],
        criteria: Q | None = None,
        ordering: tuple[str, ...] = (),
        offset: int = 0,
        limit: int | None = None,
    ) -> None:
        self._repository = repository
        self._criteria = criteria or Q()
        self._ordering = ordering
        self._offset = offset
        self._limit = limit

    def _clone(self, **changes: Any) -> QuerySet:
        values: dict[str, Any] = {
            "criteria": self._criteria,
            "ordering": self._ordering,
            "offset": self._offset,
            "limit": self._limit,
        }
        values.update(changes)
        return QuerySet(self._repository, **values)

    def filter(self, *args: Q, **kwargs: Any) -> QuerySet:
        """Keep aggregates matching every condition (``field=value``, ``field__gt=value``, ``Q(...)``)."""
        return self._clone(criteria=self._criteria & Q(*args, **kwargs))

    def exclude(self, *args: Q, **kwargs: Any) -> QuerySet:
        """Drop aggregates matching all the given conditions."""
        if not args and not kwargs:
            return self._clone()  # nothing to exclude (`~Q()` would exclude everything)
        return self._clone(criteria=self._criteria & ~Q(*args, **kwargs))

    def order_by(self, *fields: Any) -> QuerySet:
        """Sort by fields (``"-name"`` for descending); a list or several names."""
        names: list[str] = []
        for item in fields:
            names.extend([item] if isinstance(item, str) else list(item))
        for name in names:
            self._repository._clean(name.lstrip("-"), None)
        return self._clone(ordering=tuple(names))

    def limit(self, limit: int | None) -> QuerySet:
        """At most ``limit`` items per page (None: no limit)."""
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise IncorrectUsageError(f"limit must be a non-negative integer or None, not {limit!r}")
        return self._clone(limit=limit)

    def offset(self, offset: int) -> QuerySet:
        """Skip the first ``offset`` matches."""
        if not isinstance(offset, int) or offset < 0:
            raise IncorrectUsageError(f"offset must be a non-negative integer, not {offset!r}")
        return self._clone(offset=offset)

    def all(self) -> ResultSet:
        """Run the query: a :class:`ResultSet` with the page and the total."""
        found = matching(self._repository, self._criteria)
        if self._ordering:
            for name in reversed(self._ordering):
                found.sort(key=_doc_sort_key(name.lstrip("-")), reverse=name.startswith("-"))
        end = None if self._limit is None else self._offset + self._limit
        page = found[self._offset : end]
        items = [self._repository._instance(key, doc) for key, doc in page]
        return ResultSet(self._offset, self._limit, len(found), items)

    def count(self) -> int:
        """How many aggregates match (ignoring limit and offset)."""
        return len(matching(self._repository, self._criteria))

    def first(self) -> Any:
        """The first match in this query's order, or None."""
        return self._clone(limit=1).all().first

    def update(self, **values: Any) -> int:
        """Not supported: change aggregates through their methods and ``repository.add``."""
        raise NotSupportedError("QuerySet.update is not supported yet; load, change and add each aggregate")

    def delete(self) -> int:
        """Not supported: the workbench never deletes aggregates."""
        raise NotSupportedError("QuerySet.delete is not supported yet")

    def __iter__(self) -> Iterator[Any]:
        return iter(self.all().items)

    def __len__(self) -> int:
        return len(self.all().items)

    def __bool__(self) -> bool:
        return bool(self._clone(limit=1).all().items)

    def __getitem__(self, index: Any) -> Any:
        return self.all().items[index]

    def __repr__(self) -> str:
        return f"<QuerySet {self._repository.aggregate_cls.__name__} {self._criteria!r}>"
