"""Answers about all the events at once (counts per category and type, streams, correlations, id prefixes).

Part of :class:`~workbench.core.store.state.StoreState`: each answer joins what the
compacted files summarise (``base``) with the events committed since (the tail).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.core.store.segments import Segments


class EventSummaries:
    """Mixed into :class:`~workbench.core.store.state.StoreState` (see there for the fields)."""

    base: Segments | None
    base_count: int
    events: list[dict[str, Any]]
    streams: dict[str, int | array[int]]
    categories: dict[str, array[int]]
    stream_counts: dict[str, int]
    event_ids: dict[str, int]

    def category_counts(self) -> dict[str, int]:
        """Every category with its event count."""
        counts = {name: entry["events"] for name, entry in self.base.summary.items()} if self.base else {}
        for name, positions in self.categories.items():
            counts[name] = counts.get(name, 0) + len(positions)
        return counts

    def streams_per_category(self) -> dict[str, int]:
        """Every category with how many streams hold its events."""
        counts = {name: entry["streams"] for name, entry in self.base.summary.items()} if self.base else {}
        for name, new in self.stream_counts.items():
            counts[name] = counts.get(name, 0) + new
        return counts

    def last_index_in(self, category: str) -> int | None:
        """The index of the newest event of ``category``, or None."""
        tail = self.categories.get(category)
        if tail:
            return tail[-1]
        entry = self.base.summary.get(category) if self.base else None
        return entry["last"] if entry else None

    def event_types(self) -> dict[str, int]:
        """Every stored event type with its event count."""
        counts = dict(self.base.types) if self.base else {}
        for record in self.events:
            counts[record["type"]] = counts.get(record["type"], 0) + 1
        return counts

    def correlation_indexes(self, correlation_id: str) -> list[int]:
        """Indexes of the events of one correlation, oldest first."""
        found = self.base.correlation_indexes(correlation_id) if self.base else []
        for i, record in enumerate(self.events, self.base_count):
            if record["metadata"].get("correlation_id") == correlation_id:
                found.append(i)
        return found

    def event_ids_with_prefix(self, prefix: str) -> Iterator[str]:
        """Event ids starting with ``prefix``, in global order."""
        if self.base is not None:
            yield from self.base.ids_with_prefix(prefix)
        for event_id in self.event_ids:
            if str(event_id).startswith(prefix):
                yield event_id

    def stream_sizes(self, category: str | None = None) -> Iterator[tuple[str, int]]:
        """``(stream, event count)`` for every stream (of exactly ``category``), first seen first."""
        tail = self.streams
        if self.base is not None:
            counts = self.base.stream_counts_by_number()
            for number, (name, cat) in enumerate(self.base.stream_list()):
                if category is None or cat == category:
                    extra = tail.get(name)
                    more = 0 if extra is None else 1 if type(extra) is int else len(extra)  # type: ignore[arg-type]
                    yield name, counts[number] + more
        for name, positions in tail.items():
            first = positions if type(positions) is int else positions[0]  # type: ignore[index]
            record = self.events[first - self.base_count]
            if record["position"] == 0 and (category is None or record["stream_category"] == category):
                yield name, 1 if type(positions) is int else len(positions)  # type: ignore[arg-type]
