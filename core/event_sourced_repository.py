"""The repository of an event-sourced aggregate: load by replaying its stream.

``get`` starts from the latest snapshot (when there is one not ahead of the stream) and
applies the events after it; ``load(..., at_version=N)`` rebuilds the state as it was
after the event at stream position ``N``. Saving goes through the unit of work like
any aggregate: the raised events are appended with their expected versions, and a
snapshot is written when one is due (see :mod:`workbench.core.snapshot`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from workbench.core import snapshot as snapshots
from workbench.core import unit_of_work
from workbench.core.entity import attach_children
from workbench.core.exceptions import IncorrectUsageError, ObjectNotFoundError
from workbench.core.repository import Repository

if TYPE_CHECKING:
    from workbench.core.domain import Domain
    from workbench.core.queryset import QuerySet


class EventSourcedRepository(Repository[Any]):
    """Loads and saves one event-sourced aggregate class."""

    def __init__(self, domain: Domain, aggregate_cls: type[Any]) -> None:
        super().__init__(domain, aggregate_cls)
        self.category: str = aggregate_cls.meta_.stream_category

    def get_or_none(self, identifier: Any) -> Any:
        """The aggregate replayed from its stream, or None when the stream is empty."""
        if identifier is None:
            return None
        key = self._clean(self.id_field, identifier)
        uow = unit_of_work.current_uow(self.domain)
        if uow is not None:
            known = uow.identity(self.aggregate_cls, key)
            if known is not None:
                return known
        aggregate = self.load(key)
        if aggregate is None:
            return None
        return uow.remember(aggregate) if uow is not None else aggregate

    def load(self, key: Any, *, at_version: int | None = None, snapshot: bool = True) -> Any:
        """Replay one aggregate (up to stream position ``at_version`` when given), or None.

        A snapshot is used when it is not past ``at_version`` (and ``snapshot`` allows
        it); a long tail after the last snapshot gets a new one written (when the store is
        writable), as in Protean.

        Raises:
            IncorrectUsageError: ``at_version`` is negative.
        """
        if at_version is not None and at_version < 0:
            raise IncorrectUsageError(
                f"version must be 0 or more (0 is the state after the first event), not {at_version}"
            )
        stream = f"{self.category}-{key}"
        head = self.domain.event_store.stream_version(stream)
        if head < 0:
            return None
        saved = snapshots.latest(self.domain, self.aggregate_cls, key) if snapshot else None
        if saved is not None and saved["_version"] <= head and (at_version is None or saved["_version"] <= at_version):
            aggregate = self.aggregate_cls._from_json(saved["state"])
            values = aggregate.__dict__
            values.update(_events=[], _persisted=None, _event_position=None, _version=saved["_version"])
            if self.aggregate_cls.meta_.options.get("associations"):
                attach_children(aggregate)  # its entities point back at it, as after a replay
        else:
            aggregate = self.aggregate_cls._blank()
        for _message, _state in self._replay(aggregate, stream, at_version):
            pass
        values = aggregate.__dict__
        values["_temporal"] = at_version is not None and at_version < head  # the past is read-only
        values["_persisted"] = aggregate._fields_json()
        values["_persisted"]["_version"] = values["_version"]
        if at_version is None and snapshot:
            self._snapshot_if_due(aggregate)
        return aggregate

    def states(self, key: Any) -> Iterator[tuple[Any, dict[str, Any]]]:
        """``(message, state after it)`` for every event of one aggregate's stream, from the start."""
        aggregate = self.aggregate_cls._blank()
        yield from self._replay(aggregate, f"{self.category}-{key}", None)

    def _replay(self, aggregate: Any, stream: str, at_version: int | None) -> Iterator[tuple[Any, dict[str, Any]]]:
        values = aggregate.__dict__
        event_from_message = self.domain.event_from_message
        for message in self.domain.event_store.read_all(stream, position=values["_version"] + 1):
            if at_version is not None and message.position > at_version:
                return
            aggregate._apply_event(event_from_message(message))
            values["_version"] = message.position
            yield message, aggregate._fields_json()

    def _snapshot_if_due(self, aggregate: Any) -> None:
        store = self.domain.store
        if store.read_only or unit_of_work.current_uow(self.domain) is not None:
            return
        change = snapshots.snapshot_change(self.domain, aggregate)
        if change is not None:
            store.commit([change])

    # -- what an event-sourced repository can answer ---------------------------------

    def ids(self) -> list[str]:
        """The ids of every aggregate with a stream, in the order the streams began."""
        cut = len(self.category) + 1  # `<category>-<id>`, whatever the id holds
        return [name[cut:] for name in self.domain.event_store.streams(self.category)]

    def all(self) -> list[Any]:
        """Every aggregate of this class, replayed."""
        return [self.get(key) for key in self.ids()]

    def count(self, **filters: Any) -> int:
        """How many aggregates (match the filters)."""
        return len(self.filter(**filters)) if filters else len(self.ids())

    def exists(self, **filters: Any) -> bool:
        """True when at least one aggregate matches."""
        if set(filters) == {self.id_field}:
            return self.get_or_none(filters[self.id_field]) is not None
        return bool(self.filter(**filters))

    def filter(self, *args: Any, **filters: Any) -> list[Any]:
        """Aggregates whose fields equal every ``field=value`` (each one is replayed: a linear scan)."""
        if args or any("__" in name for name in filters):
            raise IncorrectUsageError(
                f"`{self.aggregate_cls.__name__}` is event-sourced: filter by field=value only (no Q or lookups)"
            )
        wanted = {name: self._clean(name, value) for name, value in filters.items()}
        return [a for a in self.all() if all(a._fields_json().get(k) == v for k, v in wanted.items())]

    def find_by(self, **filters: Any) -> Any:
        """The one aggregate matching every filter (see :meth:`filter`)."""
        found = self.filter(**filters)
        if not found:
            raise ObjectNotFoundError(f"`{self.aggregate_cls.__name__}` object with values {filters} does not exist.")
        if len(found) > 1:
            from workbench.core.exceptions import TooManyObjectsError

            raise TooManyObjectsError(
                f"More than one object of `{self.aggregate_cls.__name__}` found with values {filters}"
            )
        return found[0]

    @property
    def query(self) -> QuerySet:
        """Not offered: an event-sourced aggregate is loaded by id."""
        raise IncorrectUsageError(
            f"`{self.aggregate_cls.__name__}` is event-sourced: load it with get(id), or use a projection for queries"
        )
