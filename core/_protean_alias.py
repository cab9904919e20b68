"""Make ``import protean`` resolve to this engine, so Protean domain files load unchanged."""

from __future__ import annotations

import sys
import types

from workbench.core import context, exceptions, fields, handler
from workbench.core.aggregate import BaseAggregate
from workbench.core.domain import Domain
from workbench.core.event import BaseEvent
from workbench.core.handler import BaseEventHandler
from workbench.core.unit_of_work import UnitOfWork

from workbench import core


def _module(name: str, **attrs: object) -> types.ModuleType:
    module = types.ModuleType(name, f"workbench stand-in for Protean's {name}")
    module.__dict__.update(attrs)
    module.__path__ = []  # type: ignore[attr-defined]  # a package, so submodules import
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
    modules = {
        "protean": _module(
            "protean",
            __workbench__=True,
            **public,
            **field_names,
            exceptions=exceptions,
            fields=None,
        ),
        "protean.fields": _module("protean.fields", **field_names),
        "protean.exceptions": _module(
            "protean.exceptions",
            **{k: v for k, v in vars(exceptions).items() if isinstance(v, type)},
        ),
        "protean.globals": _module("protean.globals", current_domain=context.current_domain),
        "protean.utils": _module("protean.utils"),
        "protean.utils.globals": _module("protean.utils.globals", current_domain=context.current_domain),
        "protean.utils.mixins": _module("protean.utils.mixins", handle=handler.handle, read=core.read),
        "protean.domain": _module("protean.domain", Domain=Domain),
        "protean.core": _module("protean.core"),
        "protean.core.aggregate": _module("protean.core.aggregate", BaseAggregate=BaseAggregate),
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
