"""What events and commands share: the stored message they carry once written, and value equality."""

from __future__ import annotations

from typing import Any

from workbench.core._model import ImmutableModel
from workbench.core.message import Message, Namespace


def fqn_of(cls: type) -> str:
    """``module.QualName`` of a class, as Protean's metadata names it."""
    return f"{cls.__module__}.{cls.__qualname__}"


class StoredMessageModel(ImmutableModel):
    """An immutable event or command; ``_metadata`` and ``to_dict`` show its stored message."""

    @classmethod
    def _from_message(cls, message: Message) -> Any:
        """The element as its handler receives it, with ``_metadata`` from the store."""
        element = cls._from_json(message.record["data"])
        element.__dict__["_message"] = message
        element.__dict__["_frozen"] = True
        return element

    @property
    def _metadata(self) -> Namespace | None:
        """Protean-style metadata (headers, domain, envelope) once the message is stored."""
        message = self.__dict__.get("_message")
        return Namespace(message.metadata_dict(fqn_of(type(self)))) if message is not None else None

    @property
    def payload(self) -> dict[str, Any]:
        """The field values as JSON."""
        return self._fields_json()

    def to_dict(self) -> dict[str, Any]:
        """Field values, plus ``_metadata`` once the message is stored."""
        data = self._fields_json()
        message = self.__dict__.get("_message")
        if message is not None:
            data["_metadata"] = message.metadata_dict(fqn_of(type(self)))
        return data

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._fields_json() == self._fields_json()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(sorted(self._fields_json().items()))))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self._fields_json()}>"
