"""Command handlers (``@domain.command_handler`` with ``@handle(Command)``) and ``domain.process``.

A command handler listens to the streams of the commands it handles. ``domain.process``
always stores the command first (in its own commit, or in the caller's unit of work),
then either runs the handler method at once and returns what it returned (sync) or
leaves it to the async engine, which delivers it through the same subscription, retry
and dead-letter machinery as events, and returns the command's stream position (async).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import orjson
from workbench.core._model import ElementMeta, derive_class
from workbench.core.command import BaseCommand, command_record, expired, resolve_deadline
from workbench.core.context import handler_context
from workbench.core.exceptions import (
    CommandExpiredError,
    DuplicateCommandError,
    HandlerError,
    ImmediateStop,
    IncorrectUsageError,
    NotSupportedError,
)
from workbench.core.handler import ANY, BaseEventHandler, handler_methods
from workbench.core.message import Message
from workbench.core.store import Change

if TYPE_CHECKING:
    from workbench.core.domain import Domain

COMMAND_HANDLER = "COMMAND_HANDLER"


class BaseCommandHandler(BaseEventHandler):
    """Base of every command handler class (``@domain.command_handler`` derives plain classes).

    Exactly one method handles each command; its return value is what a sync
    ``domain.process`` returns.
    """

    meta_: ClassVar[ElementMeta]


def register_command_handler(domain: Domain, cls: type, given: dict[str, Any]) -> type[BaseCommandHandler]:
    """Derive and describe a command handler class (methods are checked at ``init``)."""
    from workbench.core._registry import HANDLER_OPTIONS, _options

    allowed = HANDLER_OPTIONS - {"source_stream", "stream_category", "replayable"}
    opts = _options(cls, given, allowed, "command handler")
    if not opts.get("part_of"):
        raise IncorrectUsageError(
            f"Command Handler `{cls.__name__}` needs to be associated with an Aggregate (part_of=...)"
        )
    new_cls = derive_class(cls, BaseCommandHandler)
    # Commands are requests, not facts: delivering them again would repeat their effects.
    opts["replayable"] = False
    new_cls.meta_ = ElementMeta(kind=COMMAND_HANDLER, domain=domain, part_of=opts["part_of"], options=opts)  # type: ignore[attr-defined]
    new_cls._handlers = {}  # type: ignore[attr-defined]
    return new_cls  # type: ignore[return-value]


def wire_command_handlers(domain: Domain) -> None:
    """Resolve every command handler's aggregate, method map and categories, checking each target."""
    from workbench.core._registry import resolve_part_of
    from workbench.core.subscription_config import resolve as resolve_subscription

    commands = set(domain.registry.commands.values())
    owners: dict[str, str] = {}
    for handler in domain.registry.command_handlers.values():
        meta = handler.meta_
        meta.part_of = resolve_part_of(domain, handler, meta.part_of)
        methods: dict[str, list[str]] = {}
        categories: list[str] = []
        for name, target in handler_methods(handler):
            if target == ANY or target not in commands:
                raise IncorrectUsageError(
                    f"Method `{name}` in Command Handler `{handler.__name__}` is not associated with a command"
                )
            if target.meta_.part_of is not meta.part_of:
                raise IncorrectUsageError(
                    f"Command `{target.__name__}` in Command Handler `{handler.__name__}` is not associated "
                    "with the same aggregate as the Command Handler"
                )
            if target.__type__ in methods:
                raise NotSupportedError(f"Command {target.__name__} cannot be handled by multiple handlers")
            if target.__type__ in owners:
                raise IncorrectUsageError(f"Commands cannot be handled by multiple handlers: {target.__type__}")
            owners[target.__type__] = handler.__name__
            methods[target.__type__] = [name]
            if target.meta_.stream_category not in categories:
                categories.append(target.meta_.stream_category)
        if not categories:
            categories = [f"{meta.part_of.meta_.stream_category}:command"]
        meta.stream_category = categories[0]
        meta.stream_categories = categories
        handler._handlers = methods
        meta.subscription = resolve_subscription(domain, handler)


def handler_for(domain: Domain, command_type: str) -> tuple[type[BaseCommandHandler], str] | None:
    """The command handler class and method for a command type string, or None."""
    for handler in domain.registry.command_handlers.values():
        methods = handler._handlers.get(command_type)
        if methods:
            return handler, methods[0]
    return None


def process(
    domain: Domain,
    command: BaseCommand,
    *,
    asynchronous: bool | None = None,
    idempotency_key: str | None = None,
    raise_on_duplicate: bool = False,
    priority: int | None = None,
    correlation_id: str | None = None,
    deadline: datetime | None = None,
    timeout: timedelta | None = None,
) -> Any:
    """Store ``command`` and handle it (see :meth:`workbench.core.domain.Domain.process`)."""
    from workbench.core.failures import record_failure
    from workbench.core.unit_of_work import UnitOfWork, current_uow

    if not domain.initialized:
        domain.init()
    cls = type(command)
    if not isinstance(command, BaseCommand) or domain.registry.commands.get(cls.__name__) is not cls:
        raise IncorrectUsageError(f"Element {cls.__name__} is not registered in domain {domain.name}")
    found = handler_for(domain, cls.__type__)
    if found is None:
        raise IncorrectUsageError(f"no command handler handles `{cls.__name__}` in domain {domain.name}")
    handler_cls, method = found
    if idempotency_key is not None:
        done = domain.store.get(IDEMPOTENCY_TABLE, idempotency_key)
        if done is not None:
            if raise_on_duplicate:
                raise DuplicateCommandError(
                    f"Command with idempotency key '{idempotency_key}' has already been processed",
                    original_result=done["result"],
                )
            return done["result"]
    # As in Protean: inline when the call or the domain says sync.
    sync = asynchronous is False or domain.config.get("command_processing") == "sync"
    record = command_record(domain, command, asynchronous=not sync, correlation_id=correlation_id)
    metadata = record["metadata"]
    metadata["priority"] = int(priority or 0)
    metadata["deadline"] = resolve_deadline(domain, deadline, timeout)
    if idempotency_key is not None:
        metadata["idempotency_key"] = idempotency_key
    if sync and expired(domain, record):
        raise CommandExpiredError(f"Command `{cls.__type__}` expired at deadline {metadata['deadline']}")
    uow = current_uow(domain)
    if not sync:
        # A submission is done once the command is stored: a repeat with its key stores nothing.
        position = domain.store.stream_last_position(record["stream_name"]) + 1
        _store(domain, uow, record, _outcome(idempotency_key, record, position))
        return position
    if uow is not None:
        # Issued inside a handler: the command, its effects and its outcome commit (or roll
        # back) with the caller's unit of work.
        uow.record_event(record)
        result = _handle(domain, handler_cls, method, cls, record)
        _store(domain, uow, None, _outcome(idempotency_key, record, result))
        return result
    try:
        # The command and everything its handler saved form one commit: a process killed
        # half-way leaves neither.
        with UnitOfWork(domain) as own:
            own.record_event(record)
            result = _handle(domain, handler_cls, method, cls, record)
            _store(domain, own, None, _outcome(idempotency_key, record, result))
    except (ImmediateStop, HandlerError):
        raise  # a HandlerError comes from event handlers, after the command's own commit
    except Exception as exc:
        if record["global_position"] is None:
            # Rolled back: the command is still kept, as Protean keeps it, with its failure.
            domain.store.commit([], [record])
            record_failure(domain, handler_cls, method, Message(record), exc, mode="sync")
        raise
    return result


def _handle(
    domain: Domain, handler_cls: type[BaseCommandHandler], method: str, command_cls: Any, record: dict[str, Any]
) -> Any:
    """Run the handler method on the command ``record`` stores; ``handle_error`` hears of a failure."""
    from workbench.core.dispatch import call_handle_error

    message = Message(record)
    with handler_context(domain, message):
        received = command_cls._from_message(message)
        try:
            return getattr(handler_cls(), method)(received)
        except (ImmediateStop, HandlerError):
            raise
        except Exception as exc:
            call_handle_error(handler_cls, exc, message)
            raise


IDEMPOTENCY_TABLE = "command_results"


def _outcome(key: str | None, record: dict[str, Any], result: Any) -> Change | None:
    """The write remembering a command's result under its idempotency key (None without a key)."""
    if key is None:
        return None
    try:
        kept = orjson.loads(orjson.dumps(result))
    except TypeError:
        kept = None  # not JSON: a repeat returns None instead of a stale copy of a live object
    doc = {"id": key, "command_id": record["id"], "type": record["type"], "result": kept}
    return Change(IDEMPOTENCY_TABLE, "id", key, doc)


def _store(domain: Domain, uow: Any, record: dict[str, Any] | None, change: Change | None) -> None:
    """Write the command and/or its outcome: with a unit of work, else at once."""
    if uow is not None:
        if record is not None:
            uow.record_event(record)
        if change is not None:
            uow.stage(change)
        return
    domain.store.commit([change] if change is not None else [], [record] if record is not None else [])
