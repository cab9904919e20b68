"""``workbench new``, ``call`` and ``show``: make aggregates do things the way the domain does."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from workbench.cli.command import Run, command
from workbench.cli.main import AggregateArg, AggregateIdArg, ValuesArg, app


def save_and_report(domain: Any, aggregate: Any, out: Any, command: str) -> int:
    """Save ``aggregate`` (processing its events) and print it with what the handlers did."""
    from workbench.cli.commands.raising import report_messages
    from workbench.core.exceptions import HandlerError

    before = domain.store.event_count()
    failures: list[Any] = []
    with domain.domain_context():
        try:
            domain.repository_for(type(aggregate)).add(aggregate)
        except HandlerError as exc:
            failures = exc.failures
    messages = list(domain.event_store.read_all("$all", position=before + 1))
    return report_messages(domain, out, command, messages, failures, aggregate=aggregate)


@command(app, "new", write=True)
def new(
    run: Run,
    aggregate: Annotated[str, typer.Argument(metavar="AGGREGATE", help="Aggregate name, e.g. Order.")],
    values: ValuesArg = None,
) -> int:
    """Create an aggregate from field=value pairs and save it."""
    from workbench.cli._lookup import aggregate_class, assignments

    cls = aggregate_class(run.domain, aggregate)
    if getattr(cls, "_event_sourced", False):
        from workbench.core.exceptions import IncorrectUsageError

        raise IncorrectUsageError(
            f"`{cls.__name__}` is event-sourced: it exists once it has events; `send` a command that creates it"
        )
    with run.domain.domain_context():
        instance = cls(**assignments(cls, values or []))
    return save_and_report(run.domain, instance, run, "new")


@command(app, "call", write=True)
def call(
    run: Run,
    aggregate: AggregateArg,
    identifier: AggregateIdArg,
    method: Annotated[str, typer.Argument(metavar="METHOD", help="Method to call, e.g. ship_order.")],
    args: Annotated[
        list[str] | None,
        typer.Argument(metavar="ARG", help="Arguments (JSON when they parse; name=value for keywords)."),
    ] = None,
) -> int:
    """Load an aggregate, call one of its methods, and save it (raising its events)."""
    import inspect

    from workbench.cli._lookup import aggregate_class, aggregate_methods, call_arguments, pick
    from workbench.core.exceptions import IncorrectUsageError

    cls = aggregate_class(run.domain, aggregate)
    instance = find_aggregate(run.domain, cls, identifier)
    methods = aggregate_methods(cls)
    bound = getattr(instance, pick(f"method of {cls.__name__}", method, methods).__name__)
    positional, keywords = call_arguments(args or [])
    signature = inspect.signature(bound)  # of the bound method: `self` is not counted
    try:
        signature.bind(*positional, **keywords)
    except TypeError as exc:
        raise IncorrectUsageError(f"{cls.__name__}.{bound.__name__}{signature}: {exc}") from None
    with run.domain.domain_context():
        bound(*positional, **keywords)  # what it raises is the domain's own error (exit 1)
    return save_and_report(run.domain, instance, run, "call")


def find_aggregate(domain: Any, cls: Any, identifier: str) -> Any:
    """The aggregate with this id or unique id prefix."""
    from workbench.core.exceptions import IncorrectUsageError, ObjectNotFoundError

    if getattr(cls, "_event_sourced", False):
        from workbench.cli.commands._event_sourced import find_event_sourced

        return find_event_sourced(domain, cls, identifier)
    repo = domain.repository_for(cls)
    if domain.store.get(repo.table, identifier) is not None:
        return repo.get(identifier)
    matches = [k for k in domain.store.rows(repo.table) if str(k).startswith(identifier)]
    if len(matches) > 1:
        raise IncorrectUsageError(f"`{identifier}` matches {len(matches)} {cls.__name__} ids; give more of it")
    if not matches:
        raise ObjectNotFoundError(f"`{cls.__name__}` object with identifier {identifier} does not exist.")
    return repo.get(matches[0])


@command(app, "show", write=False)
def show(
    run: Run,
    aggregate: AggregateArg,
    identifier: Annotated[str | None, typer.Argument(metavar="[ID]", help="One aggregate's id.")] = None,
    limit: Annotated[int, typer.Option("--limit", metavar="N", help="At most this many rows.")] = 50,
    version: Annotated[
        int | None,
        typer.Option(
            "--version", metavar="N", help="An event-sourced aggregate as it was after version N (0: first event)."
        ),
    ] = None,
) -> int:
    """List the aggregates (or projection rows) of a kind, or show one."""
    from workbench.cli._lookup import stored_class as aggregate_class
    from workbench.cli.nested_rows import field_rows, nested_fields
    from workbench.cli.render import short_json, table

    cls = aggregate_class(run.domain, aggregate)
    if getattr(cls, "_event_sourced", False):
        from workbench.cli.commands._event_sourced import show_event_sourced

        return show_event_sourced(run, cls, identifier, version, limit)
    if version is not None:
        from workbench.core.exceptions import IncorrectUsageError

        raise IncorrectUsageError(
            f"--version goes back in an event-sourced aggregate's history; `{cls.__name__}` is state-based"
        )
    if identifier is not None:
        docs = [find_aggregate(run.domain, cls, identifier).to_dict()]
    else:
        docs = list(run.domain.store.rows(run.domain.repository_for(cls).table).values())
    total = len(docs)
    docs = docs[:limit]
    if run.json_mode:
        run.envelope("show", {"aggregate": cls.__name__, "total": total, "items": docs})
        return 0
    if identifier is not None:
        run.out.print(
            table(
                f"{cls.__name__} {docs[0][cls.meta_.id_field]}",
                ["field", "value"],
                field_rows(cls, docs[0]),
            )
        )
        return 0
    columns = [*cls.meta_.fields, "_version"]
    nested = nested_fields(cls)  # entities and value objects as compact JSON, not Python reprs
    rows = [[short_json(d.get(c)) if c in nested else d.get(c) for c in columns] for d in docs]
    run.out.print(table(f"{cls.__name__} ({total})", columns, rows))
    if total > limit:
        run.say(f"{total - limit} more; use --limit")
    return 0
