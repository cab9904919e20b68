"""Rich renderings of engine data for people (JSON goes through the envelope instead)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from rich.table import Table
from rich.tree import Tree


def domain_tree(data: dict[str, Any]) -> Tree:
    """Aggregates with fields, events with category, handlers with methods and settings."""
    tree = Tree(f"[bold]{data['name']}[/] ({data['event_processing']} processing)")
    aggregates = tree.add("Aggregates")
    for agg in data["aggregates"]:
        sourced = ", event-sourced" if agg.get("event_sourced") else ""
        node = aggregates.add(f"[bold cyan]{agg['name']}[/] (category [green]{agg['category']}[/]{sourced})")
        for name, desc in agg["fields"].items():
            node.add(f"{name}: {desc}")
        for stage, methods in data.get("invariants", {}).get(agg["name"], {}).items():
            node.add(f"[dim]invariant.{stage}: {', '.join(methods)}[/]")
    _add_model(tree, data)
    events = tree.add("Events")
    for event in data["events"]:
        node = events.add(f"[bold magenta]{event['name']}[/] {event['type']} (part of {event['part_of']})")
        for name, desc in event["fields"].items():
            node.add(f"{name}: {desc}")
    _add_commands(tree, data)
    handlers = tree.add("Event handlers")
    for handler in data["event_handlers"]:
        sub = handler["subscription"]
        node = handlers.add(
            f"[bold yellow]{handler['name']}[/] (part of {handler['part_of']}, listens to "
            f"[green]{handler['listens_to']}[/])"
        )
        for method, target in handler["methods"].items():
            node.add(f"{method} <- {target}")
        settings = (
            f"{sub['subscription_type']}: {sub['messages_per_tick']}/tick, max_retries {sub['max_retries']}, "
            f"retry delay {sub['retry_delay_seconds']}s, dlq {'on' if sub['enable_dlq'] else 'off'} "
            f"({sub['dlq_ordering']}), position every {sub['position_update_interval']}"
        )
        if sub.get("origin_stream"):
            settings += f", source_stream {sub['origin_stream']}"
        if not handler["replayable"]:
            settings += ", not replayable"
        node.add(f"[dim]{settings}[/]")
    if data["projections"]:
        node = tree.add("Projections")
        for projection in data["projections"]:
            child = node.add(f"[bold cyan]{projection['name']}[/] ({projection['rows']} rows)")
            for name, desc in projection["fields"].items():
                child.add(f"{name}: {desc}")
    if data["projectors"]:
        node = tree.add("Projectors")
        for projector in data["projectors"]:
            child = node.add(
                f"[bold yellow]{projector['name']}[/] (for {projector['projection']}, listens to "
                f"[green]{', '.join(projector['listens_to'])}[/])"
            )
            for method, target in projector["methods"].items():
                child.add(f"{method} <- {target}")
    if data["subscribers"]:
        node = tree.add("Subscribers")
        for subscriber in data["subscribers"]:
            sub = subscriber["subscription"]
            node.add(
                f"[bold yellow]{subscriber['name']}[/] (broker stream [green]{subscriber['stream']}[/]; "
                f"{sub['subscription_type']}, max_retries {sub['max_retries']}, "
                f"dlq {'on' if sub['enable_dlq'] else 'off'})"
            )
    if data["queries"]:
        node = tree.add("Queries")
        for query in data["queries"]:
            fields = ", ".join(query["fields"])
            node.add(
                f"[bold magenta]{query['name']}[/]({fields}) on {query['projection']} -> "
                f"{query['handled_by'] or '[red]no handler[/]'}"
            )
    tree.add(f"Store: {data['store']['events']} events")
    return tree


def _add_fields(node: Tree, element: dict[str, Any]) -> None:
    """An element's fields, then its invariants by stage."""
    for name, desc in element["fields"].items():
        node.add(f"{name}: {desc}")
    for stage, methods in element["invariants"].items():
        node.add(f"[dim]invariant.{stage}: {', '.join(methods)}[/]")


def _add_model(tree: Tree, data: dict[str, Any]) -> None:
    """Value objects with their fields and invariants, then domain and application services."""
    if data.get("entities"):
        node = tree.add("Entities")
        for entity in data["entities"]:
            _add_fields(node.add(f"[bold cyan]{entity['name']}[/] (part of {entity['part_of']})"), entity)
    if data.get("value_objects"):
        node = tree.add("Value objects")
        for value_object in data["value_objects"]:
            _add_fields(node.add(f"[bold cyan]{value_object['name']}[/]"), value_object)
    if data.get("domain_services"):
        node = tree.add("Domain services")
        for service in data["domain_services"]:
            node.add(f"[bold yellow]{service['name']}[/] (spans {', '.join(service['part_of'])})")
    if data.get("application_services"):
        node = tree.add("Application services")
        for service in data["application_services"]:
            node.add(
                f"[bold yellow]{service['name']}[/] (part of {', '.join(service['part_of'])}; use cases: "
                f"{', '.join(service['use_cases']) or 'none'})"
            )


def _add_commands(tree: Tree, data: dict[str, Any]) -> None:
    """Commands with their stream and handler, then command handlers with their methods."""
    if data.get("commands"):
        node = tree.add("Commands")
        for command in data["commands"]:
            handled = command["handled_by"] or "[red]no handler[/]"
            child = node.add(
                f"[bold magenta]{command['name']}[/] {command['type']} (part of {command['part_of']}, stream "
                f"[green]{command['stream_category']}[/]) -> {handled}"
            )
            for name, desc in command["fields"].items():
                child.add(f"{name}: {desc}")
    if data.get("command_handlers"):
        node = tree.add("Command handlers")
        for handler in data["command_handlers"]:
            sub = handler["subscription"]
            child = node.add(
                f"[bold yellow]{handler['name']}[/] (part of {handler['part_of']}, listens to "
                f"[green]{', '.join(handler['listens_to'])}[/])"
            )
            for method, target in handler["methods"].items():
                child.add(f"{method} <- {target}")
            child.add(
                f"[dim]async: {sub['subscription_type']}, max_retries {sub['max_retries']}, "
                f"dlq {'on' if sub['enable_dlq'] else 'off'}[/]"
            )


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> Table:
    """A plain rich table."""
    result = Table(title=title, title_justify="left")
    for column in columns:
        result.add_column(column)
    for row in rows:
        result.add_row(*["" if v is None else str(v) for v in row])
    return result


def short_json(value: Any, limit: int = 80) -> str:
    """Compact JSON, cut to ``limit`` characters."""
    text = json.dumps(value, default=str, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_type(type_string: str) -> str:
    """``Shop.OrderShipped.v1`` -> ``OrderShipped``; other strings unchanged."""
    parts = type_string.split(".")
    return parts[-2] if len(parts) >= 3 else type_string


def plural(count: int, one: str, many: str | None = None) -> str:
    """``one`` or ``many`` (default ``one + "s"``) as ``count`` asks: "1 event", "2 events"."""
    return one if count == 1 else (many or one + "s")


def short_ids(ids: list[str], minimum: int = 8) -> dict[str, str]:
    """Each id cut to the shortest length (at least ``minimum``) that keeps them all apart.

    Deterministic ids (``000000-0001``) share their first eight characters, so a fixed
    ``id[:8]`` would print the same text on every row.
    """
    unique = sorted(set(ids))
    length = minimum
    # Adjacent ids in sorted order share the longest prefixes, so they decide the length.
    for left, right in itertools.pairwise(unique):
        same = (i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b)
        common = next(same, min(len(left), len(right)))
        length = max(length, common + 1)
    return {i: i[:length] for i in ids}


TABLE_ROWS = 50


def capped(rows: list[list[Any]], show_all: bool, most: int = TABLE_ROWS) -> tuple[list[list[Any]], int]:
    """The rows to draw and how many were left out (drawing 20,000 rows takes rich 20 s)."""
    if show_all or len(rows) <= most:
        return rows, 0
    return rows[:most], len(rows) - most


def handlers_table(rows: list[dict[str, Any]], *, first: str = "event") -> Any:
    """What each handler did with each message: ``ok`` in green, ``failed`` in red, ``queued`` in yellow."""
    style = {"ok": "green", "failed": "red", "queued": "yellow"}
    return table(
        "Handlers",
        [first, "handler", "outcome", "detail"],
        [
            [short_type(r["type"]), r["handler"], f"[{style.get(r['status'], 'white')}]{r['status']}[/]", r["detail"]]
            for r in rows
        ],
    )
