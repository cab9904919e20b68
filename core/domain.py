"""The ``Domain``: registry of elements, configuration, store binding and entry points."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from random import getrandbits
from typing import Any, TypeVar

from workbench.core import _registry
from workbench.core._domain_commands import DomainCommands
from workbench.core._model import copy_json
from workbench.core._naming import camel_case_name, normalized_name
from workbench.core.aggregate import BaseAggregate
from workbench.core.context import domain_context, is_replaying
from workbench.core.dispatch import SyncDispatcher
from workbench.core.event import BaseEvent
from workbench.core.event_store import EventStore
from workbench.core.exceptions import DeserializationError, IncorrectUsageError
from workbench.core.handler import BaseEventHandler
from workbench.core.message import Message, stream_category
from workbench.core.repository import Repository
from workbench.core.store import Store, open_store
from workbench.core.unsupported import DOMAIN_DECORATORS, Unsupported

# A store one thread works on for a while (a dry run), seen only by that thread.
_STORE_OVERRIDE: ContextVar[tuple[Any, Store] | None] = ContextVar("workbench_store_override", default=None)
# How many blocks use one now, in any thread: while none does, `store` skips the lookup.
_OVERRIDES_IN_USE = 0
_OVERRIDES_LOCK = threading.Lock()

T = TypeVar("T", bound=type)

DEFAULT_CONFIG: dict[str, Any] = {
    "event_processing": "async",
    "command_processing": "async",
    "identity_strategy": "uuid",
    "identity_type": "string",
    "store": None,
    # How many levels of events a sync handler chain may raise (A raises B raises A ...)
    # before the handler about to go deeper fails instead of committing.
    "max_cascade_depth": 100,
    # Event-sourced aggregates get a snapshot every this many events (Protean's setting).
    "snapshot_threshold": 10,
}

# Set by the domain loader: domains created while a file is imported get a throwaway
# in-memory store, whatever WORKBENCH_STORE says.
loading_domain_file: ContextVar[bool] = ContextVar("workbench_loading", default=False)


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def _uuid4() -> str:
    """A random version-4 UUID string at a third of ``str(uuid.uuid4())``'s cost.

    Ids need to be unique, not unguessable, so the (fork-safe) ``random`` module's
    generator is enough; it is seeded from the OS.
    """
    h = "%032x" % (getrandbits(128) & _UUID_CLEAR | _UUID_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


_iso_second = [-1, ""]


def _utc_now_iso() -> str:
    """``_utc_now().isoformat()`` at a fifth of the cost: the date part is cached per second."""
    now = time.time()
    second = int(now)
    if second != _iso_second[0]:
        _iso_second[0] = second
        _iso_second[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{_iso_second[1]}.{int((now - second) * 1_000_000):06d}+00:00"


@dataclass
class Registry:
    """Registered elements by class name, in registration order."""

    aggregates: dict[str, type[BaseAggregate]] = field(default_factory=dict)
    events: dict[str, type[BaseEvent]] = field(default_factory=dict)
    event_handlers: dict[str, type[BaseEventHandler]] = field(default_factory=dict)
    projections: dict[str, Any] = field(default_factory=dict)
    projectors: dict[str, Any] = field(default_factory=dict)
    subscribers: dict[str, Any] = field(default_factory=dict)
    queries: dict[str, Any] = field(default_factory=dict)
    query_handlers: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, Any] = field(default_factory=dict)
    command_handlers: dict[str, Any] = field(default_factory=dict)
    value_objects: dict[str, Any] = field(default_factory=dict)
    entities: dict[str, Any] = field(default_factory=dict)
    domain_services: dict[str, Any] = field(default_factory=dict)
    application_services: dict[str, Any] = field(default_factory=dict)
    # Event handlers, projectors and subscribers in the order they were registered:
    # the order in which they receive a message.
    consumers: list[Any] = field(default_factory=list)


class Domain(DomainCommands):
    """A bounded context: its aggregates, events and handlers, and where they are stored.

    Args:
        root_path: accepted for Protean compatibility (Protean reads config files there).
        name: the domain's name; type strings use its CamelCase form
            (``Shop.OrderShipped.v1``). Defaults to the defining module's name, or the
            script's file name when run as ``__main__``.
        config: overrides of :data:`DEFAULT_CONFIG` (``event_processing``: ``"sync"``
            or ``"async"``; ``store``: a store folder).
        identity_function: makes new ids (default: uuid4 strings).
    """

    def __init__(
        self,
        root_path: str | os.PathLike[str] | None = None,
        name: str = "",
        config: dict[str, Any] | None = None,
        identity_function: Callable[[], Any] | None = None,
    ) -> None:
        if not name:
            caller = sys._getframe(1).f_globals
            name = caller.get("__name__", "domain")
            if name == "__main__" and caller.get("__file__"):
                name = Path(caller["__file__"]).stem
        self.name = name
        self.normalized_name = normalized_name(name)
        self.camel_case_name = camel_case_name(name)
        self.root_path = root_path
        self.config: dict[str, Any] = {**DEFAULT_CONFIG, **(config or {})}
        self.identity_function = identity_function
        self.clock: Callable[[], _dt.datetime] = _utc_now
        self.registry = Registry()
        self.initialized = False
        self._store: Store | None = None
        self._throwaway = loading_domain_file.get()
        self._repositories: dict[type, Repository[Any]] = {}
        self._handlers_by_category: dict[str, list[type[BaseEventHandler]]] = {}
        self._events_by_type: dict[str, type[BaseEvent]] = {}
        self._filtered_categories: dict[str, bool] = {}
        self.event_store = EventStore(self)
        self.dispatcher = SyncDispatcher(self)

    def __repr__(self) -> str:
        return f"<Domain {self.name!r}>"

    # -- ids, time, names -------------------------------------------------------------

    def new_id(self) -> str:
        """A new identity (the domain's identity function, or a uuid4 string)."""
        if self.identity_function is not None:
            return str(self.identity_function())
        return _uuid4()

    new_message_id = new_id

    def now_iso(self) -> str:
        """The domain clock's current time as ISO 8601."""
        if self.clock is _utc_now:
            return _utc_now_iso()
        return self.clock().isoformat()

    def timestamp(self) -> float:
        """The domain clock's current time in epoch seconds, without consuming a reading.

        The engine schedules and checks retries with this, so a virtual clock
        (:class:`workbench.core.clock.VirtualClock`) drives retry back-off.
        """
        if self.clock is _utc_now:
            return time.time()
        peek = getattr(self.clock, "peek", None)
        return float((peek or self.clock)().timestamp())

    @property
    def clock_is_virtual(self) -> bool:
        """True when time moves only when told (``clock advance``), so waiting for it is pointless."""
        return hasattr(self.clock, "advance")

    def normalize_category(self, name: str) -> str:
        """Drop this domain's qualifier: ``shop::order`` -> ``order`` (``shop::order-1`` too)."""
        prefix, sep, rest = name.partition("::")
        if sep and prefix in (self.normalized_name, self.name):
            return rest
        return name

    # -- registration -----------------------------------------------------------------

    def _decorator(
        self, register: Callable[..., type], registered: dict[str, Any], target: Any, options: dict[str, Any]
    ) -> Any:
        """Apply ``register`` to the class now (``@domain.x``) or later (``@domain.x(...)``)."""

        def apply(cls: type) -> type:
            if self.initialized:
                raise IncorrectUsageError(f"`{cls.__name__}` registered after {self!r}.init()")
            new_cls = register(self, cls, options)
            if new_cls.__name__ in registered:
                raise IncorrectUsageError(f"{self!r} already has an element named `{new_cls.__name__}`")
            registered[new_cls.__name__] = new_cls
            if new_cls.meta_.kind in ("EVENT_HANDLER", "PROJECTOR", "SUBSCRIBER", "COMMAND_HANDLER"):  # type: ignore[attr-defined]
                self.registry.consumers.append(new_cls)
            return new_cls

        return apply(target) if target is not None else apply

    def __getattr__(self, name: str) -> Any:
        # `@domain.entity`, `@domain.command`, ...: Protean decorators not offered yet fail
        # with one line naming the feature, instead of an AttributeError.
        feature = DOMAIN_DECORATORS.get(name)
        if feature is None:
            raise AttributeError(f"'Domain' object has no attribute {name!r}")
        return Unsupported(f"domain.{name}", f"{feature} (@domain.{name})")

    def aggregate(self, _cls: T | None = None, **options: Any) -> Any:
        """Register an aggregate: ``@domain.aggregate`` or ``@domain.aggregate(stream_category=...)``."""
        return self._decorator(_registry.register_aggregate, self.registry.aggregates, _cls, options)

    def entity(self, _cls: T | None = None, **options: Any) -> Any:
        """Register an entity: ``@domain.entity(part_of=Order)``."""
        from workbench.core.entity import register_entity

        return self._decorator(register_entity, self.registry.entities, _cls, options)

    def value_object(self, _cls: T | None = None, **options: Any) -> Any:
        """Register a value object: ``@domain.value_object``."""
        from workbench.core.value_object import register_value_object

        return self._decorator(register_value_object, self.registry.value_objects, _cls, options)

    def domain_service(self, _cls: T | None = None, **options: Any) -> Any:
        """Register a domain service: ``@domain.domain_service(part_of=[Order, Inventory])``."""
        from workbench.core.services import register_domain_service

        return self._decorator(register_domain_service, self.registry.domain_services, _cls, options)

    def application_service(self, _cls: T | None = None, **options: Any) -> Any:
        """Register an application service: ``@domain.application_service(part_of=Order)``."""
        from workbench.core.services import register_application_service

        return self._decorator(register_application_service, self.registry.application_services, _cls, options)

    def event(self, _cls: T | None = None, **options: Any) -> Any:
        """Register an event: ``@domain.event(part_of="Order")``."""
        return self._decorator(_registry.register_event, self.registry.events, _cls, options)

    def event_handler(self, _cls: T | None = None, **options: Any) -> Any:
        """Register an event handler: ``@domain.event_handler(part_of=Inventory, stream_category="order")``."""
        return self._decorator(_registry.register_handler, self.registry.event_handlers, _cls, options)

    def projection(self, _cls: T | None = None, **options: Any) -> Any:
        """Register a projection (a read model): ``@domain.projection``."""
        from workbench.core.projection import register_projection

        return self._decorator(register_projection, self.registry.projections, _cls, options)

    def projector(self, _cls: T | None = None, **options: Any) -> Any:
        """Register a projector: ``@domain.projector(projector_for=Summary, aggregates=[Order])``."""
        from workbench.core.projection import register_projector

        return self._decorator(register_projector, self.registry.projectors, _cls, options)

    def subscriber(self, _cls: T | None = None, **options: Any) -> Any:
        """Register a subscriber to a broker stream: ``@domain.subscriber(stream="payments-gateway")``."""
        from workbench.core.subscriber import register_subscriber

        return self._decorator(register_subscriber, self.registry.subscribers, _cls, options)

    def query(self, _cls: T | None = None, **options: Any) -> Any:
        """Register a query: ``@domain.query(part_of=Summary)``."""
        from workbench.core.query import register_query

        return self._decorator(register_query, self.registry.queries, _cls, options)

    def query_handler(self, _cls: T | None = None, **options: Any) -> Any:
        """Register a query handler: ``@domain.query_handler(part_of=Summary)`` with ``@read`` methods."""
        from workbench.core.query import register_query_handler

        return self._decorator(register_query_handler, self.registry.query_handlers, _cls, options)

    def dispatch(self, query: Any) -> Any:
        """Run a query through its query handler and return the result."""
        from workbench.core.query import dispatch

        return dispatch(self, query)

    def publish(self, stream: str, payload: dict[str, Any]) -> Message:
        """Put a raw dict message on a broker stream for its subscribers."""
        from workbench.core.subscriber import publish

        return publish(self, stream, payload)

    # -- initialisation ---------------------------------------------------------------

    def init(self, traverse: bool = True) -> None:
        """Resolve references, check every handler and bind the store.

        ``traverse`` is accepted for Protean compatibility; sibling files are never
        imported (Protean's traversal executes unrelated scripts).
        """
        if self.initialized:
            return
        # Always, not only when value objects or entities are registered: a field naming
        # one that was never registered must fail here, as in Protean, not at first use.
        from workbench.core.entity import resolve_entity_fields
        from workbench.core.value_object import resolve_value_object_fields

        resolve_value_object_fields(self)
        resolve_entity_fields(self)
        for event in self.registry.events.values():
            meta = event.meta_
            if meta.abstract:
                continue
            meta.part_of = _registry.resolve_part_of(self, event, meta.part_of)
            meta.stream_category = meta.part_of.meta_.stream_category
        for handler in self.registry.event_handlers.values():
            _registry.wire_handler(self, handler)
        from workbench.core.event_sourcing import wire_appliers

        for aggregate in self.registry.aggregates.values():
            wire_appliers(self, aggregate)
        if self.registry.commands or self.registry.command_handlers:
            from workbench.core.command import resolve_command
            from workbench.core.command_handler import wire_command_handlers

            for command in self.registry.commands.values():
                if not command.meta_.abstract:
                    resolve_command(self, command)
            wire_command_handlers(self)
        if self.registry.projectors or self.registry.queries or self.registry.query_handlers:
            from workbench.core.projection import wire_projector
            from workbench.core.query import wire_queries

            for projector in self.registry.projectors.values():
                wire_projector(self, projector)
            wire_queries(self)
        self.initialized = True
        if self._store is None:
            self._store = self._default_store()

    def _default_store(self) -> Store:
        if self._throwaway:
            return open_store(None)
        path = self.config.get("store") or os.environ.get("WORKBENCH_STORE")
        return open_store(path or None)

    @property
    def store(self) -> Store:
        """The store this domain reads and writes (bound at ``init``; see :meth:`using_store`)."""
        if _OVERRIDES_IN_USE:
            override = _STORE_OVERRIDE.get()
            if override is not None and override[0] is self:
                return override[1]
        if self._store is None:
            self.init()
        assert self._store is not None
        return self._store

    def bind_store(self, store: Store) -> None:
        """Use ``store`` from now on (the old store is not closed)."""
        if not self.initialized:
            self.init()
        self._store = store
        self._repositories.clear()

    @contextlib.contextmanager
    def using_store(self, store: Store) -> Iterator[Store]:
        """Read and write ``store`` inside the block, in this thread only.

        Replay dry-runs, rebuilds and checks work on a scratch store this way: other
        threads (the shell's toolbar, a file watcher, a running engine) keep seeing the
        bound store the whole time.
        """
        if not self.initialized:
            self.init()
        global _OVERRIDES_IN_USE
        token = _STORE_OVERRIDE.set((self, store))
        with _OVERRIDES_LOCK:
            _OVERRIDES_IN_USE += 1
        try:
            yield store
        finally:
            with _OVERRIDES_LOCK:
                _OVERRIDES_IN_USE -= 1
            _STORE_OVERRIDE.reset(token)

    def close(self) -> None:
        """Close the bound store and release its lock."""
        if self._store is not None:
            self._store.close()

    @contextlib.contextmanager
    def domain_context(self, **_: Any) -> Iterator[Domain]:
        """Make this domain :data:`current_domain` inside the block."""
        if not self.initialized:
            self.init()
        with domain_context(self):
            yield self

    # -- access -----------------------------------------------------------------------

    def repository_for(self, element: type[BaseAggregate] | str) -> Repository[Any]:
        """The repository of an aggregate or projection class (or its name)."""
        aggregate: Any = element
        if isinstance(element, str):
            if element in self.registry.projections:
                aggregate = self.registry.projections[element]
            else:
                aggregate = _registry.resolve_part_of(self, type(self), element)
        repository = self._repositories.get(aggregate)
        if repository is None:
            if self._store is None:
                self.init()
            known = (*self.registry.aggregates.values(), *self.registry.projections.values())
            if aggregate not in known:
                raise IncorrectUsageError(f"`{aggregate.__name__}` is not an aggregate registered with {self!r}")
            if getattr(aggregate, "_event_sourced", False):
                from workbench.core.event_sourced_repository import EventSourcedRepository

                repository = self._repositories[aggregate] = EventSourcedRepository(self, aggregate)
            else:
                repository = self._repositories[aggregate] = Repository(self, aggregate)
        return repository

    @property
    def is_replaying(self) -> bool:
        """True while a handler runs because of a replay, not live delivery."""
        return is_replaying()

    def event_class(self, type_string: str) -> type[BaseEvent] | None:
        """The event class for a stored type string (``Shop.OrderShipped.v1``) or class name."""
        found = self._events_by_type.get(type_string)
        if found is None:
            for event in (*self.registry.events.values(), *self.registry.commands.values()):
                self._events_by_type[event.__type__] = event
            found = (
                self._events_by_type.get(type_string)
                or self.registry.events.get(type_string)
                or self.registry.commands.get(type_string)
            )
        return found

    def event_from_message(self, message: Message) -> BaseEvent:
        """The event object a handler receives for ``message`` (a broker message's raw dict)."""
        if message.record.get("kind") == "BROKER":
            return copy_json(message.data)  # type: ignore[no-any-return]
        event_cls = self.event_class(message.type)
        if event_cls is None:
            raise DeserializationError(f"no event class is registered for type {message.type!r}")
        return event_cls._from_message(message)

    def handlers_for(self, message: Message) -> list[type[BaseEventHandler]]:
        """The handler classes subscribed to ``message``, in registration order."""
        category = message.record["stream_category"]
        handlers = self._handlers_by_category.get(category)
        if handlers is None:
            # Raw broker messages go to their subscribers only and commands to their
            # command handler, never to `$all` handlers.
            broker = message.record.get("kind") in ("BROKER", "COMMAND")
            handlers = self._handlers_by_category[category] = [
                h
                for h in self.registry.consumers
                if category in h.meta_.stream_categories or (not broker and "$all" in h.meta_.stream_categories)
            ]
            self._filtered_categories[category] = any(h.meta_.subscription.origin_stream for h in handlers)
        if not handlers or not self._filtered_categories.get(category):
            return handlers
        return [h for h in handlers if self.origin_matches(h, message.record)]

    def origin_matches(self, handler: Any, record: dict[str, Any]) -> bool:
        """True unless the handler has a ``source_stream`` that the record's origin is not from."""
        source = handler.meta_.subscription.origin_stream
        if not source:
            return True
        origin = record["metadata"].get("origin_stream") or ""
        return stream_category(self.normalize_category(origin)) == source
