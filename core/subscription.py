"""One async handler's subscription to its category: cursor, retries, dead letters.

Exactly-once effects on the embedded store: a delivery's handler writes, the events it
raises, the cursor advance (or the removal of its pending/parked/dead-letter entry) go
into **one** commit. A failed delivery rolls the handler's writes back and commits only
the bookkeeping (cursor, retry entry, dead letter or failure record). So a crash at any
point either kept a delivery whole or lost it whole, and a restart redoes exactly the
deliveries that were lost. Messages a handler skips (nothing to write) advance the
cursor in memory and are saved every ``position_update_interval`` messages and at stop;
re-reading those after a crash writes nothing.

Tables (documents keyed by ``id``):

* ``cursors``: ``{id: handler, category, position, updated_at, last_error}``;
* ``pending``: stream-type messages waiting for another attempt;
* ``dead_letters``: messages that used up their attempts (see :mod:`workbench.core.dead_letters`);
* ``parked``: messages held behind a dead letter of their stream (``dlq_ordering="sequenced"``).

Several engines (``run`` in two terminals, ``run`` and ``process``) may work one store at
once. Every cursor move carries the cursor's ``_version`` as this subscription last saw
it, and every retry or release carries its ``pending``/``parked`` row's version, in the
same commit as the handler's effects. So when two engines deliver the same message, one
commit wins; the other gets :class:`ExpectedVersionError` for its whole unit of work
(nothing of it is written), re-reads the cursor and moves on: a handler's effects are
committed once per message.
"""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING, Any

from workbench.core.context import handler_context
from workbench.core.cursor import CURSORS, Cursor, version_of
from workbench.core.dispatch import call_handle_error
from workbench.core.exceptions import ExpectedVersionError, ImmediateStop
from workbench.core.failures import failure_change, make_failure
from workbench.core.message import Message
from workbench.core.store import Change
from workbench.core.subscription_config import EVENT_STORE, SubscriptionConfig
from workbench.core.tally import Tally
from workbench.core.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from workbench.core.domain import Domain

PENDING = "pending"
DEAD_LETTERS = "dead_letters"
PARKED = "parked"
RESOLVED = "resolved_retries"


class _HandlerAborted(Exception):
    """Carries a handler's ``BaseException`` out of its unit of work, which then rolls back."""


def subscription_name(handler: type, category: str) -> str:
    """The handler's name, or ``Handler@category`` for a projector that listens to several."""
    categories = handler.meta_.stream_categories  # type: ignore[attr-defined]
    return handler.__name__ if len(categories) <= 1 else f"{handler.__name__}@{category}"


def _block_key(handler: str, stream: str) -> str:
    return f"{handler}|{stream}"


class Subscription:
    """Delivers the messages of one category to one handler class."""

    def __init__(
        self, domain: Domain, handler: type, config: SubscriptionConfig, *, category: str | None = None
    ) -> None:
        self.domain = domain
        self.handler = handler
        self.config = config
        self.category: str = category or handler.meta_.stream_category  # type: ignore[attr-defined]
        self.name: str = subscription_name(handler, self.category)
        self.cursor = Cursor(domain, self.name, self.category)
        # The message a handler is running on right now (for the "stopped now" notice).
        self.in_flight: Message | None = None
        self._releases_resumed = False

    @property
    def position(self) -> int:
        """The global position of the last message this subscription dealt with."""
        return self.cursor.position

    # -- reading ----------------------------------------------------------------------

    @property
    def synchronous(self) -> bool:
        """A sync-processing domain runs handlers at commit: nothing waits for this subscription."""
        kind = getattr(self.handler.meta_, "kind", "")  # type: ignore[attr-defined]
        setting = "command_processing" if kind == "COMMAND_HANDLER" else "event_processing"
        return self.domain.config.get(setting) != "async"

    def lag(self) -> int:
        """Messages of the category after the cursor (none in a sync-processing domain)."""
        if self.synchronous:
            # Every message stored in sync mode was handled inline; counting them would
            # show sync handlers "behind" by the whole store.
            return 0
        return self.domain.store.count_events(self.category, position=self.position + 1)

    def _next_records(self, limit: int) -> list[dict[str, Any]]:
        return list(self.domain.store.category_records(self.category, position=self.position + 1, limit=limit))

    def _rows(self, table: str) -> list[dict[str, Any]]:
        store = self.domain.store
        rows = store.rows(table)
        return [rows[k] for k in store.keys_where(table, "handler", self.name)]

    def pending(self) -> list[dict[str, Any]]:
        """This handler's messages waiting for another attempt, oldest first."""
        return sorted(self._rows(PENDING), key=lambda r: r["global_position"])

    def next_due(self) -> float | None:
        """When the earliest retry is due (epoch seconds), or None."""
        return min((r["due"] for r in self._rows(PENDING)), default=None)

    # -- processing -------------------------------------------------------------------

    def tick(self, tally: Tally, *, budget: int, stopping: Any = None) -> int:
        """Process due retries, then up to ``messages_per_tick`` new messages; returns how many."""
        if not self._releases_resumed:
            self._releases_resumed = True
            self.resume_releases(tally)
        if self.cursor.unsaved == 0:
            self.cursor.adopt_saved()
        done = 0
        now = self.domain.timestamp()
        for entry in self.pending():
            if done >= budget or (stopping is not None and stopping()):
                return done
            if entry["due"] <= now:
                self._retry(entry, tally)
                done += 1
        limit = min(self.config.messages_per_tick, budget - done)
        if limit <= 0 or self.synchronous:  # sync mode: new messages were handled at commit
            return done
        for record in self._next_records(limit):
            if stopping is not None and stopping():
                break
            if not self._process_new(record, tally):
                break  # another engine moved the cursor: the next tick reads on from there
            done += 1
        return done

    def _skip(self, position: int, tally: Tally) -> bool:
        cursor = self.cursor
        cursor.position = position
        cursor.unsaved += 1
        tally.count(self.name, "skipped")
        if cursor.unsaved >= self.config.position_update_interval:
            return cursor.flush()
        return True

    def _process_new(self, record: dict[str, Any], tally: Tally) -> bool:
        """Deliver (or skip, or park) one new message; False when another engine won it."""
        position = record["global_position"]
        metadata = record["metadata"]
        if not metadata.get("asynchronous"):
            return self._skip(position, tally)  # handled inline when it was raised
        if record.get("kind") in ("BROKER", "COMMAND") and self.category == "$all":
            return self._skip(position, tally)  # broker messages and commands are for their own consumers
        if not self.domain.origin_matches(self.handler, record):
            return self._skip(position, tally)
        if not self.handler.methods_for(record["type"]):  # type: ignore[attr-defined]
            return self._skip(position, tally)
        if record.get("kind") == "COMMAND" and record["metadata"].get("deadline"):
            from workbench.core.command import expired

            if expired(self.domain, record):
                return self._skip(position, tally)  # past its deadline: acknowledged, never handled
        message = Message(record)
        if self.config.sequenced and self._blocked(message.stream_name):
            moved = self.cursor.change(position)
            if not self.cursor.commit_guarded([self._parked_change(message), moved]):
                return False
            self.cursor.saved(moved)
            tally.count(self.name, "parked")
            return True
        moved = self.cursor.change(position)
        error = self.attempt(message, [moved])
        if error is None:
            self.cursor.saved(moved)
            tally.count(self.name, "delivered")
            return True
        if isinstance(error, ExpectedVersionError) and self.cursor.lost([moved]):
            return False
        return self._failed(message, error, 1, tally, [self.cursor.change(position, error)])

    def _retry(self, entry: dict[str, Any], tally: Tally) -> None:
        done = Change(PENDING, "id", entry["id"], None, expected_version=version_of(entry))
        message = self.domain.event_store.get_message(entry["message_id"])
        if message is None:  # the store lost nothing, so this is a hand-edited store
            self.cursor.commit_guarded([done])
            return
        tally.count(self.name, "retried")
        resolved = {
            "id": entry["id"],
            "handler": self.name,
            "message_id": message.id,
            "attempts": entry["attempts"] + 1,
        }
        error = self.attempt(message, [done, Change(RESOLVED, "id", entry["id"], resolved)])
        if error is None:
            tally.count(self.name, "delivered")
            if self.config.sequenced:
                self.release(message.stream_name, tally)
        elif not (isinstance(error, ExpectedVersionError) and self.cursor.lost([done])):
            self._failed(
                message,
                error,
                entry["attempts"] + 1,
                tally,
                [],
                first_failed_at=entry["first_failed_at"],
                pending_version=version_of(entry),
            )

    def attempt(self, message: Message, on_success: list[Change], *, replaying: bool = False) -> BaseException | None:
        """Run the handler's methods for ``message`` in one unit of work, committed with
        ``on_success``; return the exception instead when anything failed.

        Whatever the handler raises is its failure, ``SystemExit`` and
        ``KeyboardInterrupt`` included: the engine's own Ctrl-C handling never raises
        into handlers, except :class:`ImmediateStop`, which passes through. A
        ``BaseException`` from the commit itself (not user code) propagates.
        """
        handler = self.handler
        methods = handler.methods_for(message.type)  # type: ignore[attr-defined]
        self.in_flight = message
        aborted: BaseException | None = None
        domain = self.domain
        try:
            with handler_context(domain, message, replaying=replaying), UnitOfWork(domain) as uow:
                # One method: this unit is its unit of work (several: each joins it).
                uow.delivery = len(methods) == 1
                try:
                    event = domain.event_from_message(message)
                    for name in methods:
                        getattr(handler(), name)(event)
                except (Exception, ImmediateStop):
                    raise
                except BaseException as exc:
                    # sys.exit() and friends from user code: roll back like any failure.
                    aborted = exc
                    raise _HandlerAborted from exc
                for change in on_success:
                    uow.stage(change)
        except _HandlerAborted:
            self.in_flight = None
            return aborted
        except Exception as exc:
            self.in_flight = None
            return exc
        # (After ImmediateStop, in_flight stays set so the engine can say which message it abandoned.)
        self.in_flight = None
        return None

    def _failed(
        self,
        message: Message,
        error: BaseException,
        attempts: int,
        tally: Tally,
        changes: list[Change],
        *,
        first_failed_at: str | None = None,
        replay: bool = False,
        pending_version: int = -1,
    ) -> bool:
        """Bookkeeping after a failed attempt, in one commit: retry, dead letter or record.

        A failure during a replay is never retried: it is dead-lettered when the
        subscription has a DLQ, else recorded. ``pending_version`` is the ``_version`` of
        the message's retry entry (-1: it has none yet). Returns False when another
        engine dealt with the message first (nothing was written).
        """
        call_handle_error(self.handler, error, message)
        tally.count(self.name, "failed")
        now = self.domain.now_iso()
        details = {
            "handler": self.name,
            "message_id": message.id,
            "message_type": message.type,
            "global_position": message.global_position,
            "stream_name": message.stream_name,
            "error_type": type(error).__name__,
            "error": str(error),
            "traceback": "".join(traceback.format_exception(error)),
            "attempts": attempts,
            "first_failed_at": first_failed_at or now,
            "last_failed_at": now,
            "block_key": _block_key(self.name, message.stream_name),
        }
        pending_id = f"{self.name}:{message.id}"
        if replay:
            self._dead_letter_or_record(message, error, details, changes, tally, mode="replay")
        elif self.config.subscription_type == EVENT_STORE:
            method = ",".join(self.handler.methods_for(message.type))  # type: ignore[attr-defined]
            failure = make_failure(self.domain, self.handler, method, message, error, mode="async")
            changes.append(failure_change(failure))
        elif attempts < self.config.max_retries:
            due = self.domain.timestamp() + self.config.retry_delay(attempts)
            doc = {"id": pending_id, **details, "due": due, "_version": pending_version + 1}
            changes.append(Change(PENDING, "id", pending_id, doc, expected_version=pending_version))
        else:
            if attempts > 1:
                changes.append(Change(PENDING, "id", pending_id, None, expected_version=pending_version))
            self._dead_letter_or_record(message, error, details, changes, tally, mode="async")
        cursor = self.cursor
        moves = any(c.table == CURSORS for c in changes)  # a new message: the cursor moves past it
        for _ in range(_ATTEMPTS):
            if not moves:
                # A retry or release only notes the error on the cursor, wherever it is now.
                changes = [c for c in changes if c.table != CURSORS]
                changes.append(cursor.change(cursor.position, error))
            try:
                self.domain.store.commit(changes)
            except ExpectedVersionError:
                if moves or cursor.lost([c for c in changes if c.table != CURSORS]):
                    cursor.reread()
                    return False
                cursor.reread()  # only the cursor moved (another engine's delivery): note the error there
                continue
            cursor.saved(next(c for c in changes if c.table == CURSORS))
            return True
        return False

    def _dead_letter_or_record(
        self,
        message: Message,
        error: BaseException,
        details: dict[str, Any],
        changes: list[Change],
        tally: Tally,
        *,
        mode: str,
    ) -> None:
        if self.config.enable_dlq:
            dlq_id = self.domain.new_id()
            doc = {
                "id": dlq_id,
                **details,
                "category": self.category,
                "subscription": f"{self.category}:dlq",
                "sequenced": self.config.sequenced,
            }
            changes.append(Change(DEAD_LETTERS, "id", dlq_id, doc))
            tally.count(self.name, "dead_lettered")
        else:
            method = ",".join(self.handler.methods_for(message.type))  # type: ignore[attr-defined]
            changes.append(failure_change(make_failure(self.domain, self.handler, method, message, error, mode=mode)))

    # -- sequenced dead letters -------------------------------------------------------

    def _blocked(self, stream: str) -> bool:
        key = _block_key(self.name, stream)
        store = self.domain.store
        return any(store.keys_where(table, "block_key", key) for table in (DEAD_LETTERS, PENDING, PARKED))

    def _parked_change(self, message: Message) -> Change:
        parked_id = f"{self.name}:{message.id}"
        doc = {
            "id": parked_id,
            "handler": self.name,
            "message_id": message.id,
            "global_position": message.global_position,
            "stream_name": message.stream_name,
            "block_key": _block_key(self.name, message.stream_name),
            "parked_at": self.domain.now_iso(),
        }
        return Change(PARKED, "id", parked_id, doc)

    def resume_releases(self, tally: Tally) -> None:
        """Release parked messages whose stream no longer has a blocking head.

        A head's removal (replay, skip, purge, a successful retry) and the release of the
        messages behind it are separate commits; a process killed between them leaves
        parked rows behind nothing. The engine calls this before its first delivery, so
        they are delivered (in order) by the next ``process``/``run``.
        """
        store = self.domain.store
        rows = store.rows(PARKED)
        streams = sorted(
            {
                rows[k]["stream_name"]: rows[k]["global_position"]
                for k in store.keys_where(PARKED, "handler", self.name)
            }.items(),
            key=lambda item: item[1],
        )
        for stream, _position in streams:
            self.release(stream, tally)

    def release(self, stream: str, tally: Tally) -> None:
        """Deliver the messages parked behind ``stream``'s old head, in order, until one fails."""
        store = self.domain.store
        key = _block_key(self.name, stream)
        if store.keys_where(DEAD_LETTERS, "block_key", key) or store.keys_where(PENDING, "block_key", key):
            return
        rows = store.rows(PARKED)
        parked = sorted(
            (rows[k] for k in store.keys_where(PARKED, "block_key", key)), key=lambda r: r["global_position"]
        )
        for entry in parked:
            message = self.domain.event_store.get_message(entry["message_id"])
            unpark = Change(PARKED, "id", entry["id"], None, expected_version=version_of(entry))
            if message is None:
                if not self.cursor.commit_guarded([unpark]):
                    return
                continue
            error = self.attempt(message, [unpark])
            if error is not None:
                if not (isinstance(error, ExpectedVersionError) and self.cursor.lost([unpark])):
                    self._failed(message, error, 1, tally, [unpark])
                return  # failed, or another engine is releasing this stream
            tally.count(self.name, "delivered")

    # -- cursor -----------------------------------------------------------------------

    def caught_up_to(self, position: int) -> list[Change]:
        """The writes that make this subscription start after ``position`` (a projection
        rebuild delivered everything up to it): its cursor, and no pending retries or
        parked messages. Dead letters stay for triage."""
        changes = [Change(table, "id", key, None) for table in (PENDING, PARKED) for key in self._keys(table)]
        cursor = self.domain.store.get(CURSORS, self.name)
        if cursor is None or cursor["position"] != position or changes:
            changes.append(self.cursor.change(position))
        return changes

    def _keys(self, table: str) -> list[Any]:
        return self.domain.store.keys_where(table, "handler", self.name)

    def flush(self) -> bool:
        """Save the cursor if it moved since it was last saved; False when another
        engine moved it meanwhile (this one then continues from there)."""
        return self.cursor.flush()


_ATTEMPTS = 5  # commits of a failure's bookkeeping before giving up to a busier engine
