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

if TYPE_CHECKING:
    from workbench.core.domain import Domain

ALL = "$all"


class EventStore:
    """The domain's event log, backed by its :class:`~workbench.core.store.Store`."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain

    @property
    def store(self) -> EventStore:
        """Protean code reaches the API as ``domain.event_store.store``."""
        return self

    def _state(self) -> Any:
        return self.domain.store.state

    def read(self, stream: str, *, position: int = 0, no_of_messages: int = 1000) -> list[Message]:
        """Messages of a stream, a category or ``$all`` from ``position`` on (inclusive)."""
        return [Message(r) for r in self._records(stream, position, no_of_messages)]

    def _records(self, stream: str, position: int, limit: int | None) -> Iterator[dict[str, Any]]:
        state = self._state()
        name = self.domain.normalize_category(stream)
        if name == ALL:
            return state.iter_events(None, start_global=max(position, 1), limit=limit)
        if "-" in name:
            indexes = state.streams.get(name, [])
            stop = len(indexes) if limit is None else min(len(indexes), max(position, 0) + limit)
            return (state.events[indexes[i]] for i in range(max(position, 0), stop))
        return state.iter_events(state.categories.get(name, []), start_global=max(position, 1), limit=limit)

    def read_all(self, stream: str = ALL, *, position: int = 0, page_size: int = 1000) -> Iterator[Message]:
        """Every message of ``stream`` (a stream, category or ``$all``), lazily."""
        if page_size < 1:
            raise IncorrectUsageError("page_size must be at least 1")
        for record in self._records(stream, position, None):
            yield Message(record)

    def read_last_message(self, stream: str) -> Message | None:
        """The newest message of a stream, category or ``$all``, or None."""
        state = self._state()
        name = self.domain.normalize_category(stream)
        if name == ALL:
            indexes: list[int] = list(range(len(state.events)))[-1:]
        elif "-" in name:
            indexes = state.streams.get(name, [])
        else:
            indexes = state.categories.get(name, [])
        return Message(state.events[indexes[-1]]) if indexes else None

    def get_message(self, message_id: str) -> Message | None:
        """The message with this id, or None."""
        state = self._state()
        index = state.event_ids.get(message_id)
        return Message(state.events[index]) if index is not None else None

    def stream_version(self, stream: str) -> int:
        """The position of the last message of ``stream`` (-1 when empty)."""
        return int(self.domain.store.stream_last_position(self.domain.normalize_category(stream)))

    def categories(self) -> dict[str, int]:
        """Every category with its message count."""
        return {name: len(indexes) for name, indexes in self._state().categories.items()}

    def streams(self, category: str | None = None) -> dict[str, int]:
        """Every stream (of one category, if given) with its message count."""
        state = self._state()
        if category is None:
            return {name: len(indexes) for name, indexes in state.streams.items()}
        cat = self.domain.normalize_category(category)
        return {name: len(indexes) for name, indexes in state.streams.items() if stream_category(name) == cat}

    def stream_counts(self) -> dict[str, int]:
        """How many streams each category has (one pass over the stream index)."""
        counts: dict[str, int] = {}
        for name in self._state().streams:
            category = stream_category(name)
            counts[category] = counts.get(category, 0) + 1
        return counts

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
            category = stream_category(stream)
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
