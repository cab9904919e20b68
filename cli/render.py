"""Rich renderings of engine data for people (JSON goes through the envelope instead)."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.tree import Tree


def domain_tree(data: dict[str, Any]) -> Tree:
    """Aggregates with fields, events with category, handlers with methods and settings."""
    tree = Tree(f"[bold]{data['name']}[/] ({data['event_processing']} processing)")
    aggregates = tree.add("Aggregates")
    for agg in data["aggregates"]:
        node = aggregates.add(f"[bold cyan]{agg['name']}[/] (category [green]{agg['category']}[/])")
        for name, desc in agg["fields"].items():
            node.add(f"{name}: {desc}")
    events = tree.add("Events")
    for event in data["events"]:
        node = events.add(f"[bold magenta]{event['name']}[/] {event['type']} (part of {event['part_of']})")
        for name, desc in event["fields"].items():
            node.add(f"{name}: {desc}")
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
    tree.add(f"Store: {data['store']['events']} events")
    return tree


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
