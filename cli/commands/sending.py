"""``workbench send``: store a command and process it the way the domain is configured."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from workbench.cli.command import Run, command
from workbench.cli.main import ValuesArg, app


def command_class(domain: Any, name: str) -> Any:
    """A command class by class name or type string."""
    from workbench.cli._lookup import pick

    found = domain.event_class(name)
    if found is not None and found.meta_.kind == "COMMAND":
        return found
    if name in domain.registry.events:
        from workbench.core.exceptions import IncorrectUsageError

        known = ", ".join(domain.registry.commands) or "none"
        raise IncorrectUsageError(
            f"`{name}` is an event, not a command (`raise {name} ...` stores an event; commands: {known})"
        )
    return pick("command", name, domain.registry.commands)


def _shown(value: Any) -> Any:
    """A handler's return value as JSON can carry it."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(value, (list, tuple)):
        return [_shown(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _shown(v) for k, v in value.items()}
    return repr(value)


@command(app, "send", write=True)
def send(
    run: Run,
    name: Annotated[str, typer.Argument(metavar="COMMAND", help="Command name, e.g. PlaceOrder.")],
    values: ValuesArg = None,
    correlation_id: Annotated[
        str | None, typer.Option("--correlation-id", metavar="ID", help="Join this correlation.")
    ] = None,
    inline: Annotated[
        bool, typer.Option("--sync", help="Handle it now even in an async domain (asynchronous=False).")
    ] = False,
) -> int:
    """Build a command from field=value pairs, store it in its stream and process it.

    Sync processing runs its handler now and shows what it returned, the events it led
    to and what every handler did; async processing leaves it for `workbench process`.
    """
    from workbench.cli._lookup import assignments
    from workbench.cli.render import handlers_table, short_json, table
    from workbench.core.exceptions import HandlerError
    from workbench.core.trace import outcomes_for

    domain = run.domain
    cls = command_class(domain, name)
    before = domain.store.event_count()
    failures: list[Any] = []
    error: Exception | None = None
    result: Any = None
    with domain.domain_context():
        instance = cls(**assignments(cls, values or []))
        try:
            result = domain.process(instance, asynchronous=False if inline else None, correlation_id=correlation_id)
        except HandlerError as exc:
            failures = exc.failures
        except Exception as exc:  # the command handler's own error: shown below, then reported
            error = exc
    messages = list(domain.event_store.read_all("$all", position=before + 1))
    sent = next((m for m in messages if m.kind == "COMMAND" and m.type == cls.__type__), None)
    if sent is None:  # nothing was stored: the error came before the command was written
        assert error is not None
        raise error
    queued = bool(sent.record["metadata"].get("asynchronous"))
    rows = []
    for message in messages:
        for outcome in outcomes_for(domain, message):
            detail = outcome.detail
            if message is sent and not queued and error is None and result is not None:
                detail = f"returned {short_json(_shown(result), 60)}"
            rows.append({"message_id": message.id, "type": message.type, **outcome.__dict__, "detail": detail})
    problems = [f.describe() for f in failures]
    if error is not None:
        problems.insert(0, f"{cls.__name__} handler raised {type(error).__name__}: {error}")
    if run.json_mode:
        data = {
            "command": sent.to_dict(),
            "processing": "async" if queued else "sync",
            "result": sent.position if queued else _shown(result),
            "messages": [m.to_dict() for m in messages],
            "handlers": rows,
        }
        run.envelope("send", data, status="failure" if problems else "ok", errors=problems)
        return 1 if problems else 0
    run.out.print(
        table(
            "Stored messages",
            ["#", "kind", "type", "stream", "pos", "data"],
            [
                [m.global_position, m.kind.lower(), m.type, m.stream_name, m.position, short_json(m.data)]
                for m in messages
            ],
        )
    )
    if rows:
        run.out.print(handlers_table(rows, first="message"))
    if queued:
        run.say(f"queued at position {sent.position} of {sent.stream_name}: `workbench process` handles it")
    if error is not None:
        raise error
    return 1 if failures else 0
