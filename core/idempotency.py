"""Checks that handlers are safe to run again: idempotency and determinism.

At-least-once delivery means every handler will, some day, see a message twice.
:func:`check_idempotency` delivers each stored message twice to each handler, on an
in-memory copy of the store, and reports the handlers whose second delivery changed
state, raised events again, or raised an exception. :func:`check_determinism` replays
the stored messages through each handler twice, from the same copy, with the same ids
and clock, and reports handlers whose two runs wrote different things (they read the
wall clock or random numbers instead of the domain's).

The store itself is never written. While a check runs, handlers see
``current_domain.is_replaying`` set (so they can skip e-mail and other outside effects),
handlers declared ``replayable=False`` are skipped, and events raised by the handler
under test are stored but not delivered to other handlers.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.core.clock import VirtualClock
from workbench.core.engine import Engine
from workbench.core.exceptions import IncorrectUsageError
from workbench.core.message import Message
from workbench.core.subscription import Subscription

if TYPE_CHECKING:
    from workbench.core.domain import Domain
    from workbench.core.store import Change, Store

STATE_PREFIXES = ("aggregate:", "projection:")
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass
class Write:
    """One document a delivery wrote (or deleted), with what was there before."""

    table: str
    key: Any
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def describe(self) -> dict[str, Any]:
        """``{"aggregate", "id", "change", "fields": {name: {"from", "to"}}}`` (``_version`` ignored)."""
        name = self.table.split(":", 1)[1]
        if self.before is None:
            return {"aggregate": name, "id": self.key, "change": "created", "fields": _plain(self.after)}
        if self.after is None:
            return {"aggregate": name, "id": self.key, "change": "deleted", "fields": {}}
        fields = {
            k: {"from": self.before.get(k), "to": v}
            for k, v in self.after.items()
            if k != "_version" and self.before.get(k) != v
        }
        fields.update({k: {"from": v, "to": None} for k, v in self.before.items() if k not in self.after})
        return {"aggregate": name, "id": self.key, "change": "updated", "fields": fields}


@dataclass
class Delivery:
    """What one delivery did: its writes, the events it raised, or its exception."""

    writes: list[Write] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None

    def changes(self) -> list[dict[str, Any]]:
        """The writes that changed a document (a save of identical values is no change)."""
        described = (w.describe() for w in self.writes)
        return [d for d in described if d["change"] != "updated" or d["fields"]]

    def comparable(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]:
        """Writes, events and error in a form two runs can be compared by."""
        writes = [
            {"table": w.table, "key": w.key, "after": _plain(w.after)}
            for w in sorted(self.writes, key=lambda w: (w.table, str(w.key)))
        ]
        error = None if self.error is None else f"{type(self.error).__name__}: {self.error}"
        return writes, self.events, error


@dataclass
class Finding:
    """A handler that failed a check, and the first message that shows it."""

    handler: str
    message: dict[str, Any]
    reason: str
    error: str | None = None
    differences: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class HandlerReport:
    """One handler's result: how many messages were checked, and the finding if any."""

    handler: str
    checked: int = 0
    skipped: str = ""
    finding: Finding | None = None

    @property
    def passed(self) -> bool:
        """True when no message showed a problem."""
        return self.finding is None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "handler": self.handler,
            "checked": self.checked,
            "passed": self.passed,
            "skipped": self.skipped or None,
            "finding": None if self.finding is None else self.finding.__dict__,
        }


def _plain(doc: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (doc or {}).items() if k != "_version"}


def _summary(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "type": message.type,
        "stream_name": message.stream_name,
        "global_position": message.global_position,
        "data": message.data,
    }


class _Recorder:
    """Wraps a scratch store's ``commit`` to remember what each delivery wrote."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.delivery = Delivery()
        self._commit = store.commit
        store.commit = self._record  # type: ignore[method-assign,assignment]

    def _record(self, changes: list[Change], events: list[dict[str, Any]] | None = None) -> None:
        writes = [
            Write(c.table, c.key, self.store.get(c.table, c.key), c.doc)
            for c in changes
            if c.table.startswith(STATE_PREFIXES)
        ]
        self._commit(changes, events)
        self.delivery.writes.extend(writes)
        self.delivery.events.extend(
            {"type": e["type"], "stream_name": e["stream_name"], "data": e["data"]} for e in events or []
        )

    def deliver(self, subscription: Subscription, message: Message) -> Delivery:
        """Deliver ``message`` to the subscription's handler once; what it did."""
        self.delivery = Delivery()
        self.delivery.error = subscription.attempt(message, [], replaying=True)
        return self.delivery


def _subscriptions(domain: Domain, handler: str | None) -> list[Subscription]:
    subscriptions = [s for s in Engine(domain).subscriptions if s.handler.meta_.kind != "QUERY_HANDLER"]  # type: ignore[attr-defined]
    if handler is None:
        return subscriptions
    chosen = [s for s in subscriptions if handler in (s.name, s.handler.__name__)]
    if not chosen:
        from workbench.core._naming import suggestion

        hint = suggestion(handler, [s.name for s in subscriptions], known="")
        known = ", ".join(s.name for s in subscriptions) or "none"
        raise IncorrectUsageError(f"no handler named `{handler}`{hint} (handlers: {known})")
    return chosen


def _messages(domain: Domain, subscription: Subscription, limit: int | None) -> Iterator[Message]:
    """The stored messages ``subscription``'s handler would receive, oldest first."""
    category = subscription.category
    handler = subscription.handler
    count = 0
    last = domain.store.event_count()  # not the events the deliveries themselves raise
    for record in domain.event_store._records(category, 1, None):
        if (limit is not None and count >= limit) or record["global_position"] > last:
            return
        if record.get("kind") in ("BROKER", "COMMAND") and category == "$all":
            continue
        if not handler.methods_for(record["type"]) or not domain.origin_matches(handler, record):  # type: ignore[attr-defined]
            continue
        count += 1
        yield Message(record)


def _delivered_before(domain: Domain, subscription: Subscription, message: Message) -> bool:
    """True when the store says the handler already processed ``message`` successfully."""
    from workbench.core.trace import outcomes_for

    return any(o.handler == subscription.name and o.status == "ok" for o in outcomes_for(domain, message))


@contextmanager
def _scratch(domain: Domain, original: Store) -> Iterator[_Recorder]:
    """Bind ``domain`` to a copy of ``original`` with fixed ids and a virtual clock; undo on exit."""
    saved = (domain.identity_function, domain.clock, domain.config.get("event_processing"))
    scratch = original.scratch_copy()
    ids = itertools.count(1)
    domain.identity_function = lambda: f"check-{next(ids):06d}"
    domain.clock = VirtualClock(EPOCH)
    # Raised events are stored, not handed to other handlers: each check sees one handler.
    domain.config["event_processing"] = "async"
    try:
        # The check's own store, seen by this thread only: the domain stays bound to the real one.
        with domain.using_store(scratch), domain.domain_context():
            yield _Recorder(scratch)
    finally:
        domain.identity_function, domain.clock, domain.config["event_processing"] = saved


def _run_checks(
    domain: Domain,
    handler: str | None,
    check: Callable[[Domain, Store, Subscription, HandlerReport], None],
) -> list[HandlerReport]:
    original = domain.store
    reports = []
    for subscription in _subscriptions(domain, handler):
        report = HandlerReport(subscription.name)
        if subscription.handler.meta_.options.get("replayable", True) is False:  # type: ignore[attr-defined]
            report.skipped = "replayable=False"
        else:
            check(domain, original, subscription, report)
        reports.append(report)
    return reports


def check_idempotency(domain: Domain, *, handler: str | None = None, limit: int | None = None) -> list[HandlerReport]:
    """Deliver each stored message twice to each handler; report handlers the second delivery changed.

    Args:
        domain: the loaded domain (its store is copied, never written).
        handler: only this handler.
        limit: at most this many messages per handler (the oldest).

    Returns:
        One report per handler; ``finding`` names the first message whose second delivery
        raised, changed state (with the differing fields) or raised events again. A
        message the store records as already handled counts its first delivery here as
        a redelivery: raising then is a finding. Messages that fail on their first
        delivery are not checked (they are the dead-letter queue's business).
    """

    def check(domain: Domain, original: Store, subscription: Subscription, report: HandlerReport) -> None:
        with _scratch(domain, original) as recorder:
            for message in _messages(domain, subscription, limit):
                first = recorder.deliver(subscription, message)
                if first.error is not None and not _delivered_before(domain, subscription, message):
                    continue  # it fails anyway: the DLQ's business, not idempotency's
                report.checked += 1
                # A message the handler already took is redelivered by the check's first delivery.
                second = first if first.error is not None else recorder.deliver(subscription, message)
                if second.error is not None:
                    error = f"{type(second.error).__name__}: {second.error}"
                    report.finding = Finding(report.handler, _summary(message), "raised when delivered again", error)
                    return
                differences = second.changes()
                if differences or second.events:
                    reason = "changed state on the second delivery" if differences else "raised events again"
                    report.finding = Finding(
                        report.handler, _summary(message), reason, differences=differences, events=second.events
                    )
                    return

    return _run_checks(domain, handler, check)


def check_determinism(domain: Domain, *, handler: str | None = None, limit: int | None = None) -> list[HandlerReport]:
    """Replay the stored messages through each handler twice from the same start; report differences.

    Both runs start from a copy of the store with the same ids and the same virtual
    clock, so a handler that uses the domain's ids and clock writes the same both times;
    one that reads the wall clock or random numbers does not.
    """

    def run(original: Store, subscription: Subscription) -> list[tuple[Message, Delivery]]:
        with _scratch(domain, original) as recorder:
            return [(m, recorder.deliver(subscription, m)) for m in _messages(domain, subscription, limit)]

    def check(domain: Domain, original: Store, subscription: Subscription, report: HandlerReport) -> None:
        first, second = run(original, subscription), run(original, subscription)
        for (message, a), (_, b) in zip(first, second, strict=True):
            report.checked += 1
            if a.comparable() == b.comparable():
                continue
            differences = _run_differences(a, b)
            reason = "raised in one run only" if (a.error is None) != (b.error is None) else "wrote different values"
            error = next((f"{type(e).__name__}: {e}" for e in (a.error, b.error) if e is not None), None)
            report.finding = Finding(report.handler, _summary(message), reason, error, differences=differences)
            return

    return _run_checks(domain, handler, check)


def _run_differences(a: Delivery, b: Delivery) -> list[dict[str, Any]]:
    """Fields that differ between two runs' writes (and raised events), as ``{from: run 1, to: run 2}``."""
    ours = {(w.table, str(w.key)): _plain(w.after) for w in a.writes}
    theirs = {(w.table, str(w.key)): _plain(w.after) for w in b.writes}
    differences: list[dict[str, Any]] = []
    for key in sorted(ours.keys() | theirs.keys()):
        one, two = ours.get(key, {}), theirs.get(key, {})
        fields = {
            n: {"from": one.get(n), "to": two.get(n)}
            for n in sorted(one.keys() | two.keys())
            if one.get(n) != two.get(n)
        }
        if fields:
            differences.append(
                {"aggregate": key[0].split(":", 1)[1], "id": key[1], "change": "differs", "fields": fields}
            )
    for index, (x, y) in enumerate(itertools.zip_longest(a.events, b.events)):
        if x != y:
            differences.append({"event": index + 1, "from": x, "to": y})
    return differences
