"""Which domain, message and mode the current code runs under.

Context variables rather than globals so that nested handler runs, threads and the
REPL each see their own values.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from workbench.core.exceptions import IncorrectUsageError

if TYPE_CHECKING:
    from workbench.core.domain import Domain
    from workbench.core.message import Message

_domain_stack: ContextVar[tuple[Domain, ...]] = ContextVar("workbench_domains", default=())
_message: ContextVar[Message | None] = ContextVar("workbench_message", default=None)
_replaying: ContextVar[bool] = ContextVar("workbench_replaying", default=False)


@contextlib.contextmanager
def domain_context(domain: Domain) -> Iterator[Domain]:
    """Make ``domain`` the :data:`current_domain` inside the block."""
    token = _domain_stack.set((*_domain_stack.get(), domain))
    try:
        yield domain
    finally:
        _domain_stack.reset(token)


def active_domain() -> Domain | None:
    """The innermost domain in context, or None."""
    stack = _domain_stack.get()
    return stack[-1] if stack else None


@contextlib.contextmanager
def message_context(message: Message, *, replaying: bool = False) -> Iterator[None]:
    """Mark ``message`` as the one being handled (events raised now are caused by it)."""
    token = _message.set(message)
    replay_token = _replaying.set(replaying)
    try:
        yield
    finally:
        _replaying.reset(replay_token)
        _message.reset(token)


class handler_context:
    """Domain and message context for one delivery, without generator overhead (hot path)."""

    __slots__ = ("_domain", "_message", "_replaying", "_tokens")

    def __init__(self, domain: Domain, message: Message, *, replaying: bool = False) -> None:
        self._domain = domain
        self._message = message
        self._replaying = replaying

    def __enter__(self) -> None:
        self._tokens = (
            _domain_stack.set((*_domain_stack.get(), self._domain)),
            _message.set(self._message),
            _replaying.set(self._replaying),
        )

    def __exit__(self, *exc: object) -> None:
        domains, message, replaying = self._tokens
        _replaying.reset(replaying)
        _message.reset(message)
        _domain_stack.reset(domains)


def current_message() -> Message | None:
    """The message whose handler is running, or None outside a handler."""
    return _message.get()


def is_replaying() -> bool:
    """True while a handler runs as part of a replay rather than live delivery."""
    return _replaying.get()


class _CurrentDomain:
    """A proxy to the domain in context (Protean's ``current_domain``)."""

    __slots__ = ()

    def _get(self) -> Domain:
        domain = active_domain()
        if domain is None:
            raise IncorrectUsageError("Working outside of a domain context: use `with domain.domain_context():`")
        return domain

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    def __bool__(self) -> bool:
        return active_domain() is not None

    def __repr__(self) -> str:
        domain = active_domain()
        return f"<current_domain {domain!r}>" if domain else "<current_domain (unbound)>"


current_domain: Any = _CurrentDomain()
