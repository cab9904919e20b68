"""Domain events: immutable facts raised by aggregates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.core._stored_message import StoredMessageModel
from workbench.core.context import current_message
from workbench.core.message import Message, checksum

if TYPE_CHECKING:
    from workbench.core.domain import Domain


class BaseEvent(StoredMessageModel):
    """Base of every event class (``@domain.event`` derives plain classes from it)."""

    def _with_message(self, message: Message) -> BaseEvent:
        """A copy of this event that carries ``message`` as its metadata."""
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.__dict__["_message"] = message
        return copy


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
