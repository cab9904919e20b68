"""Event handlers: ``@domain.event_handler`` classes and their ``@handle`` methods."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from workbench.core import unit_of_work
from workbench.core._model import ElementMeta
from workbench.core.exceptions import IncorrectUsageError

if TYPE_CHECKING:
    from workbench.core.message import Message

ANY = "$any"
log = logging.getLogger("workbench.handlers")


def handle(target_cls: Any, start: bool = False, correlate: Any = None, end: bool = False) -> Callable[[Any], Any]:
    """Bind a handler method to one event class (or ``"$any"`` as a fallback).

    The method runs in its own unit of work: what it saves commits when it returns and
    rolls back if it raises. One event class per method: stacking two ``@handle``
    decorators is an error (Protean silently drops the inner one).
    """

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(fn):
            raise IncorrectUsageError(f"@handle({_name(target_cls)}) must decorate a method")
        inner = getattr(fn, "_target_cls", None)
        if inner is not None:
            raise IncorrectUsageError(
                f"`{fn.__qualname__}` is decorated with @handle twice "
                f"({_name(inner)} and {_name(target_cls)}); "
                "each method handles exactly one event class, so define a second method"
            )
        if isinstance(target_cls, str) and target_cls != ANY:
            raise IncorrectUsageError(
                f'`{fn.__qualname__}`: @handle takes an event class or "$any", not {target_cls!r}'
            )

        @functools.wraps(fn)
        def wrapper(self: Any, event: Any) -> Any:
            meta = type(self).meta_
            uow = unit_of_work.delivery_unit(meta.domain)
            if uow is not None:
                # The engine's unit for this one delivery: joining it would change nothing
                # (a failure rolls it all back), so skip the nested unit's cost. Cleared
                # while the method runs, so a handler method it calls still gets its own
                # nested unit (a failure caught there still rolls the delivery back).
                uow.delivery = False
                try:
                    result = fn(self, event)
                finally:
                    uow.delivery = True
            else:
                with unit_of_work.UnitOfWork(meta.domain):
                    result = fn(self, event)
            # Event handlers return nothing to the caller (CQRS); a command handler's
            # value is what a sync `domain.process` returns.
            return result if meta.kind == "COMMAND_HANDLER" else None

        wrapper._target_cls = target_cls  # type: ignore[attr-defined]
        wrapper._start = start  # type: ignore[attr-defined]
        wrapper._correlate = correlate  # type: ignore[attr-defined]
        wrapper._end = end  # type: ignore[attr-defined]
        return wrapper

    return decorator


def _name(target: Any) -> str:
    return target if isinstance(target, str) else getattr(target, "__name__", repr(target))


class BaseEventHandler:
    """Base of every event handler class (``@domain.event_handler`` derives plain classes)."""

    meta_: ClassVar[ElementMeta]
    # Event type string (or "$any") -> method names, in the order they are defined.
    _handlers: ClassVar[dict[str, list[str]]]

    @classmethod
    def handle_error(cls, exc: Exception, message: Message) -> None:
        """Called after a handler method failed on ``message``; override to recover.

        Exceptions raised here are logged and swallowed, so processing continues.
        """

    @classmethod
    def methods_for(cls, type_string: str) -> list[str]:
        """Names of the methods that run for an event type (``$any`` only as a fallback)."""
        handlers = cls._handlers
        return handlers.get(type_string) or handlers.get(ANY) or []


def handler_methods(cls: type) -> list[tuple[str, Any]]:
    """``(name, target)`` of every ``@handle`` method, in definition order (bases first)."""
    seen: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name, member in vars(klass).items():
            target = getattr(member, "_target_cls", None)
            if target is not None:
                seen[name] = target
            elif name in seen:
                del seen[name]  # overridden without @handle
    return list(seen.items())
