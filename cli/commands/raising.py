"""``workbench raise``: append an event to its aggregate's stream and process it."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from workbench.cli.command import Run, command
from workbench.cli.main import ValuesArg, app


def report_messages(
    domain: Any, out: Any, command: str, messages: list[Any], failures: list[Any], *, aggregate: Any = None
) -> int:
    """Print the stored messages and each handler's outcome; exit 1 when a handler failed."""
    from workbench.cli.render import handlers_table, short_json, table
    from workbench.core.trace import outcomes_for

    rows = []
    for message in messages:
        for outcome in outcomes_for(domain, message):
            rows.append({"message_id": message.id, "type": message.type, **outcome.__dict__})
    status = "failure" if failures else "ok"
    if out.json_mode:
        data = {
            "aggregate": aggregate.to_dict() if aggregate is not None else None,
            "messages": [m.to_dict() for m in messages],
            "handlers": rows,
        }
        out.envelope(command, data, status=status, errors=[f.describe() for f in failures])
        return 1 if failures else 0
    if aggregate is not None:
        out.out.print(
            table(
                f"{type(aggregate).__name__} saved",
                ["field", "value"],
                [[k, v] for k, v in aggregate.to_dict().items()],
            )
        )
    if messages:
        out.out.print(
            table(
                "Stored events",
                ["#", "type", "stream", "pos", "data"],
                [[m.global_position, m.type, m.stream_name, m.position, short_json(m.data)] for m in messages],
            )
        )
    if rows:
        out.out.print(handlers_table(rows, first="event"))
    elif messages:
        out.say("no handler listens to these events")
    return 1 if failures else 0


@command(app, "raise", write=True)
def raise_event(
    run: Run,
    event: Annotated[str, typer.Argument(metavar="EVENT", help="Event name, e.g. OrderShipped.")],
    values: ValuesArg = None,
    aggregate_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            metavar="ID",
            help="Aggregate instance whose stream gets the event (a unique prefix works; default: the "
            "aggregate a field names, else a new stream).",
        ),
    ] = None,
    origin_stream: Annotated[
        str | None,
        typer.Option(
            "--origin-stream",
            metavar="STREAM",
            help="Record the event as caused from this stream (for source_stream filters).",
        ),
    ] = None,
    correlation_id: Annotated[
        str | None, typer.Option("--correlation-id", metavar="ID", help="Join this correlation.")
    ] = None,
) -> int:
    """Build an event from field=value pairs, store it and process it as the domain is configured."""
    from workbench.cli._lookup import assignments, event_class
    from workbench.core.exceptions import HandlerError

    cls = event_class(run.domain, event)
    before = run.domain.store.event_count()
    failures: list[Any] = []
    with run.domain.domain_context():
        fields = assignments(cls, values or [])
        instance = cls(**fields)
        aggregate_id = target_instance(run, cls, aggregate_id, fields)
        try:
            run.domain.event_store.append(
                instance, aggregate_id=aggregate_id, origin_stream=origin_stream, correlation_id=correlation_id
            )
        except HandlerError as exc:
            failures = exc.failures
    messages = list(run.domain.event_store.read_all("$all", position=before + 1))
    return report_messages(run.domain, run, "raise", messages, failures)


def target_instance(run: Run, event_cls: Any, given: str | None, fields: dict[str, Any]) -> str | None:
    """The aggregate id whose stream gets the event, saying on stderr how it was chosen.

    ``--id`` resolves a unique prefix of a saved aggregate's id or of a stream's id, as
    ``call`` does; without ``--id``, a field whose value is a saved aggregate's id picks it.
    """
    from workbench.core.exceptions import IncorrectUsageError

    category = event_cls.meta_.stream_category or ""
    owner = next((a for a in run.domain.registry.aggregates.values() if a.meta_.stream_category == category), None)
    store = run.domain.store
    saved = store.rows(run.domain.repository_for(owner).table) if owner is not None else {}
    label = owner.__name__ if owner is not None else category
    if given is not None:
        if given in saved or store.stream_version(f"{category}-{given}") >= 0:
            return given
        prefix = f"{category}-{given}"
        streams = {s[len(category) + 1 :] for s in store.streams(category) if s.startswith(prefix)}
        matches = sorted({str(k) for k in saved if str(k).startswith(given)} | streams)
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise IncorrectUsageError(f"`{given}` is the start of {len(matches)} {label} ids; give more of it")
        run.say(f"note: no {label} has id `{given}`; the event starts stream {category}-{given}")
        return given
    for name, value in fields.items():
        if isinstance(value, str) and value in saved:
            run.say(f"note: {name}={value} names a saved {label}; the event goes to its stream {category}-{value}")
            return value
    run.say(f"note: no --id given; the event starts a new {label} stream (--id ID adds to an existing one)")
    return None
