"""Units of work: the aggregates saved and events raised in one atomic commit."""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from workbench.core.context import active_domain
from workbench.core.exceptions import IncorrectUsageError, TransactionError, ValidationError
from workbench.core.message import Message
from workbench.core.store import Change

if TYPE_CHECKING:
    from workbench.core.aggregate import BaseAggregate
    from workbench.core.domain import Domain

_current: ContextVar[UnitOfWork | None] = ContextVar("workbench_uow", default=None)


def current_uow(domain: Domain | None = None) -> UnitOfWork | None:
    """The unit of work in progress (for ``domain``, if given), or None."""
    uow = _current.get()
    if uow is not None and domain is not None and uow.domain is not domain:
        return None
    return uow


class UnitOfWork:
    """Collects saves and events, then commits them together or not at all.

    A unit of work opened inside another one for the same domain joins it (as in
    Protean: there are no savepoints); a failure inside the inner block makes the
    outer one roll back. Events are dispatched to sync handlers after the commit.
    """

    __slots__ = ("_aggregates", "_changes", "_events", "_outer", "_rollback_only", "_token", "domain", "in_progress")

    def __init__(self, domain: Domain | None = None) -> None:
        resolved = domain or active_domain()
        if resolved is None:
            raise IncorrectUsageError("a UnitOfWork needs a domain (pass it, or use a domain context)")
        self.domain: Domain = resolved
        self._aggregates: dict[tuple[type, Any], BaseAggregate] = {}
        self._events: list[dict[str, Any]] = []
        self._changes: list[Change] = []
        self._outer: UnitOfWork | None = None
        self._token: Token[UnitOfWork | None] | None = None
        self._rollback_only = False
        self.in_progress = False

    # -- collecting -------------------------------------------------------------------

    def track(self, aggregate: BaseAggregate) -> None:
        """Save ``aggregate`` (and its raised events) when this unit commits."""
        target = self._outer or self
        target._aggregates[(type(aggregate), aggregate.id_value)] = aggregate

    def record_event(self, record: dict[str, Any]) -> None:
        """Append an event record not raised through an aggregate."""
        (self._outer or self)._events.append(record)

    def stage(self, change: Change) -> None:
        """Write a raw document change in the same commit (cursors, acknowledgements)."""
        (self._outer or self)._changes.append(change)

    # -- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> UnitOfWork:
        outer = current_uow(self.domain)
        if outer is not None:
            self._outer = outer
        else:
            self._token = _current.set(self)
        self.in_progress = True
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.in_progress = False
        if self._outer is not None:
            if exc_type is not None:
                self._outer._rollback_only = True
            return
        assert self._token is not None
        _current.reset(self._token)
        if exc_type is not None or self._rollback_only:
            self.rollback()
            if exc_type is None:
                raise TransactionError("Unit of Work rolled back: a nested unit of work failed")
            return
        messages = self.commit()
        if messages:
            self.domain.dispatcher.dispatch(messages)

    def rollback(self) -> None:
        """Forget everything collected."""
        self._aggregates.clear()
        self._events.clear()
        self._changes.clear()

    def commit(self) -> list[Message]:
        """Write everything collected in one store commit; returns the stored messages."""
        changes: list[Change] = []
        events: list[dict[str, Any]] = []
        saved: list[BaseAggregate] = []
        change_for = self._change_for
        for aggregate in self._aggregates.values():
            change = change_for(aggregate)
            if change is not None:
                changes.append(change)
                saved.append(aggregate)
                for event in aggregate.__dict__["_events"]:
                    events.append(event.__dict__["_message"].record)
        if self._events:
            events.extend(self._events)
        if self._changes:
            changes.extend(self._changes)
        if events:
            self.domain.dispatcher.check_cascade_depth()
        self.domain.store.commit(changes, events)
        # Staged raw changes follow the aggregates' changes, so zip stops before them.
        for aggregate, change in zip(saved, changes, strict=False):
            values = aggregate.__dict__
            values["_version"] = change.doc["_version"]  # type: ignore[index]
            values["_persisted"] = change.doc
            values["_events"] = []
        self._aggregates = {}
        self._events = []
        self._changes = []
        return [Message(record) for record in events] if events else []

    def _change_for(self, aggregate: BaseAggregate) -> Change | None:
        cls = type(aggregate)
        meta = cls.meta_
        values = aggregate.__dict__
        version = values["_version"]
        doc = aggregate._fields_json()
        doc["_version"] = version
        if not values["_events"] and doc == values["_persisted"]:
            return None  # unchanged and nothing raised: saving is a no-op, as in Protean
        doc["_version"] = version + 1
        table = meta.options["table"]
        key = doc[meta.id_field]  # type: ignore[index]
        for name in meta.unique_fields:
            value = doc.get(name)
            if value is not None and any(k != key for k in self.domain.store.keys_where(table, name, value)):
                raise ValidationError({name: [f"`{cls.__name__}` with {name}={value!r} already exists"]})
        return Change(table, meta.id_field, key, doc, expected_version=version, label=cls.__name__)  # type: ignore[arg-type]
