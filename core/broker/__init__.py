"""Brokers: the port, the embedded broker, the Redis Streams broker, the outbox relay."""

from __future__ import annotations

from workbench.core.broker.embedded import EmbeddedBroker
from workbench.core.broker.port import BrokerError, BrokerPort, DeadLetter, Delivery, PendingSummary, dead_letter_stream


def open_broker(url: str | None) -> BrokerPort:
    """Open the broker a URL names: ``redis://...`` (or ``rediss://``), or the embedded one.

    Args:
        url: A Redis URL, ``embedded``, or None/empty for the embedded broker.

    Raises:
        BrokerError: An unknown scheme, a missing redis-py, or a server that cannot be reached.
    """
    if not url or url == "embedded":
        return EmbeddedBroker()
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("redis", "rediss", "unix"):
        from workbench.core.broker.redis_streams import RedisStreamsBroker

        return RedisStreamsBroker(url)
    raise BrokerError(f"unknown broker {url!r}: use redis://host:port/db or 'embedded'")


__all__ = [
    "BrokerError",
    "BrokerPort",
    "DeadLetter",
    "Delivery",
    "EmbeddedBroker",
    "PendingSummary",
    "dead_letter_stream",
    "open_broker",
]
