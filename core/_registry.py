"""Turning user classes into registered elements: option checks and class derivation."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from workbench.core._model import ElementMeta, collect_fields, derive_class
from workbench.core._naming import underscore
from workbench.core.aggregate import BaseAggregate
from workbench.core.event import BaseEvent
from workbench.core.exceptions import ConfigurationError, IncorrectUsageError
from workbench.core.fields import Auto, HasMany, HasOne
from workbench.core.handler import ANY, BaseEventHandler, handler_methods
from workbench.core.invariants import collect_invariants
from workbench.core.subscription_config import resolve as resolve_subscription

if TYPE_CHECKING:
    from workbench.core.domain import Domain

AGGREGATE_OPTIONS = frozenset(
    {
        "abstract",
        "aggregate_cluster",
        "auto_add_id_field",
        "fact_events",
        "indexes",
        "event_sourced",
        "is_event_sourced",
        "provider",
        "schema_name",
        "stream_category",
        "limit",
        "reserved",
        "suppress_checks",
    }
)
EVENT_OPTIONS = frozenset(
    {"abstract", "aggregate_cluster", "part_of", "published", "version", "superseded_by", "lenient", "suppress_checks"}
)
HANDLER_OPTIONS = frozenset(
    {
        "part_of",
        "source_stream",
        "stream_category",
        "retries",
        "backoff",
        "retry_exceptions",
        "sequential_by",
        "subscription_type",
        "subscription_profile",
        "subscription_config",
        "suppress_checks",
        "replayable",
    }
)


def _options(cls: type, given: dict[str, Any], allowed: frozenset[str], what: str) -> dict[str, Any]:
    """Decorator options merged over an inner ``class Meta``; unknown names are errors."""
    merged: dict[str, Any] = {}
    meta_cls = cls.__dict__.get("Meta")
    if meta_cls is not None:
        merged.update({k: v for k, v in vars(meta_cls).items() if not k.startswith("_")})
    merged.update(given)
    unknown = sorted(set(merged) - allowed)
    if unknown:
        raise ConfigurationError(
            f"Unknown option(s) {', '.join(unknown)} for {what} `{cls.__name__}`; "
            f"valid options: {', '.join(sorted(allowed))}"
        )
    return merged


def register_aggregate(domain: Domain, cls: type, given: dict[str, Any]) -> type[BaseAggregate]:
    """Derive and describe an aggregate class."""
    opts = _options(cls, given, AGGREGATE_OPTIONS, "aggregate")
    if opts.get("event_sourced") or opts.get("is_event_sourced"):
        from workbench.core.event_sourcing import derive_event_sourced

        opts["is_event_sourced"] = True
        new_cls = derive_event_sourced(cls)
    else:
        new_cls = derive_class(cls, BaseAggregate)
    fields = collect_fields(new_cls)
    id_fields = [name for name, f in fields.items() if f.identifier]
    if len(id_fields) > 1:
        raise IncorrectUsageError(
            f"aggregate `{cls.__name__}` has more than one identifier field: {', '.join(id_fields)}"
        )
    if not id_fields:
        if not opts.get("auto_add_id_field", True):
            raise IncorrectUsageError(f"aggregate `{cls.__name__}` has no identifier field")
        if "id" in fields:
            raise IncorrectUsageError(f"aggregate `{cls.__name__}` has a field `id` that is not identifier=True")
        auto = Auto(identifier=True, default=domain.new_id)
        auto.name = "id"
        fields["id"] = auto
        id_fields = ["id"]
    category = domain.normalize_category(opts.get("stream_category") or underscore(cls.__name__))
    opts["table"] = f"aggregate:{underscore(cls.__name__)}"
    meta = ElementMeta(
        kind="AGGREGATE",
        domain=domain,
        fields=fields,
        id_field=id_fields[0],
        stream_category=category,
        abstract=bool(opts.get("abstract")),
        options=opts,
    )
    meta.invariants = collect_invariants(new_cls)
    opts["associations"] = tuple(name for name, f in fields.items() if isinstance(f, (HasMany, HasOne)))
    meta.finish()
    new_cls.meta_ = meta  # type: ignore[attr-defined]
    if opts["associations"]:
        from workbench.core.entity import add_child_helpers

        add_child_helpers(new_cls)
    return new_cls  # type: ignore[return-value]


def register_event(domain: Domain, cls: type, given: dict[str, Any]) -> type[BaseEvent]:
    """Derive and describe an event class."""
    opts = _options(cls, given, EVENT_OPTIONS, "event")
    if not opts.get("part_of") and not opts.get("abstract"):
        raise IncorrectUsageError(f"Event `{cls.__name__}` needs to be associated with an aggregate (part_of=...)")
    declared = cls.__dict__.get("__version__")
    if declared is not None and "version" in given:
        raise IncorrectUsageError(f"`{cls.__name__}` declares its version twice (__version__ and version=)")
    version = int(given.get("version", declared or 1))
    new_cls = derive_class(cls, BaseEvent)
    meta = ElementMeta(
        kind="EVENT",
        domain=domain,
        fields=collect_fields(new_cls),
        part_of=opts.get("part_of"),
        abstract=bool(opts.get("abstract")),
        version=version,
        options=opts,
    )
    meta.finish()
    meta.fqn = f"{cls.__module__}.{cls.__qualname__}"
    new_cls.meta_ = meta  # type: ignore[attr-defined]
    new_cls.__type__ = f"{domain.camel_case_name}.{cls.__name__}.v{version}"  # type: ignore[attr-defined]
    return new_cls  # type: ignore[return-value]


def register_handler(domain: Domain, cls: type, given: dict[str, Any]) -> type[BaseEventHandler]:
    """Derive and describe an event handler class (methods are checked at ``init``)."""
    opts = _options(cls, given, HANDLER_OPTIONS, "event handler")
    if not opts.get("part_of"):
        raise IncorrectUsageError(
            f"Event Handler `{cls.__name__}` needs to be associated with an aggregate (part_of=...)"
        )
    new_cls = derive_class(cls, BaseEventHandler)
    meta = ElementMeta(kind="EVENT_HANDLER", domain=domain, part_of=opts["part_of"], options=opts)
    if opts.get("stream_category"):
        meta.stream_category = domain.normalize_category(opts["stream_category"])
    new_cls.meta_ = meta  # type: ignore[attr-defined]
    new_cls._handlers = {}  # type: ignore[attr-defined]
    return new_cls  # type: ignore[return-value]


def resolve_part_of(domain: Domain, owner: type, part_of: Any) -> type[BaseAggregate]:
    """The registered aggregate class named by ``part_of`` (a class or its name)."""
    aggregates = domain.registry.aggregates
    if isinstance(part_of, str):
        found = aggregates.get(part_of)
    else:
        found = part_of if part_of in aggregates.values() else None
    if found is None:
        name = part_of if isinstance(part_of, str) else getattr(part_of, "__name__", part_of)
        raise ConfigurationError(
            f"`{owner.__name__}` is part_of `{name}`, which is not a registered aggregate "
            f"(known: {', '.join(aggregates) or 'none'})"
        )
    return found


def wire_handler(domain: Domain, handler: type[BaseEventHandler]) -> None:
    """Resolve a handler's aggregate and category and build its method map, checking each target."""
    meta = handler.meta_
    meta.part_of = resolve_part_of(domain, handler, meta.part_of)
    if meta.stream_category is None:
        meta.stream_category = meta.part_of.meta_.stream_category
    meta.stream_categories = [meta.stream_category]
    handler._handlers = method_map(domain, handler, meta.stream_categories)
    meta.subscription = resolve_subscription(domain, handler)


def method_map(domain: Domain, handler: type, categories: list[str]) -> dict[str, list[str]]:
    """``{event type: [method names]}`` of a handler or projector, checking every target.

    Each target must be an event of this domain from a category the class listens to
    (or ``"$any"``, at most once); anything else would silently never run.
    """
    events = set(domain.registry.events.values())
    handlers: dict[str, list[str]] = {}
    any_methods: list[str] = []
    listens = ", ".join(f"`{c}`" for c in categories)
    for name, target in handler_methods(handler):
        where = f"`{handler.__name__}.{name}`"
        if target == ANY:
            any_methods.append(name)
            handlers[ANY] = [name]
            continue
        if target not in events:
            raise IncorrectUsageError(
                f"{where} handles `{getattr(target, '__name__', target)}`, which is not an event "
                f"registered with domain `{domain.name}`"
            )
        category = target.meta_.stream_category
        if "$all" not in categories and category not in categories:
            raise IncorrectUsageError(
                f"{where} handles `{target.__name__}` from category `{category}`, but "
                f"`{handler.__name__}` listens to {listens}; it would never run "
                f'(set stream_category="{category}")'
            )
        handlers.setdefault(target.__type__, []).append(name)
    if len(any_methods) > 1:
        raise IncorrectUsageError(
            f"`{handler.__name__}` has more than one $any method ({', '.join(any_methods)}); "
            "$any is the single fallback for events without their own method"
        )
    if not handlers:
        warnings.warn(f"`{handler.__name__}` has no @handle methods", stacklevel=3)
    return handlers
