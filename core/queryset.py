"""Protean's repository query API: ``Q``, lookups, ``QuerySet`` and ``ResultSet``.

``repo.query.filter(status="SHIPPED").exclude(quantity__lt=3).order_by("-quantity")
.limit(10).all()`` returns a :class:`ResultSet` (``.items``, ``.total``, ``.first``).
Criteria are evaluated over the store's documents: an equality (or ``__in``) on a
field at the top level of the criteria is answered by the store's hash index, so it
costs the same with ten or a million aggregates; every other test runs on those
candidates only. Inside a unit of work the aggregates it has already saved (but not
yet committed) are read in their pending state, as Protean's session would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from workbench.core.exceptions import IncorrectUsageError, NotSupportedError

if TYPE_CHECKING:
    from workbench.core.repository import Repository


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _compare(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    # None never orders against a value, and mixed types never match: a predicate, not a crash.
    def run(value: Any, arg: Any) -> bool:
        if value is None or arg is None:
            return False
        try:
            return test(value, arg)
        except TypeError:
            return False

    return run


def _contains(value: Any, arg: Any) -> bool:
    if isinstance(value, (str, list, tuple, dict)):
        try:
            return arg in value
        except TypeError:
            return False
    return False


def _icontains(value: Any, arg: Any) -> bool:
    text = _text(value)
    return text is not None and isinstance(arg, str) and arg.lower() in text.lower()


# The lookups Protean's repositories offer (``field__<lookup>=value``).
LOOKUPS: dict[str, Callable[[Any, Any], bool]] = {
    "exact": lambda value, arg: value == arg,
    "iexact": lambda value, arg: (
        value == arg if not isinstance(value, str) else isinstance(arg, str) and value.lower() == arg.lower()
    ),
    "ne": lambda value, arg: value != arg,
    "contains": _contains,
    "icontains": _icontains,
    "startswith": lambda value, arg: isinstance(value, str) and value.startswith(arg),
    "endswith": lambda value, arg: isinstance(value, str) and value.endswith(arg),
    "gt": _compare(lambda value, arg: value > arg),
    "gte": _compare(lambda value, arg: value >= arg),
    "lt": _compare(lambda value, arg: value < arg),
    "lte": _compare(lambda value, arg: value <= arg),
    "in": lambda value, arg: value in arg,
    "any": lambda value, arg: any(item in arg for item in (value if isinstance(value, list) else [value])),
    "overlap": lambda value, arg: any(item in arg for item in (value if isinstance(value, list) else [value])),
    "isnull": lambda value, arg: (value is None) == bool(arg),
}
# Lookups whose argument is a collection of field values (each cleaned like the field).
_MANY = frozenset({"in", "any", "overlap"})
# Lookups whose argument is text matched inside the value: not cleaned as the field.
_RAW = frozenset({"contains", "icontains", "startswith", "endswith", "iexact", "isnull"})


class Q:
    """A filter condition that combines with ``&`` (and), ``|`` (or) and ``~`` (not).

    ``Q(status="SHIPPED") | Q(quantity__gte=10)``; keyword arguments inside one ``Q``
    are combined with *and*.
    """

    AND = "AND"
    OR = "OR"

    def __init__(self, *args: Q, _connector: str = "AND", _negated: bool = False, **kwargs: Any) -> None:
        for arg in args:
            if not isinstance(arg, Q):
                raise IncorrectUsageError(f"positional filter arguments must be Q objects, not {arg!r}")
        self.children: list[Q | tuple[str, Any]] = [*args, *kwargs.items()]
        self.connector = _connector
        self.negated = _negated

    def _combine(self, other: Any, connector: str) -> Q:
        if not isinstance(other, Q):
            raise TypeError(f"cannot combine a Q object with {type(other).__name__}")
        node = Q(_connector=connector)
        node.children = [self, other]
        return node

    def __and__(self, other: Any) -> Q:
        return self._combine(other, self.AND)

    def __or__(self, other: Any) -> Q:
        return self._combine(other, self.OR)

    def __invert__(self) -> Q:
        node = Q(_connector=self.connector, _negated=not self.negated)
        node.children = list(self.children)
        return node

    def __repr__(self) -> str:
        inner = f" {self.connector} ".join(repr(c) if isinstance(c, Q) else f"{c[0]}={c[1]!r}" for c in self.children)
        return f"{'NOT ' if self.negated else ''}({inner})"


Predicate = Callable[[dict[str, Any]], bool]


class F:
    """A reference to another field of the same aggregate: ``filter(sold__gt=F("stock"))``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"F({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, F) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("F", self.name))


def _field_test(name: str, test: Callable[[Any, Any], bool], arg: Any) -> Predicate:
    if isinstance(arg, F):
        other = arg.name

        def compare(doc: dict[str, Any]) -> bool:
            return test(doc.get(name), doc.get(other))

        return compare

    def run(doc: dict[str, Any]) -> bool:
        return test(doc.get(name), arg)

    return run


class _Compiler:
    """Turns a ``Q`` tree into a predicate over stored documents, cleaning arguments once."""

    def __init__(self, repository: Repository[Any]) -> None:
        self.repository = repository

    def condition(self, spec: str, value: Any) -> tuple[str, str, Any]:
        """``(field, lookup, cleaned argument)`` for ``field__lookup=value``."""
        name, _, lookup = spec.partition("__")
        lookup = lookup or "exact"
        if lookup not in LOOKUPS:
            raise IncorrectUsageError(f"unknown lookup `{lookup}` in `{spec}`; use one of {', '.join(LOOKUPS)}")
        clean = self.repository._clean
        if isinstance(value, F):
            clean(name, None)
            clean(value.name, None)  # both fields must exist
            return name, lookup, value
        if lookup in _MANY:
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise IncorrectUsageError(f"`{spec}` needs a list of values, not {value!r}")
            return name, lookup, [clean(name, v) for v in value]
        if lookup in _RAW:
            clean(name, None)  # only checks that the field exists
            return name, lookup, value
        return name, lookup, clean(name, value)

    def compile(self, node: Q) -> Predicate:
        parts: list[Predicate] = []
        for child in node.children:
            if isinstance(child, Q):
                parts.append(self.compile(child))
            else:
                name, lookup, arg = self.condition(*child)
                parts.append(_field_test(name, LOOKUPS[lookup], arg))
        if not parts:
            combined: Predicate = lambda doc: True  # noqa: E731
        elif len(parts) == 1:
            combined = parts[0]
        elif node.connector == Q.OR:
            combined = lambda doc: any(p(doc) for p in parts)  # noqa: E731
        else:
            combined = lambda doc: all(p(doc) for p in parts)  # noqa: E731
        if node.negated:
            inner = combined
            return lambda doc: not inner(doc)
        return combined

    def index_probe(self, node: Q) -> tuple[str, list[Any]] | None:
        """An indexed equality (or ``__in``) that every match must satisfy, if the criteria have one."""
        if node.negated or (node.connector == Q.OR and len(node.children) > 1):
            return None
        for child in node.children:
            if isinstance(child, Q):
                probe = self.index_probe(child)
                if probe is not None:
                    return probe
                continue
            name, lookup, arg = self.condition(*child)
            if isinstance(arg, F):
                continue
            if lookup == "exact":
                return name, [arg]
            if lookup == "in":
                return name, list(dict.fromkeys(arg))
        return None


def matching(repository: Repository[Any], criteria: Q, limit: int | None = None) -> list[tuple[Any, dict[str, Any]]]:
    """``(key, document)`` of every aggregate matching ``criteria``.

    Without ``order_by`` the order is the store's (an ``__in`` probe follows the listed
    values instead).
    Pending aggregates of the current unit of work are matched in their pending state;
    new ones follow the stored ones.
    """
    compiler = _Compiler(repository)
    test = compiler.compile(criteria)
    rows = repository.domain.store.rows(repository.table)
    pending = repository._pending_docs()
    probe = compiler.index_probe(criteria)
    if probe is None:
        keys: Any = rows.keys()
    else:
        name, values = probe
        if name == repository.id_field:
            keys = [v for v in values if v in rows or v in pending]
        else:
            keys_where = repository.domain.store.keys_where
            keys = [k for v in values for k in keys_where(repository.table, name, v)]
    result: list[tuple[Any, dict[str, Any]]] = []
    seen: set[Any] = set()
    for key in keys:
        if key in seen:
            continue
        seen.add(key)
        doc = pending.get(key)
        if doc is None:
            doc = rows.get(key)
        if doc is not None and test(doc):
            result.append((key, doc))
            if limit is not None and len(result) >= limit:
                return result
    # Pending changes can make an aggregate match that the committed index did not offer.
    for key, doc in pending.items():
        if key not in seen and test(doc):
            result.append((key, doc))
            if limit is not None and len(result) >= limit:
                break
    return result


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
