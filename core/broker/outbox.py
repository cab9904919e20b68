"""The transactional outbox: events reach the broker after the store committed them.

The store's event log is the outbox: an event is written in the same commit as the
aggregate change that raised it, so nothing can reach the broker that the store does not
hold, and nothing the store holds is lost on the way. :class:`OutboxRelay` reads the log
from its cursor (the document ``outbox_relay/<name>`` in the store), publishes each event of
the relayed categories with its event id as the message id, then saves the cursor. A crash
between publishing and saving the cursor publishes the same events again on restart, and
the broker drops them (publishing is idempotent by message id), so no consumer sees one twice.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from workbench.core.broker.port import BrokerPort
from workbench.core.store import DocumentChange

RELAY_TABLE = "outbox_relay"


class OutboxRelay:
    """Publishes the events of some categories from a store to a broker, at least once, deduped."""

    def __init__(self, store: Any, broker: BrokerPort, *, categories: Collection[str], name: str = "relay") -> None:
        self.store = store
        self.broker = broker
        self.categories = set(categories)
        self.name = name

    @property
    def position(self) -> int:
        """The global position of the last event relayed (0 before the first)."""
        cursor = self.store.get(RELAY_TABLE, self.name)
        return int(cursor["position"]) if cursor else 0

    def relay(self, *, batch: int = 500) -> int:
        """Publish what was committed since the cursor, in global order; return how many were new."""
        published = 0
        while True:
            start = self.position
            records = self.store.read_all(position=start + 1, limit=batch)
            if not records:
                return published
            for record in records:
                if record.stream_category in self.categories:
                    published += self.broker.publish(record.stream_category, record.id, record.as_dict())
            last = records[-1].global_position
            self.store.commit([DocumentChange(RELAY_TABLE, "id", self.name, {"id": self.name, "position": last})])
