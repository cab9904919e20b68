"""Query criteria: ``Q`` trees, ``F`` field references, lookups, and matching over the store.

``Q(status="SHIPPED") | ~Q(quantity__lt=3)`` compiles to a predicate over stored
documents. An equality (or ``__in``) at the top level of the criteria is answered by
the store's hash index, so it costs the same with ten or a million aggregates; every
other test runs on those candidates only. Inside a unit of work the aggregates it has
already saved (not yet committed) are matched in their pending state, as Protean's
session would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workbench.core.exceptions import IncorrectUsageError

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
