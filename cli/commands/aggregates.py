"""``workbench new``, ``call`` and ``show``: make aggregates do things the way the domain does."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from workbench.cli.main import AggregateArg, AggregateIdArg, DomainOpt, JsonOpt, StoreOpt, ValuesArg, app, invoke


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


@app.command()
def new(
    aggregate: Annotated[str, typer.Argument(help="Aggregate name, e.g. Order.")],
    values: ValuesArg = None,
    domain: DomainOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an aggregate from field=value pairs and save it."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.cli._lookup import aggregate_class, assignments

        cls = aggregate_class(loaded, aggregate)
        with loaded.domain_context():
            instance = cls(**assignments(cls, values or []))
        return save_and_report(loaded, instance, out, "new")

    invoke("new", body, domain=domain, store=store, json_mode=as_json, write=True)


@app.command()
def call(
    aggregate: AggregateArg,
    identifier: AggregateIdArg,
    method: Annotated[str, typer.Argument(help="Method to call, e.g. ship_order.")],
    args: Annotated[
        list[str] | None, typer.Argument(help="Arguments (JSON when they parse; name=value for keywords).")
    ] = None,
    domain: DomainOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load an aggregate, call one of its methods, and save it (raising its events)."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.cli._lookup import aggregate_class, aggregate_methods, call_arguments, pick
        from workbench.core.exceptions import IncorrectUsageError

        cls = aggregate_class(loaded, aggregate)
        instance = find_aggregate(loaded, cls, identifier)
        methods = aggregate_methods(cls)
        bound = getattr(instance, pick(f"method of {cls.__name__}", method, methods).__name__)
        positional, keywords = call_arguments(args or [])
        with loaded.domain_context():
            try:
                bound(*positional, **keywords)
            except TypeError as exc:
                raise IncorrectUsageError(f"{cls.__name__}.{method}: {exc}") from None
        return save_and_report(loaded, instance, out, "call")

    invoke("call", body, domain=domain, store=store, json_mode=as_json, write=True)


def find_aggregate(domain: Any, cls: Any, identifier: str) -> Any:
    """The aggregate with this id or unique id prefix."""
    from workbench.core.exceptions import IncorrectUsageError, ObjectNotFoundError

    repo = domain.repository_for(cls)
    if domain.store.get(repo.table, identifier) is not None:
        return repo.get(identifier)
    matches = [k for k in domain.store.rows(repo.table) if str(k).startswith(identifier)]
    if len(matches) > 1:
        raise IncorrectUsageError(f"`{identifier}` matches {len(matches)} {cls.__name__} ids; give more of it")
    if not matches:
        raise ObjectNotFoundError(f"`{cls.__name__}` object with identifier {identifier} does not exist.")
    return repo.get(matches[0])


@app.command()
def show(
    aggregate: AggregateArg,
    identifier: Annotated[str | None, typer.Argument(metavar="[ID]", help="One aggregate's id.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many rows.")] = 50,
    domain: DomainOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the aggregates (or projection rows) of a kind, or show one."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.cli._lookup import stored_class as aggregate_class
        from workbench.cli.render import table

        cls = aggregate_class(loaded, aggregate)
        if identifier is not None:
            docs = [find_aggregate(loaded, cls, identifier).to_dict()]
        else:
            docs = list(loaded.store.rows(loaded.repository_for(cls).table).values())
        total = len(docs)
        docs = docs[:limit]
        if out.json_mode:
            out.envelope("show", {"aggregate": cls.__name__, "total": total, "items": docs})
            return 0
        if identifier is not None:
            out.out.print(
                table(
                    f"{cls.__name__} {docs[0][cls.meta_.id_field]}",
                    ["field", "value"],
                    [[k, v] for k, v in docs[0].items()],
                )
            )
            return 0
        columns = [*cls.meta_.fields, "_version"]
        out.out.print(table(f"{cls.__name__} ({total})", columns, [[d.get(c) for c in columns] for d in docs]))
        if total > limit:
            out.say(f"{total - limit} more; use --limit")
        return 0

    invoke("show", body, domain=domain, store=store, json_mode=as_json, write=False)
