"""The Redis Streams broker: consumer groups, idle claims and ``<stream>:dlq`` dead letters.

Each message is a stream entry with two fields, ``id`` (the message id) and ``payload``
(its JSON). Publishing runs one Lua script that checks and records the message id in the
hash ``<stream>:published`` and appends the entry, atomically: a relay that publishes the
same event twice appends it once.

redis-py is optional: it is imported when a ``redis://`` URL is opened, and its absence is a
one-line :class:`BrokerError` naming the extra to install.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from workbench.core.broker.port import BrokerError, DeadLetter, Delivery, PendingSummary, dead_letter_stream

_PUBLISH_ONCE = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return false end
local entry = redis.call('XADD', KEYS[1], '*', 'id', ARGV[1], 'payload', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], entry)
return entry
"""


def _published_key(stream: str) -> str:
    return f"{stream}:published"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username + '@' if parts.username else ''}{host}{':' + str(parts.port) if parts.port else ''}"
    return urlunsplit(parts._replace(netloc=netloc))


class RedisStreamsBroker:
    """A :class:`~workbench.core.broker.port.BrokerPort` on a Redis server (6.2 or newer)."""

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError:
            raise BrokerError("the Redis broker needs redis-py: pip install 'workbench[redis]'") from None
        self._url = url
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError,)
        try:
            self._client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
            self._client.ping()
        except ValueError as exc:
            raise BrokerError(f"bad broker URL {_without_password(url)!r}: {exc}") from None
        except redis.AuthenticationError:
            raise BrokerError(f"Redis at {_without_password(url)} refused the credentials") from None
        except redis.RedisError as exc:
            raise BrokerError(f"cannot reach Redis at {_without_password(url)}: {exc}") from None
        self._publish_once = self._client.register_script(_PUBLISH_ONCE)
        self._closed = False

    @property
    def location(self) -> str:
        """The server's URL without its password."""
        return _without_password(self._url)

    def _call(self, what: str, operation: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return operation(*args, **kwargs)
        except self._errors as exc:
            raise BrokerError(f"Redis at {self.location}: {what} failed: {exc}") from None

    def publish(self, stream: str, message_id: str, payload: dict[str, Any]) -> bool:
        """Append the message unless its id was published on ``stream`` before."""
        body = orjson.dumps(payload)
        entry = self._call(
            "publish", self._publish_once, keys=[stream, _published_key(stream)], args=[message_id, body]
        )
        return entry is not None

    def ensure_group(self, stream: str, group: str) -> None:
        """XGROUP CREATE ... MKSTREAM from the stream's start; an existing group is kept."""
        try:
            self._client.xgroup_create(stream, group, id="0", mkstream=True)
        except self._errors as exc:
            if "BUSYGROUP" not in str(exc):
                raise BrokerError(f"Redis at {self.location}: creating group {group!r} failed: {exc}") from None

    def consume(self, stream: str, group: str, consumer: str, *, count: int = 10, block_ms: int = 0) -> list[Delivery]:
        """XREADGROUP new entries (``>``) for ``consumer``."""
        self.ensure_group(stream, group)
        reply = self._call(
            "read",
            self._client.xreadgroup,
            group,
            consumer,
            {stream: ">"},
            count=count,
            block=block_ms or None,
        )
        entries = reply[0][1] if reply else []
        return [self._delivery(stream, entry_id, fields, 1) for entry_id, fields in entries]

    def ack(self, stream: str, group: str, entry_ids: list[str]) -> None:
        """XACK the entries."""
        if entry_ids:
            self._call("ack", self._client.xack, stream, group, *entry_ids)

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
        """XAUTOCLAIM entries pending for ``min_idle_ms`` or more, with their delivery counts.

        With ``backoff_ms``, XPENDING picks the entries whose idle time also covers the backoff
        of their delivery count, and XCLAIM takes just those (XAUTOCLAIM has one idle bound).
        """
        self.ensure_group(stream, group)
        if backoff_ms is None:
            reply = self._call(
                "claim", self._client.xautoclaim, stream, group, consumer, min_idle_ms, start_id="0-0", count=count
            )
            claimed = reply[1]
        else:
            claimed = self._claim_due(stream, group, consumer, min_idle_ms, count, backoff_ms)
        entries = [(entry_id, fields) for entry_id, fields in claimed if fields]
        if not entries:
            return []
        attempts = self._attempts(stream, group, consumer, [entry_id for entry_id, _ in entries])
        return [
            self._delivery(stream, entry_id, fields, attempts.get(_text(entry_id), 1)) for entry_id, fields in entries
        ]

    def _claim_due(
        self, stream: str, group: str, consumer: str, min_idle_ms: int, count: int, backoff_ms: Callable[[int], int]
    ) -> list[Any]:
        # Read more pending rows than we claim: entries still waiting out their backoff are skipped.
        rows = self._call(
            "pending", self._client.xpending_range, stream, group, min="-", max="+", count=count * 10, idle=min_idle_ms
        )
        due = [
            row["message_id"]
            for row in rows
            if int(row["time_since_delivered"]) >= max(min_idle_ms, backoff_ms(int(row["times_delivered"])))
        ][:count]
        if not due:
            return []
        # XCLAIM re-checks the idle time, so two consumers racing for one entry claim it once.
        return list(self._call("claim", self._client.xclaim, stream, group, consumer, min_idle_ms, due))

    def _attempts(self, stream: str, group: str, consumer: str, entry_ids: list[Any]) -> dict[str, int]:
        low, high = _text(entry_ids[0]), _text(entry_ids[-1])
        rows = self._call(
            "pending",
            self._client.xpending_range,
            stream,
            group,
            min=low,
            max=high,
            count=len(entry_ids) + 100,
            consumername=consumer,
        )
        return {_text(row["message_id"]): int(row["times_delivered"]) for row in rows}

    def dead_letter(self, delivery: Delivery, group: str, *, reason: str) -> None:
        """XADD to ``<stream>:dlq`` (payload plus where and why), then XACK on the stream."""
        info = {
            "original_stream": delivery.stream,
            "original_id": delivery.entry_id,
            "consumer_group": group,
            "failed_at": time.time(),
            "retry_count": delivery.attempts,
            "failure_reason": reason,
        }
        body = orjson.dumps({**delivery.payload, "_dlq_metadata": info})
        pipe = self._client.pipeline(transaction=True)
        pipe.xadd(dead_letter_stream(delivery.stream), {"id": delivery.message_id, "payload": body})
        pipe.xack(delivery.stream, group, delivery.entry_id)
        self._call("dead-letter", pipe.execute)

    def dead_letters(self, stream: str) -> list[DeadLetter]:
        """XRANGE over ``<stream>:dlq``."""
        letters = []
        for entry_id, fields in self._call("read dead letters", self._client.xrange, dead_letter_stream(stream)):
            body = orjson.loads(fields[b"payload"])
            info = body.pop("_dlq_metadata", {})
            letters.append(DeadLetter(_text(entry_id), _text(fields[b"id"]), body, info))
        return letters

    def remove_dead_letter(self, stream: str, entry_id: str) -> None:
        """XDEL the entry from ``<stream>:dlq``."""
        self._call("remove dead letter", self._client.xdel, dead_letter_stream(stream), entry_id)

    def summary(self, stream: str, group: str) -> PendingSummary:
        """XINFO GROUPS (lag) and XPENDING (pending per consumer)."""
        groups = self._call("group info", self._client.xinfo_groups, stream) if self._client.exists(stream) else []
        row = next((g for g in groups if _text(g["name"]) == group), None)
        if row is None:
            return PendingSummary(lag=None)
        pending = self._call("pending", self._client.xpending, stream, group)
        per_consumer = {_text(c["name"]): int(c["pending"]) for c in pending.get("consumers") or []}
        lag = row.get("lag")
        return PendingSummary(lag=None if lag is None else int(lag), pending=per_consumer)

    def _delivery(self, stream: str, entry_id: Any, fields: dict[bytes, bytes], attempts: int) -> Delivery:
        return Delivery(
            stream=stream,
            entry_id=_text(entry_id),
            message_id=_text(fields[b"id"]),
            payload=orjson.loads(fields[b"payload"]),
            attempts=attempts,
        )

    def close(self) -> None:
        """Close the connection pool (idempotent)."""
        if not self._closed:
            self._closed = True
            self._client.close()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
