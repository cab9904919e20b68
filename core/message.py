"""Stored messages: the record kept in the event store and the object handlers see.

A record is plain JSON::

    {"id", "type", "stream_name", "stream_category", "position", "global_position",
     "time", "data",
     "metadata": {"correlation_id", "causation_id", "origin_stream", "asynchronous",
                  "expected_version", "checksum"}}

:class:`Message` wraps a record without copying it and also offers Protean's nested
view (``message.metadata.headers.id``, ``message.metadata.domain.correlation_id``).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson


def checksum(data: dict[str, Any]) -> str:
    """SHA-256 of the payload as canonical JSON (sorted keys, no spaces)."""
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def stream_category(stream_name: str) -> str:
    """The category of a stream: the part before the first ``-``."""
    return stream_name.partition("-")[0]


class Namespace:
    """Read-only attribute access over a dict (``ns.headers.id``)."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._data[name]
        except KeyError:
            raise AttributeError(name) from None
        return Namespace(value) if isinstance(value, dict) else value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("message metadata is read-only")

    def __getitem__(self, name: str) -> Any:
        return self._data[name]

    def to_dict(self) -> dict[str, Any]:
        """The underlying data."""
        return self._data

    def __repr__(self) -> str:
        return f"Namespace({self._data!r})"


class Message:
    """A stored event as handlers, ``handle_error`` and the CLI see it."""

    __slots__ = ("record",)

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record

    id = property(lambda self: self.record["id"], doc="Unique message id.")
    type = property(lambda self: self.record["type"], doc="Type string, e.g. `Shop.OrderShipped.v1`.")
    kind = property(lambda self: self.record.get("kind", "EVENT"), doc="EVENT or COMMAND.")
    stream_name = property(lambda self: self.record["stream_name"], doc="Stream, e.g. `order-42`.")
    stream_category = property(lambda self: self.record["stream_category"], doc="Category.")
    position = property(lambda self: self.record["position"], doc="0-based position in its stream.")
    global_position = property(lambda self: self.record["global_position"], doc="1-based store-wide position.")
    time = property(lambda self: self.record["time"], doc="ISO 8601 time the event was raised.")
    data = property(lambda self: self.record["data"], doc="The event's field values.")
    correlation_id = property(lambda self: self.record["metadata"].get("correlation_id"))
    causation_id = property(lambda self: self.record["metadata"].get("causation_id"))
    origin_stream = property(lambda self: self.record["metadata"].get("origin_stream"))

    @property
    def metadata(self) -> Namespace:
        """Protean's metadata layout: ``headers``, ``domain``, ``envelope``, ``event_store``."""
        r = self.record
        m = r["metadata"]
        return Namespace(
            {
                "headers": {"id": r["id"], "time": r["time"], "type": r["type"], "stream": r["stream_name"]},
                "envelope": {"specversion": "1.0", "checksum": m.get("checksum")},
                "domain": {
                    "kind": r.get("kind", "EVENT"),
                    "origin_stream": m.get("origin_stream"),
                    "stream_category": r["stream_category"],
                    "version": int(r["type"].rpartition(".v")[2] or 1),
                    "asynchronous": m.get("asynchronous"),
                    "expected_version": m.get("expected_version"),
                    "correlation_id": m.get("correlation_id"),
                    "causation_id": m.get("causation_id"),
                },
                "event_store": {"position": r.get("position"), "global_position": r.get("global_position")},
                "extensions": m.get("extensions", {}),
            }
        )

    def verify_checksum(self) -> bool:
        """True when the payload still matches the checksum written with it."""
        expected = self.record["metadata"].get("checksum")
        return expected is None or checksum(self.record["data"]) == expected

    def to_dict(self) -> dict[str, Any]:
        """The stored record (do not mutate it)."""
        return self.record

    def __repr__(self) -> str:
        return (
            f"<Message {self.type} {self.stream_name}@{self.record.get('position')} "
            f"#{self.record.get('global_position')}>"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and other.record["id"] == self.record["id"]

    def __hash__(self) -> int:
        return hash(self.record["id"])
