"""What the engine asks of a store beyond the storage port, answered from PostgreSQL.

The engine's hot paths read plain-dict records and a few counters from the embedded
:class:`~workbench.core.store.store.Store`; this mixin gives
:class:`~workbench.core.store.postgres.PostgresStore` the same calls, built on its port
methods, so a domain runs on either store unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from workbench.core.store.port import DocumentChange, EventRecord

if TYPE_CHECKING:
    from workbench.core.store.store import Store


class EngineReads:
    """Mixin: the embedded store's engine-facing calls on top of the port's methods."""

    # No commit of this process is ever half-applied in memory: there is no memory state.
    committing = False

    def commit(self, changes: Sequence[DocumentChange], events: Sequence[Any] = ()) -> None:
        """Like the port's commit; plain-dict events (the engine's) get their positions set too."""
        if events and isinstance(events[0], dict):
            plain: list[dict[str, Any]] = list(events)  # type: ignore[arg-type]
            typed = [EventRecord.from_dict(record) for record in plain]
            try:
                self._commit_records(changes, typed)
            finally:
                for record, one in zip(plain, typed, strict=True):
                    record["position"], record["global_position"] = one.position, one.global_position
            return
        self._commit_records(changes, events)

    def _commit_records(self, changes: Sequence[DocumentChange], events: Sequence[EventRecord]) -> None:
        raise NotImplementedError

    def read_stream(self, stream: str, *, position: int = 0, limit: int | None = None) -> list[EventRecord]:
        raise NotImplementedError

    def read_category(self, category: str, *, position: int = 1, limit: int | None = None) -> list[EventRecord]:
        raise NotImplementedError

    def read_all(self, *, position: int = 1, limit: int | None = None) -> list[EventRecord]:
        raise NotImplementedError

    def get_event(self, event_id: str) -> EventRecord | None:
        raise NotImplementedError

    def stream_version(self, stream: str) -> int:
        raise NotImplementedError

    def last_position(self) -> int:
        raise NotImplementedError

    def scan(self, table: str) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def tables(self) -> list[str]:
        raise NotImplementedError

    def _keys(self, table: str, field: str, value: Any) -> list[Any]:
        raise NotImplementedError

    def _key_field(self, table: str) -> str:
        raise NotImplementedError

    def _documents_with_keys(self, table: str) -> list[tuple[Any, dict[str, Any]]]:
        raise NotImplementedError

    def rows(self, table: str) -> dict[Any, dict[str, Any]]:
        """Every document of ``table`` by key, in insertion order."""
        return dict(self._documents_with_keys(table))

    def keys_where(self, table: str, field: str, value: Any) -> list[Any]:
        """Keys of the documents whose ``field`` equals ``value``."""
        return self._keys(table, field, value)

    def stream_last_position(self, stream: str) -> int:
        """Position of the last event of ``stream`` (-1 when empty)."""
        return self.stream_version(stream)

    def event_count(self) -> int:
        """How many events are stored (global positions are gapless)."""
        return self.last_position()

    def commit_count(self) -> int:
        """A number that grows with every commit (the newest global position here)."""
        return self.last_position()

    def stream_records(self, stream: str, *, position: int = 0, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """:meth:`read_stream` as plain records."""
        return (record.as_dict() for record in self.read_stream(stream, position=position, limit=limit))

    def category_records(
        self, category: str, *, position: int = 1, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """:meth:`read_category` (``$all`` included) as plain records."""
        return (record.as_dict() for record in self.read_category(category, position=position, limit=limit))

    def event_record(self, event_id: str) -> dict[str, Any] | None:
        """:meth:`get_event` as a plain record."""
        found = self.get_event(event_id)
        return found.as_dict() if found is not None else None

    def scratch_copy(self) -> Store:
        """An in-memory store holding a copy of everything (``replay --dry-run`` writes there)."""
        from workbench.core.store.memory import MemoryPersistence
        from workbench.core.store.store import Store

        twin = Store(MemoryPersistence())
        for table in self.tables():
            docs = self._documents_with_keys(table)
            if docs:
                key_field = self._key_field(table)
                twin.commit([DocumentChange(table, key_field, key, doc) for key, doc in docs])
        records = [record.as_dict() for record in self.read_all()]
        for record in records:
            record["metadata"] = {**record["metadata"], "expected_version": None}
        if records:
            twin.commit([], records)
        return twin
