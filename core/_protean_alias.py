"""Make ``import protean`` resolve to this engine, so Protean domain files load unchanged.

Every module a Protean 0.18 domain file imports from exists here. Names the engine
implements are the real thing; names of features it does not offer yet are
:class:`~workbench.core.unsupported.Unsupported` stand-ins: importing them works, using
them stops the load with one line naming the feature. A name Protean does not have
at all still fails as an ordinary ImportError.
"""

from __future__ import annotations

import sys
import types

from workbench.core import context, exceptions, fields, handler
from workbench.core.aggregate import BaseAggregate
from workbench.core.criteria import F, Q
from workbench.core.domain import Domain
from workbench.core.event import BaseEvent
from workbench.core.handler import BaseEventHandler
from workbench.core.invariants import atomic_change
from workbench.core.protean_utils import DomainObjects, current_uow, fqn, g, utcnow_func
from workbench.core.queryset import QuerySet, ResultSet
from workbench.core.unit_of_work import UnitOfWork
from workbench.core.unsupported import Unsupported, module_getattr, unsupported_fields

from workbench import core

# Public names of Protean 0.18 modules that have no workbench counterpart yet; each
# becomes a stand-in on first import (see module docstring).
_LATER: dict[str, frozenset[str]] = {
    "protean": frozenset(
        {"Engine", "Index", "Priority", "ReadOnlyQuerySet", "ReadView", "Record", "current_priority"}
        | {"get_version", "processing_priority", "value_object_from_entity"}
    ),
    "protean.fields": frozenset({"FieldBase", "FieldSpec", "ResolvedField", "validators"}),
    "protean.utils": frozenset(
        {"Cache", "Clock", "Database", "IdentityStrategy", "IdentityType", "Processing", "SystemClock", "get_version"}
    ),
    "protean.utils.mixins": frozenset({"HandlerMixin"}),
    "protean.core.entity": frozenset({"entity_factory"}),
    "protean.core.aggregate": frozenset({"aggregate_factory", "element_to_fact_event"}),
}

_FEATURES = {
    "BaseRepository": "custom repositories (BaseRepository)",
}


def _later(name: str) -> Unsupported:
    return Unsupported(name, _FEATURES.get(name))


def _module(name: str, **attrs: object) -> types.ModuleType:
    module = types.ModuleType(name, f"workbench stand-in for Protean's {name}")
    module.__dict__.update(attrs)
    module.__path__ = []  # type: ignore[attr-defined]  # a package, so submodules import
    later = _LATER.get(name)
    if later:
        module.__getattr__ = module_getattr(name, later)  # type: ignore[method-assign]
    return module


def install() -> None:
    """Register the stand-in modules (idempotent).

    They stay installed after loading: handler bodies may import from ``protean``
    lazily, long after the domain file was imported.
    """
    if getattr(sys.modules.get("protean"), "__workbench__", False):
        return
    public = {name: getattr(core, name) for name in core.__all__}
    field_names = {name: getattr(fields, name) for name in fields.__all__}
    field_names.update(unsupported_fields())
    invariant, apply = core.invariant, core.apply
    query_api = {"Q": Q, "F": F, "QuerySet": QuerySet, "ResultSet": ResultSet}
    globals_api = {"current_domain": context.current_domain, "current_uow": current_uow, "g": g}
    public.update(globals_api)
    modules = {
        "protean": _module(
            "protean",
            __workbench__=True,
            **public,
            **field_names,
            **query_api,
            exceptions=exceptions,
            fields=None,
        ),
        "protean.fields": _module("protean.fields", **field_names),
        "protean.exceptions": _module(
            "protean.exceptions",
            **{k: v for k, v in vars(exceptions).items() if isinstance(v, type)},
        ),
        "protean.globals": _module("protean.globals", **globals_api),
        "protean.utils": _module("protean.utils", fqn=fqn, utcnow_func=utcnow_func, DomainObjects=DomainObjects),
        "protean.utils.query": _module("protean.utils.query", **query_api),
        "protean.utils.globals": _module("protean.utils.globals", **globals_api),
        "protean.utils.mixins": _module("protean.utils.mixins", handle=handler.handle, read=core.read),
        "protean.domain": _module("protean.domain", Domain=Domain),
        "protean.core": _module("protean.core"),
        "protean.core.aggregate": _module(
            "protean.core.aggregate", BaseAggregate=BaseAggregate, apply=apply, atomic_change=atomic_change
        ),
        "protean.core.entity": _module("protean.core.entity", BaseEntity=core.BaseEntity, invariant=invariant),
        "protean.core.value_object": _module("protean.core.value_object", BaseValueObject=core.BaseValueObject),
        "protean.core.command": _module("protean.core.command", BaseCommand=core.BaseCommand),
        "protean.core.command_handler": _module(
            "protean.core.command_handler", BaseCommandHandler=core.BaseCommandHandler
        ),
        "protean.core.repository": _module("protean.core.repository", BaseRepository=_later("BaseRepository")),
        "protean.core.domain_service": _module(
            "protean.core.domain_service", BaseDomainService=core.BaseDomainService, invariant=invariant
        ),
        "protean.core.application_service": _module(
            "protean.core.application_service",
            BaseApplicationService=core.BaseApplicationService,
            use_case=core.use_case,
        ),
        "protean.core.event": _module("protean.core.event", BaseEvent=BaseEvent),
        "protean.core.event_handler": _module("protean.core.event_handler", BaseEventHandler=BaseEventHandler),
        "protean.core.unit_of_work": _module("protean.core.unit_of_work", UnitOfWork=UnitOfWork),
        "protean.core.projection": _module("protean.core.projection", BaseProjection=core.BaseProjection),
        "protean.core.projector": _module("protean.core.projector", BaseProjector=core.BaseProjector, on=core.on),
        "protean.core.query": _module("protean.core.query", BaseQuery=core.BaseQuery),
        "protean.core.query_handler": _module(
            "protean.core.query_handler", BaseQueryHandler=core.BaseQueryHandler, read=core.read
        ),
        "protean.core.subscriber": _module("protean.core.subscriber", BaseSubscriber=core.BaseSubscriber),
    }
    modules["protean"].fields = modules["protean.fields"]  # type: ignore[attr-defined]
    sys.modules.update(modules)
