"""workbench: a command-line workbench for event-driven domain models.

The engine lives in :mod:`workbench.core`, the command line in :mod:`workbench.cli`.
The names a domain file uses are re-exported here (``from workbench import Domain,
handle``); domain files written for Protean (``from protean import ...``) load
unchanged through :func:`workbench.core.loader.load_domain`. Names are imported on
first use, so that ``workbench --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.core import (
        BaseAggregate,
        BaseApplicationService,
        BaseCommand,
        BaseCommandHandler,
        BaseDomainService,
        BaseEntity,
        BaseEvent,
        BaseEventHandler,
        BaseProjection,
        BaseProjector,
        BaseQuery,
        BaseQueryHandler,
        BaseSubscriber,
        BaseValueObject,
        Domain,
        Message,
        UnitOfWork,
        apply,
        atomic_change,
        current_domain,
        handle,
        invariant,
        on,
        read,
        use_case,
    )
    from workbench.core.loader import load_domain
    from workbench.core.store import open_store
    from workbench.core.store.tinydb_view import open_tinydb

__version__ = "0.1.0"

# Beyond the engine's own names (served by workbench.core), the entry points to a store.
_EXPORTS = {
    "load_domain": "workbench.core.loader",
    "open_store": "workbench.core.store",
    "open_tinydb": "workbench.core.store.tinydb_view",
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
    "load_domain",
    "on",
    "open_store",
    "open_tinydb",
    "read",
    "use_case",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS.get(name, "workbench.core")), name)
    globals()[name] = value
    return value
