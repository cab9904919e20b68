"""Causation trees: which events led to which, and what each handler made of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.core.exceptions import ObjectNotFoundError
from workbench.core.failures import FAILURES_TABLE
from workbench.core.message import Message
from workbench.core.subscription import CURSORS, DEAD_LETTERS, PARKED, PENDING, RESOLVED

if TYPE_CHECKING:
    from workbench.core.domain import Domain


@dataclass
class Outcome:
    """What one handler did with one message."""

    handler: str
    status: str  # ok, failed, dead-lettered, retrying, waiting, queued
    detail: str = ""


@dataclass
class TraceNode:
    """One message in a causation tree, with its handlers' outcomes and its effects."""

    message: Message
    outcomes: list[Outcome] = field(default_factory=list)
    children: list[TraceNode] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON form: the message's essentials, outcomes and children."""
        m = self.message
        return {
            "id": m.id,
            "type": m.type,
            "stream_name": m.stream_name,
            "global_position": m.global_position,
            "time": m.time,
            "outcomes": [o.__dict__ for o in self.outcomes],
            "children": [c.to_dict() for c in self.children],
        }


def outcomes_for(domain: Domain, message: Message) -> list[Outcome]:
    """The outcome of every handler that should have received ``message``."""
    store = domain.store
    results = []
    from workbench.core.subscription import subscription_name

    for handler in domain.handlers_for(message):
        if not handler.methods_for(message.type):
            continue
        category = message.stream_category if message.stream_category in handler.meta_.stream_categories else "$all"
        name = subscription_name(handler, category)
        key = f"{name}:{message.id}"
        failures = _rows_for(store, FAILURES_TABLE, message.id, handler.__name__)
        letters = _rows_for(store, DEAD_LETTERS, message.id, name)
        if letters:
            letter = letters[0]
            outcome = Outcome(
                name,
                "dead-lettered",
                f"after {letter['attempts']} attempts: {letter['error_type']}: "
                f"{letter['error']} (dlq {letter['id'][:8]})",
            )
        elif store.get(PENDING, key):
            pending = store.get(PENDING, key)
            outcome = Outcome(name, "retrying", f"{pending['attempts']} failed attempts: {pending['error']}")  # type: ignore[index]
        elif store.get(PARKED, key):
            outcome = Outcome(name, "waiting", "held behind a dead letter of its stream")
        elif failures:
            failure = failures[-1]
            outcome = Outcome(name, "failed", f"{failure['error_type']}: {failure['error']} ({failure['mode']})")
        elif message.record["metadata"].get("asynchronous") and (
            (store.get(CURSORS, name) or {}).get("position", 0) < message.global_position
        ):
            outcome = Outcome(name, "queued", "not processed yet")
        elif store.get(RESOLVED, key):
            outcome = Outcome(name, "ok", f"after {store.get(RESOLVED, key)['attempts']} attempts")  # type: ignore[index]
        else:
            outcome = Outcome(name, "ok")
        _note_replays(domain, handler, message, outcome)
        results.append(outcome)
    return results


def _rows_for(store: Any, table: str, message_id: str, handler: str) -> list[dict[str, Any]]:
    """The documents of ``table`` about one message and one handler (through the message_id index)."""
    rows = store.rows(table)
    return [rows[k] for k in store.keys_where(table, "message_id", message_id) if rows[k]["handler"] == handler]


def _note_replays(domain: Domain, handler: type, message: Message, outcome: Outcome) -> None:
    from workbench.core.replay import replays_covering

    runs = replays_covering(domain, handler.__name__, message)
    if not runs:
        return
    skipped = handler.meta_.options.get("replayable", True) is False  # type: ignore[attr-defined]
    note = f"skipped in {len(runs)} replay(s)" if skipped else f"replayed {len(runs)} time(s)"
    outcome.detail = f"{outcome.detail}; {note}" if outcome.detail else note


def causation_tree(domain: Domain, ident: str) -> list[TraceNode]:
    """The trees of events sharing a correlation id, from an event id or a correlation id.

    Raises:
        ObjectNotFoundError: no event has that id or correlation id.
    """
    event_store = domain.event_store
    found = event_store.get_message(ident)
    correlation = found.correlation_id if found is not None else ident
    members = [Message(r.as_dict()) for r in domain.store.read_correlation(correlation)]
    if not members:
        raise ObjectNotFoundError(f"no event or correlation with id {ident}")
    nodes = {m.id: TraceNode(m, outcomes_for(domain, m)) for m in members}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.message.causation_id or "")
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    return roots
