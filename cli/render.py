"""Rich rendering of engine objects for people."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.tree import Tree


def print_domain_map(domain: Any, console: Console | None = None) -> None:
    """Aggregates with fields, events with category, handlers with their methods."""
    console = console or Console()
    tree = Tree(f"[bold]{domain.name}[/] ({domain.config['event_processing']} processing)")
    aggregates = tree.add("Aggregates")
    for name, cls in domain.registry.aggregates.items():
        node = aggregates.add(f"[bold cyan]{name}[/] (category [green]{cls.meta_.stream_category}[/])")
        for field_name, field in cls.meta_.fields.items():
            node.add(f"{field_name}: {field.describe()}")
    events = tree.add("Events")
    for name, cls in domain.registry.events.items():
        part_of = getattr(cls.meta_.part_of, "__name__", cls.meta_.part_of)
        node = events.add(f"[bold magenta]{name}[/] {cls.__type__} (part of {part_of})")
        for field_name, field in cls.meta_.fields.items():
            node.add(f"{field_name}: {field.describe()}")
    handlers = tree.add("Event handlers")
    for name, cls in domain.registry.event_handlers.items():
        meta = cls.meta_
        node = handlers.add(
            f"[bold yellow]{name}[/] (part of {meta.part_of.__name__}, listens to [green]{meta.stream_category}[/])"
        )
        for type_string, methods in cls._handlers.items():
            for method in methods:
                node.add(f"{method} <- {type_string}")
    store = domain.store
    tree.add(f"Store {store.location}: {store.event_count()} events")
    console.print(tree)
