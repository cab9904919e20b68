"""Running handlers for committed events: sync dispatch and single deliveries.

Sync dispatch is breadth-first and FIFO: events committed by a handler queue behind
everything already queued, and handler classes run in registration order. Every
handler method runs in its own unit of work; a failure rolls back that method only,
calls ``handle_error``, is recorded in the store, and is reported to the original
caller once the queue is drained.

A handler is user code, so *anything* it raises is that handler's failure:
``SystemExit``, ``KeyboardInterrupt``, ``GeneratorExit`` and bare ``BaseException``
included. Only :class:`~workbench.core.exceptions.ImmediateStop` (the operator's second
Ctrl-C) passes through.

A runaway cascade (A raises B raises A ...) is stopped at ``config["max_cascade_depth"]``
levels: the handler that would commit one level deeper fails with
:class:`~workbench.core.exceptions.CascadeDepthError` before anything of it is written.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from workbench.core.context import handler_context
from workbench.core.exceptions import CascadeDepthError, HandlerError, ImmediateStop
from workbench.core.failures import HandlerFailure, record_failure

if TYPE_CHECKING:
    from workbench.core.domain import Domain
    from workbench.core.message import Message

log = logging.getLogger("workbench.dispatch")


def call_handle_error(handler_cls: type, exc: BaseException, message: Message) -> None:
    """Call ``handler_cls.handle_error``; log and swallow whatever it raises (``sys.exit`` too)."""
    # Subscribers consume raw dicts, so their handle_error gets the raw dict too (as in Protean).
    subject: Any = message.data if message.record.get("kind") == "BROKER" else message
    try:
        handler_cls.handle_error(exc, subject)  # type: ignore[attr-defined]
    except ImmediateStop:
        raise
    except BaseException:
        log.exception(
            "%s.handle_error raised while handling the failure of %s; ignored",
            handler_cls.__name__,
            message.id,
        )


def deliver(
    domain: Domain, handler_cls: type, message: Message, *, replaying: bool = False, mode: str = "sync"
) -> list[HandlerFailure]:
    """Run every method of ``handler_cls`` that handles ``message``; return the failures.

    Each method gets a fresh handler instance and its own unit of work.
    """
    methods = handler_cls.methods_for(message.type)  # type: ignore[attr-defined]
    if not methods:
        return []
    failures: list[HandlerFailure] = []
    with handler_context(domain, message, replaying=replaying):
        try:
            event = domain.event_from_message(message)
        except ImmediateStop:
            raise
        except BaseException as exc:
            call_handle_error(handler_cls, exc, message)
            return [record_failure(domain, handler_cls, methods[0], message, exc, mode=mode)]
        for name in methods:
            try:
                getattr(handler_cls(), name)(event)
            except ImmediateStop:
                raise
            except BaseException as exc:
                log.error(
                    "%s.%s failed on %s (%s): %s: %s",
                    handler_cls.__name__,
                    name,
                    message.type,
                    message.stream_name,
                    type(exc).__name__,
                    exc,
                    exc_info=exc,
                )
                call_handle_error(handler_cls, exc, message)
                failures.append(record_failure(domain, handler_cls, name, message, exc, mode=mode))
    return failures


class SyncDispatcher:
    """Delivers events to sync handlers right after the commit that stored them."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self._queue: deque[tuple[Message, type, int]] = deque()
        self._draining = False
        # Cascade level of the message being handled now (0: not inside sync dispatch).
        self._depth = 0

    def check_cascade_depth(self) -> None:
        """Refuse a commit of events that would go past ``config["max_cascade_depth"]``.

        Called by a unit of work before it writes events, so the runaway level is never
        stored.

        Raises:
            CascadeDepthError: the events would be one level too deep.
        """
        if not self._draining:
            return
        limit = int(self.domain.config.get("max_cascade_depth") or 100)
        if self._depth >= limit:
            raise CascadeDepthError(
                f"sync event cascade is {self._depth} levels deep, the limit "
                f'(domain.config["max_cascade_depth"] = {limit}); events raised by handlers '
                "keep raising events, so this level was not committed"
            )

    def dispatch(self, messages: list[Message]) -> None:
        """Queue the sync handlers of ``messages`` and, at the outermost call, run them.

        Raises:
            HandlerError: after every queued handler ran, if any of them failed.
        """
        handlers_for = self.domain.handlers_for
        depth = self._depth + 1
        for message in messages:
            # Commands are run by `domain.process` itself, never by sync dispatch.
            if message.record["metadata"].get("asynchronous") or message.record.get("kind") == "COMMAND":
                continue
            for handler_cls in handlers_for(message):
                self._queue.append((message, handler_cls, depth))
        if self._draining or not self._queue:
            return
        self._draining = True
        failures: list[HandlerFailure] = []
        try:
            while self._queue:
                message, handler_cls, self._depth = self._queue.popleft()
                failures.extend(deliver(self.domain, handler_cls, message))
        finally:
            self._draining = False
            self._depth = 0
            self._queue.clear()
        if failures:
            raise HandlerError(_summary(failures), failures) from _cause(failures)


def _cause(failures: list[HandlerFailure]) -> BaseException | None:
    """The original exception, or an ExceptionGroup of all of them when several methods failed."""
    errors = [f.exception for f in failures if f.exception is not None]
    if len(errors) <= 1:
        return errors[0] if errors else None
    return BaseExceptionGroup(f"{len(errors)} event handler methods failed", errors)


def _summary(failures: list[Any]) -> str:
    if len(failures) == 1:
        return f"event handler failed: {failures[0].describe()}"
    lines = "; ".join(f.describe() for f in failures)
    return f"{len(failures)} event handler methods failed: {lines}"
