"""Queries and query handlers: structured reads of projections (``domain.dispatch(query)``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from workbench.core._model import ElementMeta, ImmutableModel, collect_fields, derive_class
from workbench.core.exceptions import ConfigurationError, IncorrectUsageError
from workbench.core.handler import handler_methods

if TYPE_CHECKING:
    from workbench.core.domain import Domain


def read(target_cls: Any) -> Callable[[Any], Any]:
    """Bind a query handler method to one query class. No unit of work: reads return values."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        if getattr(fn, "_target_cls", None) is not None:
            raise IncorrectUsageError(f"`{fn.__qualname__}` is decorated twice; one query per method")

        @functools.wraps(fn)
        def wrapper(self: Any, query: Any) -> Any:
            return fn(self, query)

        wrapper._target_cls = target_cls  # type: ignore[attr-defined]
        wrapper._read = True  # type: ignore[attr-defined]
        return wrapper

    return decorator


class BaseQuery(ImmutableModel):
    """An immutable request for data (``@domain.query(part_of=Projection)``)."""

    _immutable_kind = "Query"

    def to_dict(self) -> dict[str, Any]:
        """Field values as JSON."""
        return self._fields_json()


class BaseQueryHandler:
    """Base of every query handler class."""

    meta_: ClassVar[ElementMeta]
    _readers: ClassVar[dict[str, str]]


def register_query(domain: Domain, cls: type, given: dict[str, Any]) -> type[BaseQuery]:
    """Derive and describe a query class."""
    unknown = set(given) - {"part_of", "abstract", "suppress_checks"}
    if unknown:
        raise ConfigurationError(f"Unknown option(s) {', '.join(sorted(unknown))} for query `{cls.__name__}`")
    if not given.get("part_of"):
        raise IncorrectUsageError(f"Query `{cls.__name__}` needs to be associated with a projection (part_of=...)")
    new_cls = derive_class(cls, BaseQuery)
    meta = ElementMeta(
        kind="QUERY", domain=domain, fields=collect_fields(new_cls), part_of=given["part_of"], options=dict(given)
    )
    meta.finish()
    new_cls.meta_ = meta  # type: ignore[attr-defined]
    new_cls.__type__ = f"{domain.camel_case_name}.{cls.__name__}"  # type: ignore[attr-defined]
    return new_cls  # type: ignore[return-value]


def register_query_handler(domain: Domain, cls: type, given: dict[str, Any]) -> type[BaseQueryHandler]:
    """Derive and describe a query handler (its methods are checked at ``init``)."""
    unknown = set(given) - {"part_of", "suppress_checks"}
    if unknown:
        raise ConfigurationError(f"Unknown option(s) {', '.join(sorted(unknown))} for query handler `{cls.__name__}`")
    if not given.get("part_of"):
        raise IncorrectUsageError(f"Query Handler `{cls.__name__}` needs to be associated with a Projection")
    new_cls = derive_class(cls, BaseQueryHandler)
    new_cls.meta_ = ElementMeta(kind="QUERY_HANDLER", domain=domain, part_of=given["part_of"], options=dict(given))  # type: ignore[attr-defined]
    new_cls._readers = {}  # type: ignore[attr-defined]
    return new_cls  # type: ignore[return-value]


def _projection(domain: Domain, owner: type, target: Any) -> type:
    projections = domain.registry.projections
    found = projections.get(target) if isinstance(target, str) else (target if target in projections.values() else None)
    if found is None:
        raise ConfigurationError(
            f"`{owner.__name__}` is part_of `{getattr(target, '__name__', target)}`, which is not a registered "
            f"projection (known: {', '.join(projections) or 'none'})"
        )
    return found


def wire_queries(domain: Domain) -> None:
    """Resolve queries and query handlers; each query is handled by exactly one method."""
    for query in domain.registry.queries.values():
        query.meta_.part_of = _projection(domain, query, query.meta_.part_of)
    handled: dict[str, str] = {}
    queries = set(domain.registry.queries.values())
    for handler in domain.registry.query_handlers.values():
        handler.meta_.part_of = _projection(domain, handler, handler.meta_.part_of)
        readers: dict[str, str] = {}
        for name, target in handler_methods(handler):
            where = f"Method `{name}` in Query Handler `{handler.__name__}`"
            if not getattr(getattr(handler, name), "_read", False):
                raise IncorrectUsageError(
                    f"{where} is decorated with `@handle`, which wraps execution in a UnitOfWork; "
                    "query handlers read, so use `@read`"
                )
            if target not in queries:
                raise IncorrectUsageError(f"{where} is not associated with a query")
            if target.meta_.part_of is not handler.meta_.part_of:
                raise IncorrectUsageError(
                    f"Query `{target.__name__}` in Query Handler `{handler.__name__}` is not associated with "
                    f"its projection `{handler.meta_.part_of.__name__}`"
                )
            if target.__type__ in handled:
                raise IncorrectUsageError(
                    f"Query {target.__name__} cannot be handled by multiple handlers "
                    f"({handled[target.__type__]} and {handler.__name__}.{name})"
                )
            handled[target.__type__] = f"{handler.__name__}.{name}"
            readers[target.__type__] = name
        handler._readers = readers


def dispatch(domain: Domain, query: BaseQuery) -> Any:
    """Run the one query handler method for ``query`` and return its result."""
    if not isinstance(query, BaseQuery) or type(query) not in domain.registry.queries.values():
        raise IncorrectUsageError(f"`{type(query).__name__}` is not a query registered with {domain!r}")
    for handler in domain.registry.query_handlers.values():
        name = handler._readers.get(type(query).__type__)
        if name is not None:
            with domain.domain_context():
                return getattr(handler(), name)(query)
    raise IncorrectUsageError(f"no query handler reads `{type(query).__name__}`")
