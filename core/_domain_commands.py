"""What a ``Domain`` offers for commands and event-sourced aggregates.

Kept apart from :mod:`workbench.core.domain` (a mixin the ``Domain`` class inherits), so
that module stays about registration, configuration and the store.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from workbench.core.domain import Domain, Registry

T = TypeVar("T", bound=type)


class DomainCommands:
    """``@domain.command``, ``@domain.command_handler``, ``domain.process`` and snapshots."""

    if TYPE_CHECKING:
        registry: Registry

        def _decorator(
            self, register: Callable[..., type], registered: dict[str, Any], target: Any, options: dict[str, Any]
        ) -> Any: ...

    def command(self, _cls: T | None = None, **options: Any) -> Any:
        """Register a command: ``@domain.command(part_of=Order)``."""
        from workbench.core.command import register_command

        return self._decorator(register_command, self.registry.commands, _cls, options)

    def command_handler(self, _cls: T | None = None, **options: Any) -> Any:
        """Register a command handler: ``@domain.command_handler(part_of=Order)`` with ``@handle(Command)``."""
        from workbench.core.command_handler import register_command_handler

        return self._decorator(register_command_handler, self.registry.command_handlers, _cls, options)

    def process(
        self,
        command: Any,
        asynchronous: bool | None = None,
        idempotency_key: str | None = None,
        raise_on_duplicate: bool = False,
        priority: int | None = None,
        correlation_id: str | None = None,
        deadline: _dt.datetime | None = None,
        timeout: _dt.timedelta | None = None,
    ) -> Any:
        """Store ``command`` and handle it.

        Sync (``asynchronous=False`` or ``config["command_processing"] == "sync"``): the
        handler runs now and its return value is returned; what it raises propagates.
        Async: the engine handles it later; returns the command's stream position.
        With ``idempotency_key``, a repeat returns the first result (a JSON copy) without
        storing or handling anything (``raise_on_duplicate``: DuplicateCommandError).
        A command past its ``deadline`` (or ``timeout`` from now) is refused in sync
        mode and skipped by the async engine.

        Raises:
            IncorrectUsageError: the command is not registered here, or nothing handles it.
            CommandExpiredError: sync processing after the deadline.
            DuplicateCommandError: a repeated idempotency key with ``raise_on_duplicate``.
        """
        from workbench.core.command_handler import process

        return process(
            cast("Domain", self),
            command,
            asynchronous=asynchronous,
            idempotency_key=idempotency_key,
            raise_on_duplicate=raise_on_duplicate,
            priority=priority,
            correlation_id=correlation_id,
            deadline=deadline,
            timeout=timeout,
        )

    def create_snapshot(self, aggregate_cls: type, identifier: Any) -> bool:
        """Snapshot one event-sourced aggregate now; True when a new snapshot was written."""
        from workbench.core.snapshot import create_snapshot

        return create_snapshot(cast("Domain", self), aggregate_cls, identifier)

    def create_snapshots(self, aggregate_cls: type) -> int:
        """Snapshot every instance of an event-sourced aggregate; returns how many were written."""
        from workbench.core.snapshot import create_snapshots

        return create_snapshots(cast("Domain", self), aggregate_cls)

