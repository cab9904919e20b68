"""The embedded broker: consumer groups, claims and dead letters inside one process.

It keeps the same promises as the Redis adapter (the broker contract suite runs on both)
for a workbench that needs no server: one delivery per group member, pending entries until
acknowledged, idle claims, ``<stream>:dlq`` dead letters and publishing once per message id.
Its state lives in memory, so it serves one process; several workers need a server broker.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.core.broker.port import DeadLetter, Delivery, PendingSummary, dead_letter_stream


@dataclass
class _Pending:
    consumer: str
    delivered_at: float
    attempts: int


@dataclass
class _Group:
    next_index: int = 0
    pending: dict[int, _Pending] = field(default_factory=dict)


@dataclass
class _Stream:
    entries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    published: set[str] = field(default_factory=set)
    groups: dict[str, _Group] = field(default_factory=dict)
    dead: list[DeadLetter] = field(default_factory=list)


class EmbeddedBroker:
    """A :class:`~workbench.core.broker.port.BrokerPort` held in this process's memory."""

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self._lock = threading.Lock()
        self._dead_ids = itertools.count(1)

    @property
    def location(self) -> str:
        """Always ``embedded``."""
        return "embedded"

    def _stream(self, name: str) -> _Stream:
        return self._streams.setdefault(name, _Stream())

    def publish(self, stream: str, message_id: str, payload: dict[str, Any]) -> bool:
        """Append the message unless its id was published on ``stream`` before."""
        with self._lock:
            target = self._stream(stream)
            if message_id in target.published:
                return False
            target.published.add(message_id)
            target.entries.append((message_id, dict(payload)))
            return True

    def ensure_group(self, stream: str, group: str) -> None:
        """Create the group at the stream's start unless it exists."""
        with self._lock:
            self._stream(stream).groups.setdefault(group, _Group())

    def consume(self, stream: str, group: str, consumer: str, *, count: int = 10, block_ms: int = 0) -> list[Delivery]:
        """Deliver up to ``count`` new entries to ``consumer`` (waiting up to ``block_ms`` for one)."""
        deadline = time.monotonic() + block_ms / 1000
        while True:
            with self._lock:
                target = self._stream(stream)
                state = target.groups.setdefault(group, _Group())
                start = state.next_index
                stop = min(len(target.entries), start + count)
                now = time.monotonic()
                deliveries = []
                for index in range(start, stop):
                    state.pending[index] = _Pending(consumer, now, 1)
                    deliveries.append(self._delivery(stream, target, index, 1))
                state.next_index = stop
            if deliveries or time.monotonic() >= deadline:
                return deliveries
            time.sleep(0.005)

    def ack(self, stream: str, group: str, entry_ids: list[str]) -> None:
        """Drop the entries from the group's pending list."""
        with self._lock:
            state = self._stream(stream).groups.setdefault(group, _Group())
            for entry_id in entry_ids:
                state.pending.pop(int(entry_id), None)

    def claim_idle(
        self,
        stream: str,
        group: str,
        consumer: str,
        *,
        min_idle_ms: int,
        count: int = 10,
        backoff_ms: Callable[[int], int] | None = None,
    ) -> list[Delivery]:
        """Take over entries pending for ``min_idle_ms`` (and their backoff) or more; each claim is a delivery."""
        with self._lock:
            target = self._stream(stream)
            state = target.groups.setdefault(group, _Group())
            now = time.monotonic()
            claimed = []
            for index in sorted(state.pending):
                entry = state.pending[index]
                wait = max(min_idle_ms, backoff_ms(entry.attempts) if backoff_ms else 0)
                if (now - entry.delivered_at) * 1000 < wait:
                    continue
                state.pending[index] = _Pending(consumer, now, entry.attempts + 1)
                claimed.append(self._delivery(stream, target, index, entry.attempts + 1))
                if len(claimed) == count:
                    break
            return claimed

    def dead_letter(self, delivery: Delivery, group: str, *, reason: str) -> None:
        """Record the delivery on ``<stream>:dlq`` and acknowledge it."""
        info = {
            "original_stream": delivery.stream,
            "original_id": delivery.entry_id,
            "consumer_group": group,
            "failed_at": time.time(),
            "retry_count": delivery.attempts,
            "failure_reason": reason,
        }
        with self._lock:
            self._stream(dead_letter_stream(delivery.stream)).dead.append(
                DeadLetter(str(next(self._dead_ids)), delivery.message_id, dict(delivery.payload), info)
            )
            self._stream(delivery.stream).groups.setdefault(group, _Group()).pending.pop(int(delivery.entry_id), None)

    def dead_letters(self, stream: str) -> list[DeadLetter]:
        """The entries of ``<stream>:dlq``, oldest first."""
        with self._lock:
            return list(self._stream(dead_letter_stream(stream)).dead)

    def remove_dead_letter(self, stream: str, entry_id: str) -> None:
        """Drop entry ``entry_id`` of ``<stream>:dlq``."""
        with self._lock:
            dead = self._stream(dead_letter_stream(stream)).dead
            dead[:] = [d for d in dead if d.entry_id != entry_id]

    def summary(self, stream: str, group: str) -> PendingSummary:
        """Entries not yet delivered to the group, and pending entries per consumer."""
        with self._lock:
            target = self._streams.get(stream)
            state = target.groups.get(group) if target else None
            if target is None or state is None:
                return PendingSummary(lag=None)
            per_consumer: dict[str, int] = {}
            for entry in state.pending.values():
                per_consumer[entry.consumer] = per_consumer.get(entry.consumer, 0) + 1
            return PendingSummary(lag=len(target.entries) - state.next_index, pending=per_consumer)

    def _delivery(self, stream: str, target: _Stream, index: int, attempts: int) -> Delivery:
        message_id, payload = target.entries[index]
        return Delivery(stream, str(index), message_id, dict(payload), attempts)

    def close(self) -> None:
        """Nothing to release."""
