"""Dead letters: messages a handler could not process within its attempts.

Each entry keeps what triage needs: the handler and its subscription, the message, the
exception type, text and traceback, the number of attempts, and the first and last
failure times. Replay re-delivers to *that handler only* and removes the entry in the
same commit as the handler's writes, so a replay killed midway leaves either the entry
or its effects, never both and never neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.core.exceptions import ObjectNotFoundError
from workbench.core.store import Change
from workbench.core.subscription import DEAD_LETTERS, Tally

if TYPE_CHECKING:
    from workbench.core.engine import Engine


@dataclass
class DeadLetter:
    """One dead-lettered delivery."""

    id: str
    handler: str
    category: str
    subscription: str
    message_id: str
    message_type: str
    global_position: int
    stream_name: str
    error_type: str
    error: str
    traceback: str
    attempts: int
    first_failed_at: str
    last_failed_at: str
    sequenced: bool = False
    block_key: str = ""

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> DeadLetter:
        """Build from the stored document."""
        return cls(**{k: doc[k] for k in cls.__dataclass_fields__ if k in doc})


@dataclass
class ReplayResult:
    """The outcome of replaying one dead letter."""

    dead_letter: DeadLetter
    ok: bool
    error: str | None = None


def list_dead_letters(engine: Engine, *, handler: str | None = None, category: str | None = None) -> list[DeadLetter]:
    """Dead letters, oldest first, optionally of one handler or category."""
    store = engine.domain.store
    if handler is not None:
        rows = store.rows(DEAD_LETTERS)
        docs = [rows[k] for k in store.keys_where(DEAD_LETTERS, "handler", handler)]
    else:
        docs = list(store.rows(DEAD_LETTERS).values())
    if category is not None:
        wanted = engine.domain.normalize_category(category)
        docs = [d for d in docs if d["category"] == wanted]
    return sorted((DeadLetter.from_doc(d) for d in docs), key=lambda d: (d.first_failed_at, d.global_position))


def all_dead_letters(engine: Engine, *, handler: str | None = None, category: str | None = None) -> list[DeadLetter]:
    """The store's dead letters and the server broker's (``source="redis"`` rows), oldest first."""
    from workbench.core.broker.dead_letters import list_broker_dead_letters

    entries = list_dead_letters(engine, handler=handler, category=category)
    entries += list_broker_dead_letters(engine, handler=handler, category=category)
    return sorted(entries, key=lambda d: (d.first_failed_at, d.global_position))


def is_on_broker(entry: DeadLetter) -> bool:
    """Whether ``entry`` lives on the broker's ``<category>:dlq`` stream rather than in the store."""
    return getattr(entry, "source", "store") != "store"


def replay_entry(engine: Engine, entry: DeadLetter, tally: Tally) -> ReplayResult | None:
    """Replay one listed entry wherever it lives; None when an earlier replay already took it."""
    if is_on_broker(entry):
        from workbench.core.broker.dead_letters import replay_by_id

        return replay_by_id(engine, entry)
    if engine.domain.store.get(DEAD_LETTERS, entry.id) is None:
        return None  # already handled by an earlier replay's release
    return replay(engine, entry.id, tally)


def get_dead_letter(engine: Engine, dlq_id: str) -> DeadLetter:
    """One dead letter by id (a unique prefix of at least 4 characters works too).

    Raises:
        ObjectNotFoundError: no such entry.
    """
    rows = engine.domain.store.rows(DEAD_LETTERS)
    doc = rows.get(dlq_id)
    if doc is None and len(dlq_id) >= 4:
        matches = [d for k, d in rows.items() if str(k).startswith(dlq_id)]
        doc = matches[0] if len(matches) == 1 else None
    if doc is None:
        raise ObjectNotFoundError(f"no dead letter with id {dlq_id}")
    return DeadLetter.from_doc(doc)


def replay(engine: Engine, dlq_id: str, tally: Tally | None = None) -> ReplayResult:
    """Deliver a dead letter again to its handler; on success the entry goes, in the same commit.

    A failed replay keeps the entry, with one more attempt and the new error.
    """
    tally = tally or Tally()
    entry = get_dead_letter(engine, dlq_id)
    subscription = engine.subscription(entry.handler)
    message = engine.domain.event_store.get_message(entry.message_id)
    if message is None:
        raise ObjectNotFoundError(f"dead letter {entry.id} refers to message {entry.message_id}, which is not stored")
    error = subscription.attempt(message, [Change(DEAD_LETTERS, "id", entry.id, None)])
    if error is None:
        tally.count(entry.handler, "delivered")
        if entry.sequenced:
            subscription.release(entry.stream_name, tally)
        return ReplayResult(entry, ok=True)
    doc = dict(engine.domain.store.get(DEAD_LETTERS, entry.id) or {})
    doc.update(
        attempts=entry.attempts + 1,
        error_type=type(error).__name__,
        error=str(error),
        last_failed_at=engine.domain.now_iso(),
    )
    engine.domain.store.commit([Change(DEAD_LETTERS, "id", entry.id, doc)])
    tally.count(entry.handler, "failed")
    return ReplayResult(DeadLetter.from_doc(doc), ok=False, error=f"{type(error).__name__}: {error}")


def replay_all(
    engine: Engine, *, handler: str | None = None, category: str | None = None, limit: int | None = None
) -> list[ReplayResult]:
    """Replay every matching dead letter, the store's and the broker's, oldest first.

    The heads of sequenced streams go first; the broker's letters are delivered through their receipts.
    """
    results: list[ReplayResult] = []
    tally = Tally()
    # Ctrl-C stops after the current entry instead of landing in a handler as its failure.
    with engine.stopping_on_signals():
        for subscription in engine.subscriptions:
            if handler is None or subscription.name == handler:
                subscription.resume_releases(tally)  # finish what a killed earlier run left parked
        for entry in all_dead_letters(engine, handler=handler, category=category)[:limit]:
            if engine.stopping:
                break
            result = replay_entry(engine, entry, tally)
            if result is not None:
                results.append(result)
    return results


def skip(engine: Engine, dlq_id: str) -> DeadLetter:
    """Drop one dead letter without delivering it, releasing what waits behind it."""
    entry = get_dead_letter(engine, dlq_id)
    engine.domain.store.commit([Change(DEAD_LETTERS, "id", entry.id, None)])
    if entry.sequenced:
        engine.subscription(entry.handler).release(entry.stream_name, Tally())
    return entry


def purge(engine: Engine, *, handler: str | None = None, category: str | None = None) -> int:
    """Drop every matching dead letter in one commit; returns how many."""
    entries = list_dead_letters(engine, handler=handler, category=category)
    if not entries:
        return 0
    engine.domain.store.commit([Change(DEAD_LETTERS, "id", e.id, None) for e in entries])
    for entry in entries:
        if entry.sequenced:
            engine.subscription(entry.handler).release(entry.stream_name, Tally())
    return len(entries)
