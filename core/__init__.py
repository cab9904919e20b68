"""The workbench engine: event-driven domain models with Protean's API names.

Domain files written for Protean (``from protean import Domain, handle``) load
unchanged through :func:`core.loader.load_domain`; plain Python code can import the
same names from here. Names are imported on first use, so that importing a small
module such as :mod:`core.tuning` stays cheap (``workbench --help`` starts fast).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.aggregate import BaseAggregate
    from core.context import current_domain
    from core.domain import Domain
    from core.event import BaseEvent
    from core.handler import BaseEventHandler, handle
    from core.message import Message
    from core.projection import BaseProjection, BaseProjector, on
    from core.query import BaseQuery, BaseQueryHandler, read
    from core.subscriber import BaseSubscriber
    from core.unit_of_work import UnitOfWork

_EXPORTS = {
    "BaseAggregate": "core.aggregate",
    "BaseEvent": "core.event",
    "BaseEventHandler": "core.handler",
    "Domain": "core.domain",
    "Message": "core.message",
    "UnitOfWork": "core.unit_of_work",
    "current_domain": "core.context",
    "handle": "core.handler",
    "on": "core.projection",
    "read": "core.query",
    "BaseProjection": "core.projection",
    "BaseProjector": "core.projection",
    "BaseQuery": "core.query",
    "BaseQueryHandler": "core.query",
    "BaseSubscriber": "core.subscriber",
}

__all__ = [
    "BaseAggregate",
    "BaseEvent",
    "BaseEventHandler",
    "BaseProjection",
    "BaseProjector",
    "BaseQuery",
    "BaseQueryHandler",
    "BaseSubscriber",
    "Domain",
    "Message",
    "UnitOfWork",
    "current_domain",
    "handle",
    "on",
    "read",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
