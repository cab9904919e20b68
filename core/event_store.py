"""Reading and appending events: ``domain.event_store``.

Reads follow Protean's rules (ADR-0024) with two fixes: a category read matches the
category exactly (Protean matches a substring, so ``order`` also read ``reorder-1``),
and global positions have no gaps.

* ``"$all"`` or a category: messages with ``global_position >= position``, in global order;
* a stream (``order-42``): messages with per-stream ``position >= position``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from workbench.core.event import BaseEvent, build_record
from workbench.core.exceptions import IncorrectUsageError
from workbench.core.message import Message, stream_category
from workbench.core.store.names import ALL, read_kind

if TYPE_CHECKING:
    from workbench.core.domain import Domain


class EventStore:
    """The domain's event log, backed by its :class:`~workbench.core.store.Store`."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain

    @property
    def store(self) -> EventStore:
        """Protean code reaches the API as ``domain.event_store.store``."""
        return self

    def _target(self, stream: str) -> tuple[str, str]:
        """What ``stream`` names (``all``, ``category`` or ``stream``) and its normalized name."""
        name = self.domain.normalize_category(stream)
        return read_kind(name, self.domain.store.categories()), name

    def read(self, stream: str, *, position: int = 0, no_of_messages: int = 1000) -> list[Message]:
        """Messages of a stream, a category or ``$all`` from ``position`` on (inclusive)."""
        return [Message(r) for r in self._records(stream, position, no_of_messages)]

    def _records(self, stream: str, position: int, limit: int | None) -> Iterator[dict[str, Any]]:
        store = self.domain.store
        kind, name = self._target(stream)
        if kind == "stream":
            return store.stream_records(name, position=max(position, 0), limit=limit)
        return store.category_records(ALL if kind == "all" else name, position=max(position, 1), limit=limit)

    def read_all(self, stream: str = ALL, *, position: int = 0, page_size: int = 1000) -> Iterator[Message]:
        """Every message of ``stream`` (a stream, category or ``$all``), lazily."""
        if page_size < 1:
            raise IncorrectUsageError("page_size must be at least 1")
        for record in self._records(stream, position, None):
            yield Message(record)

    def read_last_message(self, stream: str) -> Message | None:
        """The newest message of a stream, category or ``$all``, or None."""
        store = self.domain.store
        kind, name = self._target(stream)
        if kind == "all":
            found = store.read_all(position=store.last_position()) if store.last_position() else []
            last = found[-1] if found else None
        elif kind == "category":
            last = store.last_in_category(name)
        else:
            found = (
                store.read_stream(name, position=store.stream_version(name)) if store.stream_version(name) >= 0 else []
            )
            last = found[-1] if found else None
        return Message(last.as_dict()) if last is not None else None

    def get_message(self, message_id: str) -> Message | None:
        """The message with this id, or None."""
        record = self.domain.store.event_record(message_id)
        return Message(record) if record is not None else None

    def stream_version(self, stream: str) -> int:
        """The position of the last message of ``stream`` (-1 when empty)."""
        return int(self.domain.store.stream_version(self.domain.normalize_category(stream)))

    def categories(self) -> dict[str, int]:
        """Every category with its message count."""
        return self.domain.store.categories()

    def streams(self, category: str | None = None) -> dict[str, int]:
        """Every stream (of exactly one category, if given) with its message count."""
        if category is None:
            return self.domain.store.streams()
        return self.domain.store.streams(self.domain.normalize_category(category))

    def stream_counts(self) -> dict[str, int]:
        """How many streams each category has."""
        return self.domain.store.stream_counts()

    def load_aggregate(self, aggregate_cls: type, identifier: Any, *, at_version: int | None = None) -> Any:
        """An event-sourced aggregate replayed from its stream (up to ``at_version``), or None."""
        repository = self.domain.repository_for(aggregate_cls)
        load = getattr(repository, "load", None)
        if load is None:
            raise IncorrectUsageError(f"`{aggregate_cls.__name__}` is not event-sourced: its repository loads it")
        return load(repository._clean(repository.id_field, identifier), at_version=at_version)

    def append(
        self,
        event: BaseEvent,
        *,
        aggregate_id: Any = None,
        stream: str | None = None,
        expected_version: int | None = None,
        origin_stream: str | None = None,
        correlation_id: str | None = None,
    ) -> Message:
        """Append ``event`` to its aggregate's stream and process it like a raised event.

        Args:
            event: an event instance of this domain.
            aggregate_id: the aggregate instance whose stream receives it; a new id
                when neither this nor ``stream`` is given.
            stream: the full stream name instead of ``aggregate_id``.
            expected_version: the stream's current last position; a mismatch raises
                :class:`~workbench.core.exceptions.ExpectedVersionError`.
            origin_stream: record the event as caused from this stream (for ``source_stream``).
            correlation_id: join an existing correlation instead of starting one.
        """
        from workbench.core.unit_of_work import UnitOfWork

        meta = type(event).meta_
        category = meta.stream_category or ""
        if stream is None:
            stream = f"{category}-{aggregate_id if aggregate_id is not None else self.domain.new_id()}"
        else:
            stream = self.domain.normalize_category(stream)
            declared = (cls.meta_.stream_category for cls in self.domain.registry.aggregates.values())
            known = [*self.domain.store.categories(), *(c for c in declared if c)]
            category = stream_category(stream, known)
        record = build_record(
            self.domain, event, stream_name=stream, category=category, expected_version=expected_version
        )
        if origin_stream is not None:
            record["metadata"]["origin_stream"] = self.domain.normalize_category(origin_stream)
        if correlation_id is not None:
            record["metadata"]["correlation_id"] = correlation_id
        with UnitOfWork(self.domain) as uow:
            uow.record_event(record)
        return Message(record)
