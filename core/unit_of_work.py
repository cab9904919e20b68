"""Units of work: the aggregates saved and events raised in one atomic commit."""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from workbench.core.context import active_domain
from workbench.core.exceptions import (
    ExpectedVersionError,
    IncorrectUsageError,
    TransactionError,
    ValidationError,
)
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


def delivery_unit(domain: Domain) -> UnitOfWork | None:
    """The engine's unit of work for one delivery, when it is in progress for ``domain``
    and no handler method runs in it yet (see :attr:`UnitOfWork.delivery`)."""
    uow = _current.get()
    return uow if uow is not None and uow.delivery and uow.domain is domain else None


class UnitOfWork:
    """Collects saves and events, then commits them together or not at all.

    A unit of work opened inside another one for the same domain joins it (as in
    Protean: there are no savepoints); a failure inside the inner block makes the
    outer one roll back. Events are dispatched to sync handlers after the commit.

    It is also an identity map: every aggregate read or saved inside it is kept, and
    reading it again returns that same instance, so changes made through one reference
    are never lost to a second, stale copy (as in Protean).
    """

    __slots__ = (
        "_aggregates",
        "_changes",
        "_events",
        "_failure",
        "_identity",
        "_outer",
        "_rollback_only",
        "_token",
        "delivery",
        "domain",
        "in_progress",
    )

    def __init__(self, domain: Domain | None = None) -> None:
        resolved = domain or active_domain()
        if resolved is None:
            raise IncorrectUsageError("a UnitOfWork needs a domain (pass it, or use a domain context)")
        self.domain: Domain = resolved
        self._aggregates: dict[tuple[type, Any], BaseAggregate] = {}
        self._events: list[dict[str, Any]] = []
        self._changes: list[Change] = []
        # (class, key) -> the one instance of that aggregate in this unit of work.
        self._identity: dict[tuple[type, Any], BaseAggregate] = {}
        self._outer: UnitOfWork | None = None
        self._token: Token[UnitOfWork | None] | None = None
        self._rollback_only = False
        self._failure: BaseException | None = None  # what made a nested unit fail
        self.in_progress = False
        # Set by the engine on the unit of one delivery: the handler method it runs needs
        # no unit of its own (see workbench.core.handler), as this one already commits or
        # rolls back exactly that method's work with the delivery's bookkeeping.
        self.delivery = False

    # -- collecting -------------------------------------------------------------------

    def track(self, aggregate: BaseAggregate) -> BaseAggregate:
        """Save ``aggregate`` (and its raised events) when this unit commits.

        Returns the instance that will be saved. When another instance of the same
        aggregate is already here, an unchanged ``aggregate`` (a stale re-read) never
        replaces it: the one with the changes is kept.

        Raises:
            ExpectedVersionError: two different instances of one aggregate were both
                changed; saving either would silently drop the other's changes.
        """
        target = self._outer or self
        key = (type(aggregate), aggregate.id_value)
        existing = target._identity.get(key)
        if existing is not None and existing is not aggregate:
            if not _changed(aggregate):
                aggregate = existing
            elif _changed(existing):
                raise ExpectedVersionError(
                    f"`{key[0].__name__}` {key[1]} was changed through two different copies in one unit of work; "
                    "load it once (reads inside a unit of work return the same copy)"
                )
        target._identity[key] = aggregate
        target._aggregates[key] = aggregate
        return aggregate

    def identity(self, aggregate_cls: type, key: Any) -> BaseAggregate | None:
        """The instance of this aggregate already read or saved in this unit of work, if any."""
        return (self._outer or self)._identity.get((aggregate_cls, key))

    def remember(self, aggregate: BaseAggregate) -> BaseAggregate:
        """Keep a freshly loaded ``aggregate`` in the identity map; returns the instance to use.

        An instance already here wins, so every read hands out the same copy.
        """
        identity = (self._outer or self)._identity
        return identity.setdefault((type(aggregate), aggregate.id_value), aggregate)

    def pending(self, aggregate_cls: type) -> list[BaseAggregate]:
        """The instances of ``aggregate_cls`` saved in this unit of work, not yet committed."""
        return [a for (cls, _), a in (self._outer or self)._aggregates.items() if cls is aggregate_cls]

    def has_pending(self) -> bool:
        """True when an aggregate was saved in this unit of work (cheaper than :meth:`pending`)."""
        return bool((self._outer or self)._aggregates)

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
                if self._outer._failure is None:
                    self._outer._failure = exc
            return
        assert self._token is not None
        _current.reset(self._token)
        if exc_type is not None or self._rollback_only:
            self.rollback()
            if exc_type is None:
                raise TransactionError("Unit of Work rolled back: a nested unit of work failed") from self._failure
            return
        messages = self.commit()
        if messages:
            self.domain.dispatcher.dispatch(messages)

    def rollback(self) -> None:
        """Forget everything collected."""
        self._aggregates.clear()
        self._identity.clear()
        self._events.clear()
        self._changes.clear()

    def commit(self) -> list[Message]:
        """Write everything collected in one store commit; returns the stored messages."""
        aggregates = self._aggregates
        if not aggregates and not self._events and not self._changes:
            self._identity = {}  # nothing to write (a handler that only read)
            return []
        if len(aggregates) == 1 and not self._events:
            # The common handler unit: one aggregate saved (plus staged bookkeeping).
            (aggregate,) = aggregates.values()
            values = aggregate.__dict__
            if not values["_events"] and not getattr(aggregate, "_event_sourced", False):
                change = self._change_for(aggregate)
                self.domain.store.commit([change, *self._changes] if change is not None else self._changes)
                if change is not None:
                    values["_version"] = change.doc["_version"]  # type: ignore[index]
                    values["_persisted"] = change.doc
                self._aggregates = {}
                self._identity = {}
                self._changes = []
                return []
        changes: list[Change] = []
        events: list[dict[str, Any]] = []
        saved: list[BaseAggregate] = []
        sourced: list[BaseAggregate] = []
        snapshots: list[Change] = []
        change_for = self._change_for
        for aggregate in self._aggregates.values():
            if getattr(aggregate, "_event_sourced", False):
                # Its stream is its state: append the events; a snapshot now and then.
                if aggregate.__dict__["_events"]:
                    from workbench.core.snapshot import snapshot_change

                    sourced.append(aggregate)
                    events.extend(e.__dict__["_message"].record for e in aggregate.__dict__["_events"])
                    snapshot = snapshot_change(self.domain, aggregate)
                    if snapshot is not None:
                        snapshots.append(snapshot)
                continue
            change = change_for(aggregate)
            if change is not None:
                changes.append(change)
                saved.append(aggregate)
                raised = aggregate.__dict__["_events"]
                if raised:
                    events.extend(event.__dict__["_message"].record for event in raised)
        if self._events:
            # A command issued in this unit goes first: the events it led to follow it.
            commands = [r for r in self._events if r.get("kind") == "COMMAND"]
            if commands:
                events[:0] = commands
            events.extend(r for r in self._events if r.get("kind") != "COMMAND")
        if self._changes:
            changes.extend(self._changes)
        changes.extend(snapshots)
        if events:
            self.domain.dispatcher.check_cascade_depth()
        self.domain.store.commit(changes, events)
        # Staged raw changes follow the aggregates' changes, so zip stops before them.
        for aggregate, change in zip(saved, changes, strict=False):
            values = aggregate.__dict__
            values["_version"] = change.doc["_version"]  # type: ignore[index]
            values["_persisted"] = change.doc
            values["_events"] = []
        for aggregate in sourced:
            values = aggregate.__dict__
            values["_events"] = []
            values["_persisted"] = {**aggregate._fields_json(), "_version": values["_version"]}
        self._aggregates = {}
        self._identity = {}
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


def _changed(aggregate: BaseAggregate) -> bool:
    """True when ``aggregate`` differs from what it was loaded as (or is new, or raised events)."""
    values = aggregate.__dict__
    persisted = values["_persisted"]
    if persisted is None or values["_events"]:
        return True
    doc = aggregate._fields_json()
    doc["_version"] = values["_version"]
    return bool(doc != persisted)
