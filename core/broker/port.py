"""The broker port: what the engine needs from a message broker, at the level it thinks in.

A broker carries messages on named streams (a category such as ``shop::order``). Handlers
consume a stream as a *consumer group*: each message goes to one consumer of the group,
stays *pending* for that consumer until it is acknowledged, and can be *claimed* by another
consumer of the group once it has been idle long enough (its consumer died). A message
that failed too often is moved to the stream's dead-letter stream, ``<stream>:dlq``.

Publishing is idempotent by message id: publishing an id the stream already carried is a
no-op, so a relay that crashed after publishing and before saving its cursor can publish
again without a consumer seeing the message twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from workbench.core.exceptions import ProteanException


def dead_letter_stream(stream: str) -> str:
    """Return the dead-letter stream of ``stream``, named as Protean names it: ``<stream>:dlq``."""
    return f"{stream}:dlq"


@dataclass(frozen=True)
class Delivery:
    """One message handed to a consumer.

    Attributes:
        stream: The stream it was published on.
        entry_id: The broker's id of this entry (what ``ack`` and ``dead_letter`` take).
        message_id: The id it was published with (an event id).
        payload: The message body (a JSON object).
        attempts: How many times it has been delivered, this delivery included.
    """

    stream: str
    entry_id: str
    message_id: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class PendingSummary:
    """A consumer group's state on one stream.

    Attributes:
        lag: Entries of the stream not yet delivered to the group (None when the broker cannot tell).
        pending: Entries delivered and not yet acknowledged, per consumer.
    """

    lag: int | None
    pending: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DeadLetter:
    """An entry of a dead-letter stream."""

    entry_id: str
    message_id: str
    payload: dict[str, Any]
    info: dict[str, Any]


class BrokerError(ProteanException):
    """The broker is unreachable or refused an operation (the CLI prints it as one line)."""


@runtime_checkable
class BrokerPort(Protocol):
    """A message broker with consumer groups, claims and dead letters."""

    @property
    def location(self) -> str:
        """Where the broker is (no password)."""
        ...

    def publish(self, stream: str, message_id: str, payload: dict[str, Any]) -> bool:
        """Append a message to ``stream`` unless ``message_id`` was published there before.

        Returns:
            True when appended, False when it was a duplicate.
        """
        ...

    def ensure_group(self, stream: str, group: str) -> None:
        """Create ``group`` on ``stream`` (reading from the stream's start) unless it exists."""
        ...

    def consume(self, stream: str, group: str, consumer: str, *, count: int = 10, block_ms: int = 0) -> list[Delivery]:
        """Deliver up to ``count`` new messages to ``consumer``; they stay pending until acked."""
        ...

    def ack(self, stream: str, group: str, entry_ids: list[str]) -> None:
        """Acknowledge deliveries: they leave the pending list for good."""
        ...

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
        """Take over pending deliveries idle for ``min_idle_ms`` or more (a dead consumer's, or retries).

        Args:
            stream: The stream.
            group: The consumer group.
            consumer: The consumer taking the entries over.
            min_idle_ms: The least idle time of any claimed entry.
            count: At most this many entries.
            backoff_ms: When given, an entry delivered ``n`` times is claimed only once it has
                also been idle for ``backoff_ms(n)`` (retries that wait longer each attempt).
        """
        ...

    def dead_letter(self, delivery: Delivery, group: str, *, reason: str) -> None:
        """Move a delivery to ``<stream>:dlq`` with why, and acknowledge it on its stream."""
        ...

    def dead_letters(self, stream: str) -> list[DeadLetter]:
        """The entries of ``<stream>:dlq``, oldest first."""
        ...

    def remove_dead_letter(self, stream: str, entry_id: str) -> None:
        """Delete entry ``entry_id`` of ``<stream>:dlq`` (after a replay); a missing one is no error."""
        ...

    def summary(self, stream: str, group: str) -> PendingSummary:
        """Lag and pending entries per consumer of ``group`` on ``stream``."""
        ...

    def close(self) -> None:
        """Release the connection (idempotent)."""
        ...
