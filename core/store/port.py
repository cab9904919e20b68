"""The storage port: what the engine needs from a store, whatever backs it.

A store is two things behind one transaction boundary:

* an **event store**: an append-only log of :class:`EventRecord`, each with a 0-based
  ``position`` in its stream and a gapless 1-based ``global_position``; read a stream
  (from a stream position), a category or ``$all`` (from a global position), get one
  event by id, ask for a stream's version, the last global position, the streams of a
  category;
* a **document store**: JSON documents in named tables, each under a key field; get by
  key, find by a field's value (adapters keep an index so this does not scan), scan.

:meth:`StoragePort.commit` writes document changes and appends events atomically: every
expected version (a document's ``_version``, a stream's last position) is checked
against what is committed *now*, by any process, and then everything is written or
nothing is. A server-backed adapter implements it as one database transaction; the
embedded store (:class:`~workbench.core.store.store.Store`) as one journal line written
under a file lock.

Adapters plug in through :func:`register_adapter` (a URL scheme and a factory) and are
opened with :func:`workbench.core.store.open_store`. The contract every adapter must pass
ships in :mod:`workbench.core.store.contract`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

ALL = "$all"
"""The name that reads every event of the store, in global order."""


@dataclass(slots=True)
class EventRecord:
    """One stored event.

    Attributes:
        id: unique message id.
        type: type string, e.g. ``Shop.OrderShipped.v1``.
        stream_name: the stream, e.g. ``order-42`` or ``order-lines-7``.
        stream_category: the stream's category (``order``, ``order-lines``); stored with the
            event, never re-derived from the stream name.
        data: the event's field values (JSON).
        metadata: correlation, causation, ``expected_version`` (the stream position the
            writer expects to be the last one; None skips the check), checksum, ...
        time: ISO 8601 time it was raised.
        kind: ``EVENT`` or ``COMMAND``.
        position: 0-based position in its stream, assigned by the commit.
        global_position: 1-based store-wide position, gapless, assigned by the commit.
    """

    id: str
    type: str
    stream_name: str
    stream_category: str
    data: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    time: str = ""
    kind: str = "EVENT"
    position: int | None = None
    global_position: int | None = None

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> EventRecord:
        """The typed record of a plain record (as stored in JSON)."""
        return cls(
            record["id"],
            record["type"],
            record["stream_name"],
            record["stream_category"],
            record["data"],
            record.get("metadata") or {},
            record.get("time", ""),
            record.get("kind", "EVENT"),
            record.get("position"),
            record.get("global_position"),
        )

    def as_dict(self) -> dict[str, Any]:
        """The plain JSON form of the record (the keys :meth:`from_dict` reads)."""
        return {
            "id": self.id,
            "type": self.type,
            "kind": self.kind,
            "stream_name": self.stream_name,
            "stream_category": self.stream_category,
            "position": self.position,
            "global_position": self.global_position,
            "time": self.time,
            "data": self.data,
            "metadata": self.metadata,
        }


@dataclass(slots=True)
class DocumentChange:
    """One document write in a commit.

    Attributes:
        table: the table, e.g. ``aggregate:order``.
        key_field: the document field holding its key.
        key: the document's key.
        doc: the new document (a JSON object), or None to delete it.
        expected_version: the ``_version`` the stored document must have (-1: must not
            exist); None skips the check.
        label: how errors name the document, e.g. ``Order``.
    """

    table: str
    key_field: str
    key: Any
    doc: dict[str, Any] | None
    expected_version: int | None = None
    label: str = ""


@runtime_checkable
class StoragePort(Protocol):
    """The storage an engine runs on. Every method may be called from any thread.

    Reads see every commit made before the call by this instance, and the commits of
    other instances and processes once :meth:`refresh` (or a commit) has caught up.
    Documents returned are the stored ones: callers must not mutate them.
    """

    @property
    def location(self) -> str:
        """Where the store lives: ``:memory:``, a folder, a URL without its password."""
        ...

    @property
    def read_only(self) -> bool:
        """True when :meth:`commit` is refused."""
        ...

    # -- the transaction boundary ----------------------------------------------------

    def commit(self, changes: Sequence[DocumentChange], events: Sequence[EventRecord] = ()) -> None:
        """Write ``changes`` and append ``events`` atomically.

        Events get their ``position`` and ``global_position`` set in place. On failure
        nothing is written, no global position is used up, and both stay None.

        Raises:
            ExpectedVersionError: a document's ``_version`` or a stream's last position is
                not what the change or event expects (checked against every committed
                write, including other processes').
            ValidationError: a value cannot be stored (e.g. an integer beyond 64 bits).
            StoreError: read-only, closed, or the backend refused the write.
        """
        ...

    # -- events ----------------------------------------------------------------------

    def read_stream(self, stream: str, *, position: int = 0, limit: int | None = None) -> list[EventRecord]:
        """Events of one stream whose stream position is >= ``position``, oldest first."""
        ...

    def read_category(self, category: str, *, position: int = 1, limit: int | None = None) -> list[EventRecord]:
        """Events whose category equals ``category`` exactly and whose global position is
        >= ``position``, in global order."""
        ...

    def read_all(self, *, position: int = 1, limit: int | None = None) -> list[EventRecord]:
        """Every event with global position >= ``position``, in global order."""
        ...

    def get_event(self, event_id: str) -> EventRecord | None:
        """The event with this id, or None."""
        ...

    def last_position(self) -> int:
        """The global position of the newest event (0 when there is none)."""
        ...

    def stream_version(self, stream: str) -> int:
        """The position of the last event of ``stream`` (-1 when it has none)."""
        ...

    def streams(self, category: str | None = None) -> dict[str, int]:
        """Every stream (of exactly this category, if given) with its event count, in
        the order of their first events."""
        ...

    def categories(self) -> dict[str, int]:
        """Every category with its event count, in the order of their first events."""
        ...

    def stream_counts(self) -> dict[str, int]:
        """Every category with how many streams hold its events."""
        ...

    def count_events(self, category: str, *, position: int = 1) -> int:
        """How many events of exactly ``category`` (every event for ``$all``) have a global
        position >= ``position``."""
        ...

    def last_in_category(self, category: str) -> EventRecord | None:
        """The newest event of exactly ``category``, or None."""
        ...

    def event_types(self) -> dict[str, int]:
        """Every stored event type with its event count."""
        ...

    def read_correlation(self, correlation_id: str) -> list[EventRecord]:
        """Events whose ``metadata["correlation_id"]`` is ``correlation_id``, in global order."""
        ...

    def find_event_ids(self, prefix: str, *, limit: int | None = None) -> list[str]:
        """Ids of events that start with ``prefix`` (for names typed in short), in global order."""
        ...

    # -- documents -------------------------------------------------------------------

    def get(self, table: str, key: Any) -> dict[str, Any] | None:
        """The document under ``key`` in ``table``, or None."""
        ...

    def find(self, table: str, field: str, value: Any) -> list[dict[str, Any]]:
        """Documents of ``table`` whose ``field`` equals ``value``, in insertion order."""
        ...

    def scan(self, table: str) -> Iterator[dict[str, Any]]:
        """Every document of ``table``, in insertion order."""
        ...

    def count(self, table: str) -> int:
        """How many documents ``table`` holds."""
        ...

    def tables(self) -> list[str]:
        """Every table that holds (or held) documents."""
        ...

    # -- lifecycle -------------------------------------------------------------------

    def refresh(self) -> None:
        """Catch up on what other instances and processes committed since the last look."""
        ...

    def close(self) -> None:
        """Release connections, files and locks (idempotent)."""
        ...


AdapterFactory = Callable[..., StoragePort]
"""Opens a store from a URL: ``factory(url, read_only=..., **options)``."""

_ADAPTERS: dict[str, AdapterFactory] = {}


def register_adapter(scheme: str, factory: AdapterFactory) -> None:
    """Make ``open_store("<scheme>://...")`` open stores with ``factory``.

    Args:
        scheme: the URL scheme, e.g. ``postgresql``.
        factory: called as ``factory(url, read_only=read_only)``; returns a
            :class:`StoragePort`.
    """
    _ADAPTERS[scheme.lower()] = factory


def adapter_for(url: str) -> AdapterFactory | None:
    """The registered factory for ``url``'s scheme, or None (a plain path)."""
    scheme, sep, _rest = url.partition("://")
    if not sep:
        return None
    return _ADAPTERS.get(scheme.lower())
