"""Projections (read models) and the projectors that keep them up to date."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.core._registry import AGGREGATE_OPTIONS, HANDLER_OPTIONS, method_map, register_aggregate, resolve_part_of
from workbench.core.aggregate import BaseAggregate
from workbench.core.exceptions import ConfigurationError, IncorrectUsageError
from workbench.core.handler import BaseEventHandler, handle
from workbench.core.subscription_config import resolve as resolve_subscription

if TYPE_CHECKING:
    from workbench.core.domain import Domain

# Protean's projector decorator is `on`; it is `handle` under another name.
on = handle

# A projector takes a handler's options, but names its projection and categories its own way.
PROJECTOR_OPTIONS = (HANDLER_OPTIONS - {"part_of", "source_stream", "stream_category"}) | {
    "projector_for",
    "aggregates",
    "stream_categories",
    "idempotent",
}


class BaseProjection(BaseAggregate):
    """A read model: fields and an identity, stored and queried like an aggregate."""

    def raise_(self, event: Any) -> None:
        """Projections hold state derived from events; they never raise any."""
        raise IncorrectUsageError(f"projection `{type(self).__name__}` cannot raise events")


class BaseProjector(BaseEventHandler):
    """Base of every projector class (``@domain.projector`` derives plain classes from it)."""


def register_projection(domain: Domain, cls: type, given: dict[str, Any]) -> type[BaseProjection]:
    """Derive and describe a projection class (stored in ``projection:<name>``)."""
    if not isinstance(cls, type) or not issubclass(cls, BaseProjection):
        namespace = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
        cls = type(cls.__name__, (BaseProjection,), namespace)
    unknown = set(given) - AGGREGATE_OPTIONS
    if unknown:
        raise ConfigurationError(f"Unknown option(s) {', '.join(sorted(unknown))} for projection `{cls.__name__}`")
    new_cls = register_aggregate(domain, cls, given)
    new_cls.meta_.kind = "PROJECTION"
    new_cls.meta_.options["table"] = new_cls.meta_.options["table"].replace("aggregate:", "projection:", 1)
    return new_cls  # type: ignore[return-value]


def register_projector(domain: Domain, cls: type, given: dict[str, Any]) -> type[BaseProjector]:
    """Derive and describe a projector (its categories and methods are checked at ``init``)."""
    from workbench.core._model import ElementMeta, derive_class
    from workbench.core._registry import _options

    opts = _options(cls, given, PROJECTOR_OPTIONS, "projector")
    if not opts.get("projector_for"):
        raise IncorrectUsageError(f"Projector `{cls.__name__}` needs to be associated with a Projection")
    if not opts.get("aggregates") and not opts.get("stream_categories"):
        raise IncorrectUsageError(
            f"Projector `{cls.__name__}` needs to be associated with at least one Aggregate or Stream Category"
        )
    opts.setdefault("subscription_profile", "projection")
    new_cls = derive_class(cls, BaseProjector)
    new_cls.meta_ = ElementMeta(kind="PROJECTOR", domain=domain, part_of=opts["projector_for"], options=opts)  # type: ignore[attr-defined]
    new_cls._handlers = {}  # type: ignore[attr-defined]
    return new_cls  # type: ignore[return-value]


def wire_projector(domain: Domain, projector: type[BaseProjector]) -> None:
    """Resolve the projection and categories, and build the method map."""
    meta = projector.meta_
    projections = domain.registry.projections
    target = meta.part_of
    found = projections.get(target) if isinstance(target, str) else (target if target in projections.values() else None)
    if found is None:
        name = getattr(target, "__name__", target)
        raise ConfigurationError(
            f"`{projector.__name__}` is a projector for `{name}`, which is not a registered projection "
            f"(known: {', '.join(projections) or 'none'})"
        )
    meta.part_of = found
    aggregates = meta.options.get("aggregates") or []
    categories = [str(resolve_part_of(domain, projector, a).meta_.stream_category) for a in aggregates]
    categories += [domain.normalize_category(c) for c in meta.options.get("stream_categories") or []]
    meta.stream_categories = list(dict.fromkeys(categories))
    meta.stream_category = meta.stream_categories[0]
    projector._handlers = method_map(domain, projector, meta.stream_categories)
    meta.subscription = resolve_subscription(domain, projector)
