"""Domain events: immutable facts raised by aggregates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.core._model import ImmutableModel
from workbench.core.context import current_message
from workbench.core.message import Message, Namespace, checksum

if TYPE_CHECKING:
    from workbench.core.domain import Domain


class BaseEvent(ImmutableModel):
    """Base of every event class (``@domain.event`` derives plain classes from it)."""

    def _with_message(self, message: Message) -> BaseEvent:
        """A copy of this event that carries ``message`` as its metadata."""
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.__dict__["_message"] = message
        return copy

    @classmethod
    def _from_message(cls, message: Message) -> BaseEvent:
        """The event as a handler receives it, with ``_metadata`` from the store."""
        event = cls._from_json(message.record["data"])
        event.__dict__["_message"] = message
        event.__dict__["_frozen"] = True
        return event

    @property
    def _metadata(self) -> Namespace | None:
        """Protean-style metadata (headers, domain, envelope) once the event is raised."""
        message = self.__dict__.get("_message")
        return Namespace(message.metadata_dict(_fqn(type(self)))) if message is not None else None

    @property
    def payload(self) -> dict[str, Any]:
        """The field values as JSON."""
        return self._fields_json()

    def to_dict(self) -> dict[str, Any]:
        """Field values, plus ``_metadata`` once the event has been raised."""
        data = self._fields_json()
        message = self.__dict__.get("_message")
        if message is not None:
            data["_metadata"] = message.metadata_dict(_fqn(type(self)))
        return data

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._fields_json() == self._fields_json()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(sorted(self._fields_json().items()))))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self._fields_json()}>"


def _fqn(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def build_record(
    domain: Domain,
    event: BaseEvent,
    *,
    stream_name: str,
    category: str,
    expected_version: int | None,
    sequence_id: str | None = None,
) -> dict[str, Any]:
    """The store record for ``event`` raised now on ``stream_name``.

    ``sequence_id`` is Protean's ``"<aggregate version>.<n>"`` for events raised by an
    aggregate. Correlation follows the message being handled: an event raised by a handler is
    caused by that handler's message and shares its correlation id and stream origin.
    """
    data = event._fields_json()
    message_id = domain.new_message_id()
    parent = current_message()
    record: dict[str, Any] = {
        "id": message_id,
        "type": type(event).__type__,
        "stream_name": stream_name,
        "stream_category": category,
        "position": None,
        "global_position": None,
        "time": domain.now_iso(),
        "data": data,
        "metadata": {
            "correlation_id": parent.correlation_id if parent is not None else message_id,
            "causation_id": parent.id if parent is not None else None,
            "origin_stream": parent.stream_name if parent is not None else None,
            "asynchronous": domain.config.get("event_processing") == "async",
            "expected_version": expected_version,
            "checksum": checksum(data),
        },
    }
    if sequence_id is not None:
        record["metadata"]["sequence_id"] = sequence_id
    return record
