"""The decorators a ``Domain`` registers elements with (``@domain.aggregate``, ``@domain.entity``, ...).

Kept apart from :mod:`workbench.core.domain` (a mixin the ``Domain`` class inherits), so
that module stays about configuration, the store and dispatch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from workbench.core import _registry
from workbench.core.exceptions import IncorrectUsageError
from workbench.core.unsupported import DOMAIN_DECORATORS, Unsupported

if TYPE_CHECKING:
    from workbench.core.domain import Registry

T = TypeVar("T", bound=type)


class DomainRegistration:
    """Registration of every kind of element; each decorator works bare or with options."""

    if TYPE_CHECKING:
        registry: Registry
        initialized: bool

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

