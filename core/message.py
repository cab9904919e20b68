"""Stored messages: the record kept in the event store and the object handlers see.

A record is plain JSON::

    {"id", "type", "stream_name", "stream_category", "position", "global_position",
     "time", "data",
     "metadata": {"correlation_id", "causation_id", "origin_stream", "asynchronous",
                  "expected_version", "checksum", "sequence_id"}}

:class:`Message` wraps a record without copying it and also offers Protean's nested
view (``message.metadata.headers.id``, ``message.metadata.domain.correlation_id``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import orjson
from workbench.core.store.names import category_of


def checksum(data: dict[str, Any]) -> str:
    """SHA-256 of the payload as canonical JSON (sorted keys, no spaces)."""
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def stream_category(stream_name: str, known: Iterable[str] = ()) -> str:
    """The category of a stream (see :func:`workbench.core.store.names.category_of`)."""
    return category_of(stream_name, known)


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
        return Namespace(self.metadata_dict())

    def metadata_dict(self, fqn: str | None = None) -> dict[str, Any]:
        """The metadata as plain dicts; ``fqn`` is looked up in the active domain unless given."""
        r = self.record
        m = r["metadata"]
        return {
            "headers": {"id": r["id"], "time": r["time"], "type": r["type"], "stream": r["stream_name"]},
            "envelope": {"specversion": "1.0", "checksum": m.get("checksum")},
            "domain": {
                "fqn": fqn if fqn is not None else self._class_fqn(),
                "kind": r.get("kind", "EVENT"),
                "origin_stream": m.get("origin_stream"),
                "stream_category": r["stream_category"],
                "version": int(r["type"].rpartition(".v")[2] or 1),
                "sequence_id": m.get("sequence_id"),
                "asynchronous": m.get("asynchronous"),
                "expected_version": m.get("expected_version"),
                "priority": m.get("priority", 0),
                "correlation_id": m.get("correlation_id"),
                "causation_id": m.get("causation_id"),
            },
            "event_store": {"position": r.get("position"), "global_position": r.get("global_position")},
            "extensions": m.get("extensions", {}),
        }

    def _class_fqn(self) -> str | None:
        # Not stored with every record (it would grow the store); the domain knows the class.
        from workbench.core.context import active_domain

        domain = active_domain()
        event_cls = domain.event_class(self.type) if domain is not None else None
        return f"{event_cls.__module__}.{event_cls.__qualname__}" if event_cls is not None else None

    def to_domain_object(self) -> Any:
        """The event object this message stores, as a handler receives it (needs a domain context).

        Raises:
            IncorrectUsageError: no domain is active.
            DeserializationError: the domain has no class for this message's type.
        """
        from workbench.core.context import active_domain
        from workbench.core.exceptions import IncorrectUsageError

        domain = active_domain()
        if domain is None:
            raise IncorrectUsageError("to_domain_object() needs an active domain (use `with domain.domain_context():`)")
        return domain.event_from_message(self)

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
