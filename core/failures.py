"""Handler failures: the record kept in the store for every failed handler method."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from workbench.core.store import Change

if TYPE_CHECKING:
    from workbench.core.domain import Domain
    from workbench.core.message import Message

FAILURES_TABLE = "failures"


@dataclass
class HandlerFailure:
    """One handler method that raised while processing one message."""

    id: str
    handler: str
    method: str
    message_id: str
    message_type: str
    stream_name: str
    global_position: int
    error_type: str
    error: str
    traceback: str
    time: str
    mode: str = "sync"
    # The exception object itself, for chaining (`raise HandlerError(...) from it`); never stored.
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    def describe(self) -> str:
        """``Handler.method on Type (stream@position): Error: text``."""
        return (
            f"{self.handler}.{self.method} on {self.message_type} "
            f"({self.stream_name} #{self.global_position}): {self.error_type}: {self.error}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The record as stored (without the live exception object)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "exception"}


def record_failure(
    domain: Domain, handler: type, method: str, message: Message, exc: BaseException, *, mode: str
) -> HandlerFailure:
    """Store a failure record in its own commit and return it."""
    failure = make_failure(domain, handler, method, message, exc, mode=mode)
    domain.store.commit([failure_change(failure)])
    return failure


def failure_change(failure: HandlerFailure) -> Change:
    """The store write that records ``failure``."""
    return Change(FAILURES_TABLE, "id", failure.id, failure.to_dict())


def make_failure(
    domain: Domain, handler: type, method: str, message: Message, exc: BaseException, *, mode: str
) -> HandlerFailure:
    """A failure record for ``exc`` raised by ``handler.method`` on ``message`` (not stored)."""
    return HandlerFailure(
        id=domain.new_id(),
        handler=handler.__name__,
        method=method,
        message_id=message.id,
        message_type=message.type,
        stream_name=message.stream_name,
        global_position=message.global_position,
        error_type=type(exc).__name__,
        error=str(exc),
        traceback="".join(traceback.format_exception(exc)),
        time=domain.now_iso(),
        mode=mode,
        exception=exc,
    )


def list_failures(domain: Domain) -> list[HandlerFailure]:
    """Every recorded failure, oldest first."""
    return [HandlerFailure(**doc) for doc in domain.store.rows(FAILURES_TABLE).values()]
