"""``workbench streams`` and ``workbench events read|search|history|trace|stats``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from workbench.cli.command import Run, command
from workbench.cli.main import AggregateArg, AggregateIdArg, app, events_app

DataOpt = Annotated[bool, typer.Option("--data", help="Show each event's data.")]
LimitOpt = Annotated[int, typer.Option("--limit", help="At most this many events.")]


def _message_rows(messages: list[Any], data: bool) -> tuple[list[str], list[list[Any]]]:
    from workbench.cli.render import short_json

    columns = ["#", "pos", "type", "stream", "time"] + (["data"] if data else ["fields"])
    rows = [
        [
            m.global_position,
            m.position,
            m.type,
            m.stream_name,
            m.time,
            short_json(m.data, 100) if data else ", ".join(m.data),
        ]
        for m in messages
    ]
    return columns, rows


def _print_messages(
    out: Any, command: str, title: str, messages: list[Any], data: bool, extra: dict | None = None
) -> int:
    from workbench.cli.render import table

    if out.json_mode:
        out.envelope(command, {**(extra or {}), "messages": [m.to_dict() for m in messages]})
        return 0
    columns, rows = _message_rows(messages, data)
    out.out.print(table(title, columns, rows))
    return 0


@command(app, "streams", write=False)
def streams(
    run: Run,
    category: Annotated[str | None, typer.Argument(help="List the streams of this category.")] = None,
    limit: LimitOpt = 50,
) -> int:
    """Categories with their stream and event counts and last event; or one category's streams."""
    from workbench.cli.render import table

    state = run.domain.store.state
    if category is None:
        streams_per = run.domain.event_store.stream_counts()
        rows = []
        for cat, indexes in state.categories.items():
            last = state.events[indexes[-1]]
            rows.append(
                {
                    "category": cat,
                    "streams": streams_per.get(cat, 0),
                    "events": len(indexes or ()),
                    "last_type": last["type"],
                    "last_time": last["time"],
                }
            )
        if run.json_mode:
            run.envelope("streams", {"categories": rows})
        else:
            run.out.print(
                table(
                    f"Categories ({len(state.events)} events)",
                    ["category", "streams", "events", "last event", "at"],
                    [list(r.values()) for r in rows],
                )
            )
        return 0
    cat = run.domain.normalize_category(category)
    rows = []
    for name, count in run.domain.event_store.streams(cat).items():
        last = state.events[state.streams[name][-1]]
        rows.append({"stream": name, "events": count, "last_type": last["type"], "last_time": last["time"]})
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
    stream: Annotated[str, typer.Argument(help="A stream (order-42), a category (order) or $all.")],
    from_: Annotated[int, typer.Option("--from", help="First position: per stream, or global for categories.")] = 0,
    limit: LimitOpt = 20,
    data: DataOpt = False,
) -> int:
    """Read events of a stream, a category or $all."""
    messages = run.domain.event_store.read(stream, position=from_, no_of_messages=limit)
    return _print_messages(run, "events read", f"{stream} from {from_}", messages, data, {"stream": stream})


@command(events_app, "events search", write=False)
def search(
    run: Run,
    event_type: Annotated[str, typer.Option("--type", help="Exact type (Shop.OrderShipped.v1) or part of a name.")],
    category: Annotated[str | None, typer.Option("--category", help="Only this category.")] = None,
    limit: LimitOpt = 20,
    data: DataOpt = False,
) -> int:
    """Find events by type: exact when the text has a dot, else a case-insensitive name match."""
    exact = "." in event_type
    wanted = event_type.lower()
    found = []
    for message in run.domain.event_store.read_all(category or "$all"):
        if (message.type == event_type) if exact else (wanted in message.type.lower()):
            found.append(message)
            if len(found) >= limit:
                break
    return _print_messages(run, "events search", f"events matching {event_type}", found, data)


@command(events_app, "events history", write=False)
def history(
    run: Run,
    aggregate: AggregateArg,
    identifier: AggregateIdArg,
    data: DataOpt = False,
) -> int:
    """Every event of one aggregate instance, oldest first (never truncated)."""
    from workbench.cli._lookup import aggregate_class
    from workbench.cli.commands.aggregates import find_aggregate

    cls = aggregate_class(run.domain, aggregate)
    try:
        instance_id = find_aggregate(run.domain, cls, identifier).id_value
    except Exception:  # an aggregate never saved can still have a stream (workbench raise --id)
        instance_id = identifier
    stream = f"{cls.meta_.stream_category}-{instance_id}"
    messages = list(run.domain.event_store.read_all(stream))
    return _print_messages(
        run, "events history", f"{stream} ({len(messages)} events)", messages, data, {"stream": stream}
    )


@command(events_app, "events trace", write=False)
def trace(
    run: Run,
    identifier: Annotated[str, typer.Argument(metavar="ID", help="An event id or a correlation id.")],
) -> int:
    """The causation tree: each event, the handlers that processed it, and their outcome."""
    from rich.tree import Tree
    from workbench.core.trace import causation_tree

    roots = causation_tree(run.domain, identifier)
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

    state = run.domain.store.state
    rows = []
    streams_per = run.domain.event_store.stream_counts()
    for name, cls in run.domain.registry.aggregates.items():
        cat = cls.meta_.stream_category or ""
        indexes = state.categories.get(cat)
        last = state.events[indexes[-1]] if indexes else None
        streams_count = streams_per.get(cat, 0)
        rows.append(
            {
                "aggregate": name,
                "category": cat,
                "instances": len(run.domain.store.rows(run.domain.repository_for(cls).table)),
                "streams": streams_count,
                "events": len(indexes or ()),
                "latest_type": last["type"] if last else None,
                "latest_time": last["time"] if last else None,
            }
        )
    if run.json_mode:
        run.envelope("events stats", {"aggregates": rows, "events": len(state.events)})
    else:
        run.out.print(
            table(
                f"Event store: {len(state.events)} events",
                ["aggregate", "category", "instances", "streams", "events", "latest", "at"],
                [list(r.values()) for r in rows],
            )
        )
    return 0
