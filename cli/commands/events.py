"""``workbench streams`` and ``workbench events read|search|history|trace|stats``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from workbench.cli.command import Run, command
from workbench.cli.main import AggregateArg, AggregateIdArg, app, events_app

DataOpt = Annotated[bool, typer.Option("--data", help="Show each event's data, in full.")]
IdsOpt = Annotated[bool, typer.Option("--ids", help="Show each event's id (events trace takes it, or #N).")]
LimitOpt = Annotated[int, typer.Option("--limit", metavar="N", help="At most this many events.")]


def _message_rows(messages: list[Any], data: bool, ids: bool) -> tuple[list[str], list[list[Any]]]:
    import json

    columns = ["#", *(["id"] if ids else []), "pos", "type", "stream", "time"] + (["data"] if data else ["fields"])
    rows = [
        [
            m.global_position,
            *([m.id] if ids else []),
            m.position,
            m.type,
            m.stream_name,
            m.time,
            json.dumps(m.data, default=str, separators=(",", ":")) if data else ", ".join(m.data),
        ]
        for m in messages
    ]
    return columns, rows


def _print_messages(
    out: Run,
    command: str,
    title: str,
    messages: list[Any],
    data: bool,
    extra: dict | None = None,
    *,
    ids: bool = False,
    more: int = 0,
) -> int:
    from workbench.cli.render import table

    if out.json_mode:
        out.envelope(command, {**(extra or {}), "messages": [m.to_dict() for m in messages], "more": more})
        return 0
    if not messages:
        out.say(f"{title}: no events")
        if not out.domain.store.event_count():
            out.say(EMPTY_STORE_HINT.format(store=out.domain.store.location))
        return 0
    columns, rows = _message_rows(messages, data, ids)
    out.out.print(table(title, columns, rows))
    if more:
        out.say(f"… {more} more; use --limit N or --from N")
    return 0


EMPTY_STORE_HINT = (
    "the store {store} holds no events yet; `workbench new AGGREGATE field=value` or "
    "`workbench raise EVENT field=value` adds some (`workbench info` lists the names)"
)


@command(app, "streams", write=False)
def streams(
    run: Run,
    category: Annotated[
        str | None, typer.Argument(metavar="[CATEGORY]", help="List the streams of this category.")
    ] = None,
    limit: LimitOpt = 50,
) -> int:
    """Categories with their stream and event counts and last event; or one category's streams."""
    if not run.domain.store.event_count() and not run.json_mode:
        run.say(EMPTY_STORE_HINT.format(store=run.domain.store.location))
    from workbench.cli.render import table

    store = run.domain.store
    if category is None:
        streams_per = run.domain.event_store.stream_counts()
        rows = []
        for cat, count in store.categories().items():
            last = store.last_in_category(cat)
            assert last is not None  # a listed category holds events
            rows.append(
                {
                    "category": cat,
                    "streams": streams_per.get(cat, 0),
                    "events": count,
                    "last_type": last.type,
                    "last_time": last.time,
                }
            )
        if run.json_mode:
            run.envelope("streams", {"categories": rows})
        else:
            run.out.print(
                table(
                    f"Categories ({store.last_position()} events)",
                    ["category", "streams", "events", "last event", "at"],
                    [list(r.values()) for r in rows],
                )
            )
        return 0
    from workbench.cli._lookup import category_name

    cat = category_name(run.domain, category, allow_all=False)
    rows = []
    for name, count in run.domain.event_store.streams(cat).items():
        (last,) = store.read_stream(name, position=count - 1, limit=1)
        rows.append({"stream": name, "events": count, "last_type": last.type, "last_time": last.time})
    total = len(rows)
    if run.json_mode:
        run.envelope("streams", {"category": cat, "total": total, "streams": rows[:limit]})
    else:
        run.out.print(
            table(
                f"Streams of {cat} ({total})",
                ["stream", "events", "last event", "at"],
                [list(r.values()) for r in rows[:limit]],
            )
        )
        if total > limit:
            run.say(f"{total - limit} more; use --limit")
    return 0


@command(events_app, "events read", write=False)
def read(
    run: Run,
    stream: Annotated[
        str, typer.Argument(metavar="STREAM", help="A stream (order-42), a category (order), or all ($all).")
    ],
    from_: Annotated[
        int, typer.Option("--from", metavar="N", help="First position: per stream, or global for categories.")
    ] = 0,
    limit: LimitOpt = 20,
    data: DataOpt = False,
    ids: IdsOpt = False,
) -> int:
    """Read events of a stream, a category, or all of them (`all` or `$all`)."""
    from workbench.cli.event_refs import stream_name

    name = stream_name(run.domain, stream)
    messages = run.domain.event_store.read(name, position=from_, no_of_messages=limit + 1)
    more = 0
    if len(messages) > limit:
        # Counting the rest is one index lookup for a stream; for a category it is cheap too.
        rest = sum(1 for _ in run.domain.event_store.read_all(name, position=from_)) if name != "$all" else None
        total = rest if rest is not None else run.domain.store.event_count() - max(from_ - 1, 0)
        messages, more = messages[:limit], total - limit
    title = f"{name} from {from_}"
    return _print_messages(run, "events read", title, messages, data, {"stream": name}, ids=ids, more=more)


@command(events_app, "events search", write=False)
def search(
    run: Run,
    event_type: Annotated[
        str, typer.Option("--type", metavar="TYPE", help="Exact type (Shop.OrderShipped.v1) or part of a name.")
    ],
    category: Annotated[str | None, typer.Option("--category", metavar="CATEGORY", help="Only this category.")] = None,
    limit: LimitOpt = 20,
    data: DataOpt = False,
    ids: IdsOpt = False,
) -> int:
    """Find events by type: exact when the text has a dot, else a case-insensitive name match."""
    from workbench.cli._lookup import category_name
    from workbench.core._naming import suggestion
    from workbench.core.exceptions import IncorrectUsageError

    exact = "." in event_type
    wanted = event_type.lower()
    known = [cls.__name__ for cls in run.domain.registry.events.values()]
    known_types = {*known, *(getattr(cls, "__type__", "") for cls in run.domain.registry.events.values())}

    def matches(type_string: str) -> bool:
        return (type_string == event_type) if exact else (wanted in type_string.lower())

    stored = run.domain.store.event_types()  # types no longer in the domain too
    if not any(matches(t) for t in known_types if t) and not any(matches(t) for t in stored):
        hint = suggestion(event_type, known, known=f" (known: {', '.join(known) or 'none'})", most=3, cutoff=0.5)
        raise IncorrectUsageError(f"no event type matches `{event_type}`{hint}")
    scope = category_name(run.domain, category) if category else "$all"
    found = []
    for message in run.domain.event_store.read_all(scope):
        if matches(message.type):
            found.append(message)
            if len(found) > limit:
                break
    more = len(found) - limit if len(found) > limit else 0
    return _print_messages(
        run, "events search", f"events matching {event_type}", found[:limit], data, ids=ids, more=more
    )


@command(events_app, "events history", write=False)
def history(
    run: Run,
    aggregate: AggregateArg,
    identifier: AggregateIdArg,
    data: DataOpt = False,
    ids: IdsOpt = False,
    states: Annotated[
        bool, typer.Option("--states", help="Also the state after each event (event-sourced aggregates).")
    ] = False,
) -> int:
    """Every event of one aggregate instance, oldest first (never truncated)."""
    from workbench.cli._lookup import aggregate_class
    from workbench.cli.commands.aggregates import find_aggregate
    from workbench.cli.event_refs import stream_name
    from workbench.cli.render import plural
    from workbench.core.exceptions import ObjectNotFoundError

    cls = aggregate_class(run.domain, aggregate)
    if states:
        from workbench.cli.commands._event_sourced import history_states

        return history_states(run, cls, identifier, data)
    try:
        stream = f"{cls.meta_.stream_category}-{find_aggregate(run.domain, cls, identifier).id_value}"
    except ObjectNotFoundError:
        # An aggregate never saved can still have a stream (workbench raise --id); else say so.
        try:
            stream = stream_name(run.domain, f"{cls.meta_.stream_category}-{identifier}")
        except ObjectNotFoundError:
            raise ObjectNotFoundError(
                f"no {cls.__name__} with id `{identifier}` and no stream {cls.meta_.stream_category}-{identifier} "
                f"(`workbench show {cls.__name__}` lists them)"
            ) from None
    messages = list(run.domain.event_store.read_all(stream))
    title = f"{stream} ({len(messages)} {plural(len(messages), 'event')})"
    extra: dict[str, Any] = {"stream": stream}
    if getattr(cls, "_event_sourced", False):
        from workbench.cli.commands._event_sourced import snapshot_note

        extra["snapshot_version"] = snapshot_note(run, cls, stream)
    return _print_messages(run, "events history", title, messages, data, extra, ids=ids)


@command(events_app, "events trace", write=False)
def trace(
    run: Run,
    identifier: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="A message's global position (#6), id or unique id prefix, a command's stream, or a correlation id.",
        ),
    ],
) -> int:
    """The causation tree: each event, the handlers that processed it, and their outcome."""
    from rich.tree import Tree
    from workbench.cli.event_refs import command_id, event_id
    from workbench.core.trace import causation_tree

    found = event_id(run.domain, identifier) or command_id(run.domain, identifier)
    roots = causation_tree(run.domain, found or identifier)
    if run.json_mode:
        run.envelope("events trace", {"roots": [r.to_dict() for r in roots]})
        return 0
    style = {
        "ok": "green",
        "failed": "red",
        "dead-lettered": "red",
        "retrying": "yellow",
        "waiting": "yellow",
        "queued": "yellow",
    }

    def add(tree: Any, node: Any) -> None:
        m = node.message
        branch = tree.add(f"[bold]{m.type}[/] {m.stream_name} #{m.global_position} [dim]{m.id}[/]")
        for o in node.outcomes:
            colour = style.get(o.status, "white")
            branch.add(f"{o.handler}: [{colour}]{o.status}[/]" + (f" {o.detail}" if o.detail else ""))
        for child in node.children:
            add(branch, child)

    tree = Tree(f"correlation {roots[0].message.correlation_id}")
    for root in roots:
        add(tree, root)
    run.out.print(tree)
    return 0


@command(events_app, "events stats", write=False)
def stats(run: Run) -> int:
    """Per aggregate: category, instances, streams, events, latest event."""
    from workbench.cli.render import table

    store = run.domain.store
    rows = []
    streams_per = run.domain.event_store.stream_counts()
    counts = store.categories()
    for name, cls in run.domain.registry.aggregates.items():
        cat = cls.meta_.stream_category or ""
        last = store.last_in_category(cat)
        streams_count = streams_per.get(cat, 0)
        rows.append(
            {
                "aggregate": name,
                "category": cat,
                # An event-sourced aggregate has no document: each of its streams is one.
                "instances": streams_count
                if getattr(cls, "_event_sourced", False)
                else run.domain.store.count(run.domain.repository_for(cls).table),
                "streams": streams_count,
                "events": counts.get(cat, 0),
                "latest_type": last.type if last else None,
                "latest_time": last.time if last else None,
            }
        )
    if run.json_mode:
        run.envelope("events stats", {"aggregates": rows, "events": store.last_position()})
    else:
        run.out.print(
            table(
                f"Event store: {store.last_position()} events",
                ["aggregate", "category", "instances", "streams", "events", "latest", "at"],
                [list(r.values()) for r in rows],
            )
        )
    return 0
