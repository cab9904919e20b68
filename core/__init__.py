"""The workbench engine: event-driven domain models with Protean's API names.

Domain files written for Protean (``from protean import Domain, handle``) load
unchanged through :func:`workbench.core.loader.load_domain`; plain Python code can import the
same names from here. Names are imported on first use, so that importing a small
module such as :mod:`workbench.core.tuning` stays cheap (``workbench --help`` starts fast).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.core.aggregate import BaseAggregate
    from workbench.core.command import BaseCommand
    from workbench.core.command_handler import BaseCommandHandler
    from workbench.core.context import current_domain
    from workbench.core.domain import Domain
    from workbench.core.entity import BaseEntity
    from workbench.core.event import BaseEvent
    from workbench.core.event_sourcing import apply
    from workbench.core.handler import BaseEventHandler, handle
    from workbench.core.invariants import atomic_change, invariant
    from workbench.core.message import Message
    from workbench.core.projection import BaseProjection, BaseProjector, on
    from workbench.core.query import BaseQuery, BaseQueryHandler, read
    from workbench.core.services import BaseApplicationService, BaseDomainService, use_case
    from workbench.core.subscriber import BaseSubscriber
    from workbench.core.unit_of_work import UnitOfWork
    from workbench.core.value_object import BaseValueObject

_EXPORTS = {
    "BaseAggregate": "workbench.core.aggregate",
    "BaseCommand": "workbench.core.command",
    "BaseCommandHandler": "workbench.core.command_handler",
    "apply": "workbench.core.event_sourcing",
    "BaseEvent": "workbench.core.event",
    "BaseEventHandler": "workbench.core.handler",
    "Domain": "workbench.core.domain",
    "Message": "workbench.core.message",
    "UnitOfWork": "workbench.core.unit_of_work",
    "current_domain": "workbench.core.context",
    "handle": "workbench.core.handler",
    "on": "workbench.core.projection",
    "read": "workbench.core.query",
    "BaseProjection": "workbench.core.projection",
    "BaseProjector": "workbench.core.projection",
    "BaseQuery": "workbench.core.query",
    "BaseQueryHandler": "workbench.core.query",
    "BaseSubscriber": "workbench.core.subscriber",
    "BaseValueObject": "workbench.core.value_object",
    "BaseEntity": "workbench.core.entity",
    "BaseDomainService": "workbench.core.services",
    "BaseApplicationService": "workbench.core.services",
    "use_case": "workbench.core.services",
    "invariant": "workbench.core.invariants",
    "atomic_change": "workbench.core.invariants",
}

__all__ = [
    "BaseAggregate",
    "BaseApplicationService",
    "BaseCommand",
    "BaseCommandHandler",
    "BaseDomainService",
    "BaseEntity",
    "BaseEvent",
    "BaseEventHandler",
    "BaseProjection",
    "BaseProjector",
    "BaseQuery",
    "BaseQueryHandler",
    "BaseSubscriber",
    "BaseValueObject",
    "Domain",
    "Message",
    "UnitOfWork",
    "apply",
    "atomic_change",
    "current_domain",
    "handle",
    "invariant",
    "on",
    "read",
    "use_case",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench.core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
