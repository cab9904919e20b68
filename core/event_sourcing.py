"""Event-sourced aggregates: ``@domain.aggregate(is_event_sourced=True)`` with ``@apply`` methods.

The aggregate's state is its stream: raising an event applies it at once (through the
``@apply`` method for its class) and bumps ``_version``, which is the stream position
of the aggregate's last event. Saving appends the raised events, each expecting the
stream to be exactly where the aggregate last saw it, so a stale copy fails with
``ExpectedVersionError``. Loading replays the stream (see
:mod:`workbench.core.event_sourced_repository`), starting from the latest snapshot.
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from workbench.core.aggregate import BaseAggregate
from workbench.core.event import BaseEvent, build_record
from workbench.core.exceptions import ConfigurationError, IncorrectUsageError
from workbench.core.invariants import _entities, _field_values
from workbench.core.message import Message

if TYPE_CHECKING:
    from workbench.core.domain import Domain

F = TypeVar("F", bound=Callable[..., Any])


def apply(fn: F) -> F:
    """Mark an aggregate method as the one that applies an event to its state.

    The event class comes from the annotation of the method's event parameter
    (``def deposited(self, event: Deposited)``); it is resolved at ``domain.init()``, so
    the event may be defined after the aggregate.
    """
    if not callable(fn):
        raise IncorrectUsageError("@apply must decorate a method")
    params = list(inspect.signature(fn).parameters)
    if len(params) != 2:
        raise IncorrectUsageError(f"Handler method `{fn.__name__}` has incorrect number of arguments")
    fn._applies = params[1]  # type: ignore[attr-defined]  # the parameter whose annotation names the event
    return fn


class BaseEventSourcedAggregate(BaseAggregate):
    """Base of event-sourced aggregates; ``_appliers`` maps event types to ``@apply`` methods."""

    _event_sourced: ClassVar[bool] = True
    _appliers: ClassVar[dict[str, list[str]]] = {}

    def raise_(self, event: BaseEvent) -> None:
        """Apply ``event`` now and record it; it is stored when the aggregate is saved.

        Raises:
            ConfigurationError: the event is not part of this aggregate.
            IncorrectUsageError: the aggregate has no ``@apply`` method for it.
        """
        if not isinstance(event, BaseEvent):
            raise IncorrectUsageError(f"`{type(event).__name__}` is not an event")
        if self.__dict__.get("_temporal"):
            raise IncorrectUsageError(
                "Cannot raise events on a temporally-loaded aggregate. Temporal aggregates are read-only."
            )
        cls = type(self)
        if type(event).meta_.part_of is not cls and type(event).meta_.part_of != cls.__name__:
            raise ConfigurationError(
                f"Event `{type(event).__name__}` is not associated with aggregate `{cls.__name__}`"
            )
        domain = cls.meta_.domain
        assert domain is not None
        values = self.__dict__
        version = values["_version"] + 1
        record = build_record(
            domain,
            event,
            stream_name=self.stream_name(),
            category=cls.meta_.stream_category or "",
            expected_version=version - 1,
            sequence_id=str(version),
        )
        stamped = event._with_message(Message(record))
        # Lists, dicts and entities kept aside, so a failing @apply that changed one in
        # place is undone too.
        before = _field_values(self)
        children = [(child, _field_values(child)) for child in _entities(self)]
        try:
            self._apply_event(stamped)
        except BaseException:
            values.update(before)
            for child, fields in children:
                child.__dict__.update(fields)
            raise
        values["_version"] = version
        values["_events"].append(stamped)

    def _apply_event(self, event: BaseEvent) -> None:
        """Run the ``@apply`` method for ``event``; on failure the fields are left as they were."""
        cls = type(self)
        methods = cls._appliers.get(type(event).__type__)
        if not methods:
            raise IncorrectUsageError(
                f"No @apply handler registered for event `{type(event).__name__}` in `{cls.__name__}`"
            )
        values = self.__dict__
        before = {name: values.get(name) for name in cls.meta_.fields}
        try:
            for name in methods:
                getattr(self, name)(event)
        except BaseException:
            values.update(before)
            raise

    @classmethod
    def _blank(cls) -> Any:
        """An instance to replay into: every field None, no defaults (as Protean reconstitutes)."""
        instance = cls.__new__(cls)
        values = instance.__dict__
        for name in cls.meta_.fields:
            values[name] = None
        values["_version"] = -1
        values["_events"] = []
        values["_persisted"] = None
        values["_event_position"] = None
        return instance


def derive_event_sourced(cls: type) -> type:
    """``cls`` rebuilt on :class:`BaseEventSourcedAggregate` (from a plain class or a ``BaseAggregate`` subclass)."""
    if issubclass(cls, BaseEventSourcedAggregate):
        return cls
    namespace = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
    # `class Account(BaseAggregate)` is common in Protean files: swap that base, keep the others.
    bases = (*(b for b in cls.__bases__ if b not in (object, BaseAggregate)), BaseEventSourcedAggregate)
    new_cls = type(cls.__name__, bases, namespace)
    new_cls.__qualname__ = cls.__qualname__
    new_cls.__module__ = cls.__module__
    return new_cls


def wire_appliers(domain: Domain, aggregate: type[BaseAggregate]) -> None:
    """Build an aggregate's ``{event type: [@apply methods]}``, checking every target.

    Raises:
        IncorrectUsageError: an ``@apply`` method names no event, an event of another
            aggregate, or sits on an aggregate that is not event-sourced.
    """
    found: dict[str, list[str]] = {}
    for klass in reversed(aggregate.__mro__):
        for name, member in vars(klass).items():
            parameter = getattr(member, "_applies", None)
            if parameter is None:
                continue
            if not getattr(aggregate, "_event_sourced", False):
                raise IncorrectUsageError(
                    f"`{aggregate.__name__}.{name}` is an @apply method, but `{aggregate.__name__}` is not "
                    "event-sourced (is_event_sourced=True)"
                )
            event = _annotated_event(domain, aggregate, member, parameter)
            if event.meta_.part_of is not aggregate:
                raise IncorrectUsageError(
                    f"`{aggregate.__name__}.{name}` applies `{event.__name__}`, which is part of "
                    f"`{event.meta_.part_of.__name__}`, not `{aggregate.__name__}`"
                )
            found.setdefault(event.__type__, []).append(name)
    aggregate._appliers = found  # type: ignore[attr-defined]


def _annotated_event(domain: Domain, aggregate: type, method: Any, parameter: str) -> Any:
    module = sys.modules.get(method.__module__)
    namespace = {**(vars(module) if module else {}), **domain.registry.events}
    try:
        hints = typing.get_type_hints(method, globalns=namespace)
    except Exception:
        hints = {}
    event = hints.get(parameter)
    if not (inspect.isclass(event) and issubclass(event, BaseEvent) and "meta_" in vars(event)):
        raise IncorrectUsageError(
            f"Apply method `{aggregate.__name__}.{method.__name__}` should accept an argument annotated "
            "with the Event class"
        )
    return event


def is_event_sourced(aggregate_cls: type) -> bool:
    """True for an aggregate registered with ``is_event_sourced=True``."""
    return bool(getattr(aggregate_cls, "_event_sourced", False))
