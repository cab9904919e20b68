"""The broker port: streams of messages that groups of consumers share.

A broker carries messages from the store to the handlers of other processes and
machines. Each **stream** (a category such as ``order``) is read by **consumer groups**;
within a group every message goes to one consumer, which acknowledges it once handled.
A message that is never acknowledged stays *pending* with the consumer that received it;
when that consumer dies, a live one claims the message after an idle timeout and handles
it again. A message delivered too often goes to the stream's dead-letter stream,
``<stream>:dlq`` (the name Protean gives it), with the reason, and leaves the group.

Adapters plug in with :func:`register_broker` and open with :func:`open_broker`; the
contract every adapter passes ships in :mod:`workbench.core.broker.contract`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from workbench.core.exceptions import StoreError

DLQ_SUFFIX = ":dlq"
"""Appended to a stream's name to make its dead-letter stream."""


def dlq_stream(stream: str) -> str:
    """The dead-letter stream of ``stream`` (``order`` -> ``order:dlq``)."""
    return stream + DLQ_SUFFIX


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as a consumer receives it.

    Attributes:
        id: the broker's id of the message in its stream (what :meth:`BrokerPort.ack` takes).
        stream: the stream it was published to.
        payload: the message, as published.
        deliveries: how many times it has been delivered, this time included.
        headers: what the broker keeps beside the payload (a dead letter's ``reason``,
            ``original_id``, ``original_stream``, ``group``, ``deliveries``).
    """

    id: str
    stream: str
    payload: dict[str, Any]
    deliveries: int = 1
    headers: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class BrokerPort(Protocol):
    """A message broker with consumer groups. Every method may be called from any thread."""

    @property
    def location(self) -> str:
        """Where the broker runs (a URL without its password)."""
        ...

    def publish(self, stream: str, payload: dict[str, Any]) -> str:
        """Append ``payload`` to ``stream`` (created if missing); returns its id."""
        ...

    def ensure_group(self, stream: str, group: str) -> None:
        """Create ``group`` on ``stream`` (and the stream) if missing; a new group starts at
        the stream's first message."""
        ...

    def consume(
        self, stream: str, group: str, consumer: str, *, count: int = 10, block_ms: int | None = None
    ) -> list[Delivery]:
        """Up to ``count`` messages no consumer of ``group`` has received yet, now pending
        with ``consumer``; waits up to ``block_ms`` for one when there is none (None: do not wait)."""
        ...

    def ack(self, stream: str, group: str, ids: Sequence[str]) -> int:
        """Mark messages handled (no longer pending); returns how many were pending."""
        ...

    def claim_stale(
        self,
        stream: str,
        group: str,
        consumer: str,
        *,
        idle_ms: int,
        count: int = 10,
        max_deliveries: int | None = None,
    ) -> list[Delivery]:
        """Take over messages pending with any consumer of ``group`` for ``idle_ms`` or more.

        Messages that would be delivered more than ``max_deliveries`` times go to the
        dead-letter stream instead (see :meth:`dead_letter`) and are not returned.
        """
        ...

    def dead_letter(self, stream: str, group: str, delivery: Delivery, reason: str) -> str:
        """Publish ``delivery`` with ``reason`` to ``<stream>:dlq`` and acknowledge it in
        ``group``, atomically; returns the dead letter's id."""
        ...

    def read(self, stream: str, *, count: int | None = None) -> list[Delivery]:
        """Every message of ``stream`` (e.g. a dead-letter stream), oldest first, outside any group."""
        ...

    def pending(self, stream: str, group: str) -> dict[str, int]:
        """How many messages are pending with each consumer of ``group``."""
        ...

    def lag(self, stream: str, group: str) -> int:
        """How many messages of ``stream`` no consumer of ``group`` has received yet."""
        ...

    def close(self) -> None:
        """Release the connection (idempotent)."""
        ...


BrokerFactory = Callable[..., BrokerPort]
_BROKERS: dict[str, BrokerFactory] = {}


def register_broker(scheme: str, factory: BrokerFactory) -> None:
    """Make :func:`open_broker` open ``<scheme>://`` URLs with ``factory(url)``."""
    _BROKERS[scheme.lower()] = factory


def open_broker(url: str) -> BrokerPort:
    """Open the broker at ``url`` with the adapter registered for its scheme.

    Raises:
        StoreError: no adapter handles the URL's scheme, or the adapter cannot connect.
    """
    scheme, sep, _rest = url.partition("://")
    factory = _BROKERS.get(scheme.lower()) if sep else None
    if factory is None:
        known = ", ".join(f"{s}://" for s in sorted(_BROKERS)) or "none"
        raise StoreError(f"no broker adapter for {url.split('@')[-1]!r} (known: {known})")
    return factory(url)
