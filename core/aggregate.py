"""Aggregates: consistency boundaries that hold state and raise events."""

from __future__ import annotations

from typing import Any

from workbench.core._model import BaseModel
from workbench.core.entity import attach_children
from workbench.core.event import BaseEvent, build_record
from workbench.core.exceptions import ConfigurationError, IncorrectUsageError
from workbench.core.invariants import check, guarded_set
from workbench.core.message import Message


class BaseAggregate(BaseModel):
    """Base of every aggregate class (``@domain.aggregate`` derives plain classes from it).

    Besides its fields an aggregate carries ``_version`` (-1 until first saved, then
    0, 1, ...) and ``_events``, the events raised since it was last saved.
    """

    def __init__(self, *template: dict[str, Any], **kwargs: Any) -> None:
        if "meta_" not in type(self).__dict__:
            raise ConfigurationError(f"`{type(self).__name__}` should be registered with a domain")
        self._set_fields(template, kwargs)
        values = self.__dict__
        values["_version"] = -1
        values["_events"] = []
        values["_persisted"] = None
        values["_event_position"] = None
        meta = self.meta_
        if meta.options.get("associations"):
            attach_children(self)
        if meta.invariants:
            check(self, meta.invariants, "post")

    @classmethod
    def _from_doc(cls, doc: dict[str, Any]) -> Any:
        """An aggregate from its stored document (a private copy; trusted, not validated)."""
        aggregate = cls._from_json(doc)
        values = aggregate.__dict__
        values["_version"] = doc.get("_version", 0)
        values["_events"] = []
        values["_persisted"] = doc
        values["_event_position"] = None
        if cls.meta_.options.get("associations"):
            attach_children(aggregate)
        return aggregate

    def __setattr__(self, name: str, value: Any) -> None:
        meta = self.meta_
        invariants = meta.invariants
        values = self.__dict__
        if not invariants or name not in meta.fields or values.get("_atomic"):
            self._validated_set(name, value)
        else:
            guarded_set(self, name, value, [(self, invariants)])
        if name in meta.options.get("associations", ()):
            attach_children(self)

    @property
    def id_value(self) -> Any:
        """The identity, whatever the identifier field is called."""
        return self.__dict__[self.meta_.id_field]  # type: ignore[index]

    def stream_name(self) -> str:
        """This aggregate's event stream, ``<category>-<id>``."""
        return f"{self.meta_.stream_category}-{self.id_value}"

    def raise_(self, event: BaseEvent) -> None:
        """Record ``event`` as raised by this aggregate; it is stored when the aggregate is saved.

        Raises:
            ConfigurationError: the event is not part of this aggregate.
        """
        if not isinstance(event, BaseEvent):
            raise IncorrectUsageError(f"`{type(event).__name__}` is not an event")
        part_of = type(event).meta_.part_of
        if part_of is not type(self) and part_of != type(self).__name__:
            raise ConfigurationError(
                f"Event `{type(event).__name__}` is not associated with aggregate `{type(self).__name__}`"
            )
        meta = self.meta_
        domain = meta.domain
        assert domain is not None
        stream = self.stream_name()
        values = self.__dict__
        position = values["_event_position"]
        if position is None:
            position = domain.store.stream_last_position(stream)
        record = build_record(
            domain,
            event,
            stream_name=stream,
            category=meta.stream_category or "",
            expected_version=position,
            # Protean's "<version being written>.<n-th event raised since the last save>".
            sequence_id=f"{values['_version'] + 1}.{len(values['_events']) + 1}",
        )
        values["_event_position"] = position + 1
        # Handlers and tests see a copy carrying its metadata; the caller's instance is unchanged.
        values["_events"].append(event._with_message(Message(record)))

    def to_dict(self) -> dict[str, Any]:
        """Field values as JSON, with ``_version``."""
        data = self._fields_json()
        data["_version"] = self.__dict__["_version"]
        return data

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id_value == self.id_value  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id_value))
