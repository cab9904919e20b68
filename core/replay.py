"""Replaying stored history through handlers (``workbench replay order``).

Every stored event of a category goes, in global order, to the handlers subscribed to
it (or one of them). Each delivery runs in its own unit of work with
``current_domain.is_replaying`` set, so a handler can skip side effects such as e-mail;
a handler declared with ``replayable=False`` is skipped entirely. Failures are
dead-lettered (when the handler's subscription has a DLQ) or recorded, and the replay
goes on. Subscription cursors are not moved.

A dry run replays against an in-memory copy of the store and reports what would
change, committing nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.core._naming import suggestion
from workbench.core.engine import Engine
from workbench.core.exceptions import IncorrectUsageError
from workbench.core.message import Message
from workbench.core.store import Change
from workbench.core.store.names import ALL, read_kind
from workbench.core.subscription import Subscription, Tally

REPLAYS = "replays"

if TYPE_CHECKING:
    from workbench.core.domain import Domain
    from workbench.core.store import Store


@dataclass
class ReplayReport:
    """What a replay did (or, for a dry run, would do)."""

    category: str
    messages: int = 0
    seconds: float = 0.0
    tally: Tally = field(default_factory=Tally)
    dry_run: bool = False
    changes: list[dict[str, Any]] = field(default_factory=list)
    new_events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """Deliveries that raised."""
        return self.tally.failed


def subscribed_handlers(domain: Domain, category: str, handler: str | None = None) -> list[type]:
    """Handler classes listening to ``category`` (only ``handler`` if named), in registration order.

    Raises:
        IncorrectUsageError: the named handler does not exist or does not listen there.
    """
    handlers = [
        h
        for h in domain.registry.consumers
        if h.meta_.kind != "SUBSCRIBER"
        and (category in h.meta_.stream_categories or "$all" in h.meta_.stream_categories or category == "$all")
    ]
    if handler is None:
        return handlers
    chosen = [h for h in handlers if h.__name__ == handler]
    if not chosen:
        listening = ", ".join(h.__name__ for h in handlers) or "none"
        existing = next((h for h in domain.registry.consumers if h.__name__ == handler), None)
        if existing is not None:  # it exists but listens elsewhere: suggesting its own name helps nobody
            elsewhere = ", ".join(existing.meta_.stream_categories)
            raise IncorrectUsageError(
                f"event handler `{handler}` listens to {elsewhere}, not `{category}` "
                f"(handlers of `{category}`: {listening})"
            )
        # Command handlers are never replayed, so they are no useful guess.
        names = [h.__name__ for h in domain.registry.consumers if h.meta_.kind != "COMMAND_HANDLER"]
        hint = suggestion(handler, names, known=f" (handlers of `{category}`: {listening})")
        raise IncorrectUsageError(f"no event handler `{handler}` listens to `{category}`{hint}")
    return chosen


def replay(
    domain: Domain,
    category: str,
    *,
    handler: str | None = None,
    from_position: int | None = None,
    to_position: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ReplayReport:
    """Deliver the stored events of ``category`` (global positions ``from``..``to``) again.

    Args:
        domain: the loaded domain, bound to its store.
        category: a category (``order``, ``shop::order``) or ``$all``.
        handler: only this handler class.
        from_position: first global position (inclusive).
        to_position: last global position (inclusive).
        dry_run: work on an in-memory copy and report the differences.
        progress: called as ``progress(done, total)`` now and then.
        should_stop: polled between messages; True ends the replay early (Ctrl-C).
    """
    category = domain.normalize_category(category)
    if read_kind(category, domain.store.categories()) == "stream":
        raise IncorrectUsageError(f"replay takes a category such as `{category.partition('-')[0]}`, not a stream")
    handlers = subscribed_handlers(domain, category, handler)
    report = ReplayReport(category=category, dry_run=dry_run)
    if dry_run:
        original = domain.store
        scratch = original.scratch_copy()
        # The dry run's own store, seen by this thread only: the domain stays bound to the real one.
        with domain.using_store(scratch):
            base = scratch.last_position()
            _run(domain, category, handlers, report, from_position, to_position, progress, should_stop)
        report.changes, report.new_events = _differences(original, scratch, base)
        return report
    first, last = _run(domain, category, handlers, report, from_position, to_position, progress, should_stop)
    if report.messages:
        _remember(domain, report, handlers, first, last)
    return report


def _run(
    domain: Domain,
    category: str,
    handlers: list[type],
    report: ReplayReport,
    from_position: int | None,
    to_position: int | None,
    progress: Callable[[int, int], None] | None,
    should_stop: Callable[[], bool] | None,
) -> tuple[int, int]:
    engine = Engine(domain)
    wanted = set(handlers)
    by_handler = {(s.handler, s.category): s for s in engine.subscriptions if s.handler in wanted}
    start = max(from_position or 1, 1)
    last = domain.store.event_count() if to_position is None else to_position
    # Read as delivered, not gathered first: a million records held at once would cost
    # gigabytes. The read is bounded by ``last``, so events the handlers raise are not replayed.
    records = domain.event_store._records(category, start, None)
    store = domain.store
    total = store.count_events(category, position=start) - store.count_events(category, position=last + 1)
    first_position = last_position = 0
    tally = report.tally
    # Which subscriptions get a record depends on its category and type only, unless a
    # handler filters on the origin stream: then it is worked out per record.
    by_origin = any(s.handler.meta_.subscription.origin_stream for s in by_handler.values())  # type: ignore[attr-defined]
    routes: dict[tuple[str, str], list[tuple[Subscription, bool]]] = {}
    began = time.perf_counter()
    for done, record in enumerate(records, 1):
        if record["global_position"] > last or (should_stop is not None and should_stop()):
            break
        last_position = record["global_position"]
        first_position = first_position or last_position
        message = Message(record)
        key = (record["stream_category"], record["type"])
        route = routes.get(key)
        if route is None:
            route = _route(domain, message, by_handler)
            if not by_origin:
                routes[key] = route
        for subscription, replayable in route:
            if not replayable:
                tally.count(subscription.name, "skipped")
                continue
            error = subscription.attempt(message, [], replaying=True)
            if error is None:
                tally.count(subscription.name, "delivered")
            else:
                subscription._failed(message, error, 1, tally, [], replay=True)
        report.messages = done
        if progress is not None and (done % 500 == 0 or done == total):
            progress(done, total)
    report.seconds = time.perf_counter() - began
    return first_position, last_position


def _route(
    domain: Domain, message: Message, by_handler: dict[tuple[type, str], Subscription]
) -> list[tuple[Subscription, bool]]:
    """The subscriptions ``message`` goes to, each with whether its handler is replayable.

    Exactly the deliveries live dispatch makes: the handlers of the record's own category
    and of `$all` (source_stream applied), each once.
    """
    route = []
    category = message.record["stream_category"]
    for handler in domain.handlers_for(message):
        subscription = by_handler.get((handler, category)) or by_handler.get((handler, "$all"))
        if subscription is None or not handler.methods_for(message.type):  # type: ignore[attr-defined]
            continue
        route.append((subscription, handler.meta_.options.get("replayable", True) is not False))  # type: ignore[attr-defined]
    return route


def _remember(domain: Domain, report: ReplayReport, handlers: list[type], first: int, last: int) -> None:
    """Record the run, so a trace can say which messages were replayed or skipped, and by whom."""
    run_id = domain.new_id()
    doc = {
        "id": run_id,
        "category": report.category,
        "handlers": [h.__name__ for h in handlers],
        "from_position": first,
        "to_position": last,
        "messages": report.messages,
        "tally": report.tally.by_handler,
        "at": domain.now_iso(),
    }
    domain.store.commit([Change(REPLAYS, "id", run_id, doc)])


def replays_covering(domain: Domain, handler: str, message: Message) -> list[dict[str, Any]]:
    """The recorded replays that delivered (or skipped) ``message`` for ``handler``."""
    return [
        run
        for run in domain.store.rows(REPLAYS).values()
        if handler in run["handlers"]
        and run["from_position"] <= message.global_position <= run["to_position"]
        and run["category"] in (message.stream_category, "$all")
    ]


def _differences(before: Store, after: Store, base: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    changes: list[dict[str, Any]] = []
    for table in after.tables():
        if not table.startswith(("aggregate:", "projection:")):
            continue
        rows = after.rows(table)
        old_rows = before.rows(table)
        for key, doc in rows.items():
            old = old_rows.get(key)
            if old is doc:
                continue
            if old is None:
                changes.append({"aggregate": table.split(":", 1)[1], "id": key, "change": "created", "fields": doc})
                continue
            fields = {
                name: {"from": old.get(name), "to": value}
                for name, value in doc.items()
                if name != "_version" and old.get(name) != value
            }
            if fields:
                changes.append({"aggregate": table.split(":", 1)[1], "id": key, "change": "updated", "fields": fields})
        for key in old_rows.keys() - rows.keys():
            changes.append({"aggregate": table.split(":", 1)[1], "id": key, "change": "deleted", "fields": {}})
    new_events = [
        {"type": r["type"], "stream_name": r["stream_name"], "data": r["data"]}
        for r in after.category_records(ALL, position=base + 1)
    ]
    return changes, new_events
