"""The workbench engine: event-driven domain models with Protean's API names.

Domain files written for Protean (``from protean import Domain, handle``) load
unchanged through :func:`core.loader.load_domain`; plain Python code can import the
same names from here.
"""

from core.aggregate import BaseAggregate
from core.context import current_domain
from core.domain import Domain
from core.event import BaseEvent
from core.handler import BaseEventHandler, handle
from core.message import Message
from core.unit_of_work import UnitOfWork

__all__ = [
    "BaseAggregate",
    "BaseEvent",
    "BaseEventHandler",
    "Domain",
    "Message",
    "UnitOfWork",
    "current_domain",
    "handle",
]
