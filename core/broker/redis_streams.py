"""The broker port on Redis Streams: XADD, consumer groups, XACK and XAUTOCLAIM.

Each workbench stream is a Redis stream of the same name; each message is one entry
whose ``message`` field holds the payload as JSON. A consumer group is a Redis consumer
group (created with MKSTREAM so a group can wait for a stream nobody wrote yet). Entries
a consumer received but did not acknowledge stay in the group's pending entries list;
:meth:`RedisBroker.claim_stale` hands those of a dead consumer to a live one with
XAUTOCLAIM once they have been idle long enough, so nothing is stranded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import orjson
import redis
from workbench.core.broker.port import Delivery, dlq_stream
from workbench.core.exceptions import StoreError

T = TypeVar("T")
FIELD = "message"
"""The entry field holding the payload (entries written by other tools are read whole)."""


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class RedisBroker:
    """A :class:`~workbench.core.broker.port.BrokerPort` on a Redis server (5.0 or later;
    XAUTOCLAIM needs 6.2).

    Args:
        url: ``redis://[:password@]host:port/db``.
    """

    def __init__(self, url: str) -> None:
        self._location = _without_password(url)
        # redis-py's commands are typed as sync-or-async unions; this client is the sync one.
        self._redis: Any = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=10)
        self._call(self._redis.ping)

    @property
    def location(self) -> str:
        """The URL without its password."""
        return self._location

    def _call(self, command: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return command(*args, **kwargs)
        except redis.ConnectionError as exc:
            raise StoreError(f"cannot reach Redis at {self._location}: {exc}") from None
        except redis.RedisError as exc:
            raise StoreError(f"Redis at {self._location} refused a command: {exc}") from None

    def _delivery(self, stream: str, entry_id: str, fields: dict[str, str], deliveries: int = 1) -> Delivery:
        if FIELD not in fields:
            return Delivery(entry_id, stream, dict(fields), deliveries)
        headers = {name: value for name, value in fields.items() if name != FIELD}
        return Delivery(entry_id, stream, orjson.loads(fields[FIELD]), deliveries, headers)

    # -- publishing ----------------------------------------------------------------------

    def publish(self, stream: str, payload: dict[str, Any]) -> str:
        """Append ``payload`` to ``stream``; returns the entry id."""
        return str(self._call(self._redis.xadd, stream, {FIELD: orjson.dumps(payload).decode()}))

    # -- consuming -----------------------------------------------------------------------

    def ensure_group(self, stream: str, group: str) -> None:
        """Create ``group`` (from the stream's first entry) and the stream, unless they exist."""
        try:
            self._call(self._redis.xgroup_create, stream, group, id="0", mkstream=True)
        except StoreError as exc:
            if "BUSYGROUP" not in str(exc):  # the group exists already: nothing to do
                raise

    def consume(
        self, stream: str, group: str, consumer: str, *, count: int = 10, block_ms: int | None = None
    ) -> list[Delivery]:
        """Entries no consumer of ``group`` received yet (XREADGROUP ... >)."""
        found = self._call(self._redis.xreadgroup, group, consumer, {stream: ">"}, count=count, block=block_ms)
        if not found:
            return []
        # RESP2 answers [[stream, entries]], RESP3 {stream: [entries]}.
        entries = found[stream][0] if isinstance(found, dict) else found[0][1]
        return [self._delivery(stream, entry_id, fields) for entry_id, fields in entries]

    def ack(self, stream: str, group: str, ids: Sequence[str]) -> int:
        """Acknowledge entries (XACK); returns how many were pending."""
        if not ids:
            return 0
        return int(self._call(self._redis.xack, stream, group, *ids))

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
        """Take over entries idle for ``idle_ms`` with any consumer (XAUTOCLAIM); dead-letter
        those delivered more than ``max_deliveries`` times."""
        answer = self._call(self._redis.xautoclaim, stream, group, consumer, idle_ms, "0-0", count=count)
        claimed = [(entry_id, fields) for entry_id, fields in answer[1] if fields is not None]
        if len(answer) > 2 and answer[2]:
            # Entries deleted from the stream while pending: nothing left to deliver.
            self.ack(stream, group, list(answer[2]))
        if not claimed:
            return []
        times = {
            row["message_id"]: int(row["times_delivered"])
            for row in self._call(
                self._redis.xpending_range, stream, group, claimed[0][0], claimed[-1][0], len(claimed) + 10, consumer
            )
        }
        deliveries = [self._delivery(stream, i, f, times.get(i, 1)) for i, f in claimed]
        if max_deliveries is None:
            return deliveries
        kept = []
        for delivery in deliveries:
            if delivery.deliveries > max_deliveries:
                self.dead_letter(
                    stream, group, delivery, f"delivered {delivery.deliveries - 1} times, never acknowledged"
                )
            else:
                kept.append(delivery)
        return kept

    def dead_letter(self, stream: str, group: str, delivery: Delivery, reason: str) -> str:
        """XADD the entry with ``reason`` to ``<stream>:dlq`` and XACK it, in one MULTI."""
        letter = {
            FIELD: orjson.dumps(delivery.payload).decode(),
            "original_id": delivery.id,
            "original_stream": stream,
            "group": group,
            "deliveries": str(delivery.deliveries),
            "reason": reason,
        }

        def send() -> list[Any]:
            pipe = self._redis.pipeline(transaction=True)
            pipe.xadd(dlq_stream(stream), letter)
            pipe.xack(stream, group, delivery.id)
            return list(pipe.execute())

        return str(self._call(send)[0])

    # -- looking -------------------------------------------------------------------------

    def read(self, stream: str, *, count: int | None = None) -> list[Delivery]:
        """Every entry of ``stream``, oldest first (XRANGE)."""
        entries = self._call(self._redis.xrange, stream, "-", "+", count=count)
        return [self._delivery(stream, entry_id, fields) for entry_id, fields in entries]

    def pending(self, stream: str, group: str) -> dict[str, int]:
        """Pending entries per consumer of ``group`` (XPENDING summary)."""
        summary = self._call(self._redis.xpending, stream, group)
        return {row["name"]: int(row["pending"]) for row in summary.get("consumers") or []}

    def lag(self, stream: str, group: str) -> int:
        """Entries of ``stream`` that no consumer of ``group`` has received yet."""
        for info in self._call(self._redis.xinfo_groups, stream):
            if info["name"] != group:
                continue
            if info.get("lag") is not None:
                return int(info["lag"])
            # Redis cannot tell the lag after deletions: count what follows the last delivery.
            after = self._call(self._redis.xrange, stream, f"({info['last-delivered-id']}", "+")
            return len(after)
        raise StoreError(f"no consumer group {group!r} on the Redis stream {stream!r}")

    def close(self) -> None:
        """Close the connection pool (idempotent)."""
        self._redis.close()
