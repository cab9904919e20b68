"""Dead letters on a server broker's ``<category>:dlq`` streams, seen as the store's are.

The dlq commands list, name, replay, skip and group dead letters without caring where they
live: the broker's entries are turned into :class:`~workbench.core.dead_letters.DeadLetter`
rows (:class:`BrokerDeadLetter`, with ``source="redis"``), named by the entry id or a unique
prefix of it, and replayed through the handler's receipt so none runs twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from workbench.core.dead_letters import DeadLetter, ReplayResult

if TYPE_CHECKING:
    from workbench.core.broker.port import DeadLetter as Letter
    from workbench.core.engine import Engine


@dataclass
class BrokerDeadLetter(DeadLetter):
    """A dead letter of the broker's ``<category>:dlq`` stream, as a store dead letter reads."""

    source: str = "redis"


def _iso(epoch: Any) -> str:
    try:
        return datetime.fromtimestamp(float(epoch), UTC).isoformat()
    except (TypeError, ValueError):
        return ""


def as_entry(handler: str, letter: Letter) -> BrokerDeadLetter:
    """One broker dead letter as a dead-letter row (the failure reason split into type and text)."""
    reason = str(letter.info.get("failure_reason") or "")
    error_type, _, error = reason.partition(": ")
    payload = letter.payload
    failed_at = _iso(letter.info.get("failed_at"))
    return BrokerDeadLetter(
        id=letter.entry_id,
        handler=handler,
        category=str(letter.info.get("original_stream") or payload.get("stream_category") or ""),
        subscription=str(letter.info.get("consumer_group") or handler),
        message_id=letter.message_id,
        message_type=str(payload.get("type") or ""),
        global_position=int(payload.get("global_position") or 0),
        stream_name=str(payload.get("stream_name") or letter.info.get("original_stream") or ""),
        error_type=error_type if error else "",
        error=error or reason,
        traceback="",
        attempts=int(letter.info.get("retry_count") or 0),
        first_failed_at=failed_at,
        last_failed_at=failed_at,
    )


def broker_letters(
    engine: Engine, *, handler: str | None = None, category: str | None = None
) -> list[tuple[str, Letter]]:
    """``(handler, letter)`` for the broker's dead letters that match (none without a server broker)."""
    feed = engine.broker_feed
    if feed is None:
        return []
    wanted = None if category is None else engine.domain.normalize_category(category)
    return [
        (name, letter)
        for name, letter in feed.dead_letter_rows()
        if (handler is None or name == handler) and (wanted is None or letter.info.get("original_stream") == wanted)
    ]


def list_broker_dead_letters(
    engine: Engine, *, handler: str | None = None, category: str | None = None
) -> list[BrokerDeadLetter]:
    """The matching broker dead letters as rows, oldest first."""
    return [as_entry(name, letter) for name, letter in broker_letters(engine, handler=handler, category=category)]


def find_broker_letter(engine: Engine, identifier: str, *, store_ids: list[str]) -> tuple[str, Letter] | None:
    """The broker dead letter named by ``identifier``: its entry id, or a unique prefix of 4+ characters.

    Args:
        engine: The engine (its broker feed holds the letters).
        identifier: What the user typed.
        store_ids: The store's dead-letter ids, so a prefix that matches one of each is ambiguous.

    Returns:
        The ``(handler, letter)`` pair, or None when no broker letter is named (the store's may be).

    Raises:
        ObjectNotFoundError: the prefix names more than one dead letter, here or in the store.
    """
    from workbench.core.exceptions import ObjectNotFoundError

    letters = broker_letters(engine)
    exact = next(((h, d) for h, d in letters if d.entry_id == identifier), None)
    if exact is not None or len(identifier) < 4 or identifier in store_ids:
        return exact
    matches = [(h, d) for h, d in letters if d.entry_id.startswith(identifier)]
    if not matches:
        return None
    if len(matches) > 1 or any(i.startswith(identifier) for i in store_ids):
        # The embedded path's wording: an ambiguous prefix names no one dead letter.
        raise ObjectNotFoundError(f"no dead letter with id {identifier}")
    return matches[0]


def replay_broker_letter(engine: Engine, handler: str, letter: Letter) -> ReplayResult:
    """Deliver a broker dead letter to its handler again; on success it leaves the dlq stream."""
    feed = engine.broker_feed
    assert feed is not None  # the letter came from it
    try:
        feed.replay_dead_letter(handler, letter)
    except Exception as exc:  # the handler's failure is the outcome, reported on one line
        return ReplayResult(as_entry(handler, letter), ok=False, error=f"{type(exc).__name__}: {exc}")
    return ReplayResult(as_entry(handler, letter), ok=True)


def replay_by_id(engine: Engine, entry: DeadLetter) -> ReplayResult | None:
    """Replay the broker dead letter ``entry`` names, or None when it is gone (replayed meanwhile)."""
    found = next(((h, d) for h, d in broker_letters(engine, handler=entry.handler) if d.entry_id == entry.id), None)
    return None if found is None else replay_broker_letter(engine, *found)


def skip_broker_letter(engine: Engine, letter: Letter) -> None:
    """Delete a broker dead letter without delivering it."""
    feed = engine.broker_feed
    assert feed is not None  # the letter came from it
    stream = str(letter.info.get("original_stream") or "")
    feed.broker.remove_dead_letter(stream, letter.entry_id)
