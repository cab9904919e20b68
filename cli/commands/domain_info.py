"""``workbench info``: the domain map as a tree, or its event flow as Mermaid."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from workbench.cli.command import Run, command
from workbench.cli.main import app


def domain_map(domain: Any) -> dict[str, Any]:
    """The domain's elements as JSON-friendly data."""
    return {
        "name": domain.name,
        "event_processing": domain.config["event_processing"],
        "aggregates": [
            {
                "name": name,
                "category": cls.meta_.stream_category,
                "fields": {f: field.describe() for f, field in cls.meta_.fields.items()},
                "event_sourced": bool(cls.meta_.options.get("is_event_sourced")),
            }
            for name, cls in domain.registry.aggregates.items()
        ],
        **command_map(domain),
        **model_map(domain),
        "events": [
            {
                "name": name,
                "type": cls.__type__,
                "part_of": getattr(cls.meta_.part_of, "__name__", cls.meta_.part_of),
                "category": cls.meta_.stream_category,
                "fields": {f: field.describe() for f, field in cls.meta_.fields.items()},
            }
            for name, cls in domain.registry.events.items()
        ],
        "event_handlers": [
            {
                "name": name,
                "part_of": cls.meta_.part_of.__name__,
                "listens_to": cls.meta_.stream_category,
                "methods": {m: t for t, methods in cls._handlers.items() for m in methods},
                "subscription": cls.meta_.subscription.to_dict(),
                "replayable": cls.meta_.options.get("replayable", True),
            }
            for name, cls in domain.registry.event_handlers.items()
        ],
        "projections": [
            {
                "name": name,
                "fields": {f: field.describe() for f, field in cls.meta_.fields.items()},
                "rows": domain.store.count(cls.meta_.options["table"]),
            }
            for name, cls in domain.registry.projections.items()
        ],
        "projectors": [
            {
                "name": name,
                "projection": cls.meta_.part_of.__name__,
                "listens_to": cls.meta_.stream_categories,
                "methods": {m: t for t, methods in cls._handlers.items() for m in methods},
                "subscription": cls.meta_.subscription.to_dict(),
            }
            for name, cls in domain.registry.projectors.items()
        ],
        "subscribers": [
            {"name": name, "stream": cls.meta_.options["stream"], "subscription": cls.meta_.subscription.to_dict()}
            for name, cls in domain.registry.subscribers.items()
        ],
        "queries": [
            {
                "name": name,
                "projection": cls.meta_.part_of.__name__,
                "fields": {f: field.describe() for f, field in cls.meta_.fields.items()},
                "handled_by": next(
                    (
                        f"{h.__name__}.{h._readers[cls.__type__]}"
                        for h in domain.registry.query_handlers.values()
                        if cls.__type__ in h._readers
                    ),
                    None,
                ),
            }
            for name, cls in domain.registry.queries.items()
        ],
        "store": {"location": domain.store.location, "events": domain.store.event_count()},
    }


def command_map(domain: Any) -> dict[str, Any]:
    """Commands and command handlers as JSON-friendly data."""
    from workbench.core.command_handler import handler_for

    def handled_by(command: Any) -> str | None:
        found = handler_for(domain, command.__type__)
        return f"{found[0].__name__}.{found[1]}" if found else None

    return {
        "commands": [
            {
                "name": name,
                "type": cls.__type__,
                "part_of": cls.meta_.part_of.__name__,
                "stream_category": cls.meta_.stream_category,
                "fields": {f: field.describe() for f, field in cls.meta_.fields.items()},
                "handled_by": handled_by(cls),
            }
            for name, cls in domain.registry.commands.items()
            if not cls.meta_.abstract
        ],
        "command_handlers": [
            {
                "name": name,
                "part_of": cls.meta_.part_of.__name__,
                "listens_to": cls.meta_.stream_categories,
                "methods": {m: t for t, methods in cls._handlers.items() for m in methods},
                "subscription": cls.meta_.subscription.to_dict(),
            }
            for name, cls in domain.registry.command_handlers.items()
        ],
    }


def model_map(domain: Any) -> dict[str, Any]:
    """Value objects, invariants and services as JSON-friendly data."""
    registry = domain.registry

    def invariant_names(cls: Any) -> dict[str, list[str]]:
        return {stage: [m.__name__ for m in methods] for stage, methods in cls.meta_.invariants.items()}

    def names(classes: Any) -> Any:
        return [c if isinstance(c, str) else c.__name__ for c in (classes if isinstance(classes, list) else [classes])]

    return {
        "entities": [
            {
                "name": name,
                "part_of": names(cls.meta_.part_of)[0],
                "fields": {f: field.describe() for f, field in cls.meta_.fields.items()},
                "invariants": invariant_names(cls),
            }
            for name, cls in registry.entities.items()
        ],
        "value_objects": [
            {
                "name": name,
                "fields": {f: field.describe() for f, field in cls.meta_.fields.items()},
                "invariants": invariant_names(cls),
            }
            for name, cls in registry.value_objects.items()
        ],
        "invariants": {
            name: invariant_names(cls) for name, cls in registry.aggregates.items() if cls.meta_.invariants
        },
        "domain_services": [
            {"name": name, "part_of": names(cls.meta_.part_of), "invariants": invariant_names(cls)}
            for name, cls in registry.domain_services.items()
        ],
        "application_services": [
            {
                "name": name,
                "part_of": names(cls.meta_.part_of),
                "use_cases": [m for m, v in vars(cls).items() if getattr(v, "_use_case", False)],
            }
            for name, cls in registry.application_services.items()
        ],
    }


def _model_flow(domain: Any) -> list[str]:
    from workbench.core.fields import HasMany, HasOne, ValueObject, ValueObjectList

    registry = domain.registry
    lines = [f"    {name}[{name}]" for name in registry.entities]
    lines.extend(f"    {name}[[{name}]]" for name in registry.value_objects)
    for owner, cls in {**registry.aggregates, **registry.entities, **registry.value_objects}.items():
        for field_name, field in cls.meta_.fields.items():
            inner = field.content if isinstance(field, ValueObjectList) else field
            if isinstance(inner, (ValueObject, HasOne, HasMany)) and not isinstance(inner.nested_cls, str):
                many = "many " if isinstance(field, (ValueObjectList, HasMany)) else ""
                lines.append(f"    {owner} -- {many}{field_name} --> {inner.nested_cls.__name__}")
    for name, cls in domain.registry.domain_services.items():
        lines.append(f"    {name}[/{name}\\]")
        lines.extend(f"    {name} -. spans .-> {agg.__name__}" for agg in cls.meta_.part_of if isinstance(agg, type))
    for name, cls in domain.registry.application_services.items():
        part_of = cls.meta_.part_of
        lines.append(f"    {name}[/{name}\\]")
        if isinstance(part_of, type):
            lines.append(f"    {name} -. uses .-> {part_of.__name__}")
    return lines


def _command_flow(domain: Any) -> list[str]:
    lines = []
    for name, cls in domain.registry.commands.items():
        if cls.meta_.abstract:
            continue
        lines.append(f"    {name}[/{name}/]")
    for name, cls in domain.registry.command_handlers.items():
        lines.append(f"    {name}{{{{{name}}}}}")
        for command_name, command_cls in domain.registry.commands.items():
            if command_cls.__type__ in cls._handlers:
                lines.append(f"    {command_name} -- handled by --> {name}")
        lines.append(f"    {name} -. changes .-> {cls.meta_.part_of.__name__}")
    return lines


def mermaid(domain: Any) -> str:
    """The event flow: aggregate raises event, handler consumes it, updates its aggregate."""
    lines = ["flowchart LR"]
    for name in domain.registry.aggregates:
        lines.append(f"    {name}[{name}]")
    for name, cls in domain.registry.events.items():
        lines.append(f"    {name}([{name}])")
        lines.append(f"    {cls.meta_.part_of.__name__} -- raises --> {name}")
    lines.extend(_command_flow(domain))
    lines.extend(_model_flow(domain))
    for name, cls in domain.registry.event_handlers.items():
        lines.append(f"    {name}{{{{{name}}}}}")
        targets = {t for t in cls._handlers}
        for event_name, event_cls in domain.registry.events.items():
            if event_cls.__type__ in targets or ("$any" in targets and _listens(cls, event_cls)):
                lines.append(f"    {event_name} -- handled by --> {name}")
        lines.append(f"    {name} -. updates .-> {cls.meta_.part_of.__name__}")
    for name, cls in domain.registry.projectors.items():
        lines.append(f"    {name}{{{{{name}}}}}")
        for event_name, event_cls in domain.registry.events.items():
            if event_cls.__type__ in cls._handlers:
                lines.append(f"    {event_name} -- projected by --> {name}")
        lines.append(f"    {name} -. updates .-> {cls.meta_.part_of.__name__}[({cls.meta_.part_of.__name__})]")
    for name, cls in domain.registry.subscribers.items():
        stream = cls.meta_.options["stream"]
        lines.append(f"    broker_{name}>{stream}] -- consumed by --> {name}{{{{{name}}}}}")
    return "\n".join(lines)


def _listens(handler: Any, event_cls: Any) -> bool:
    return handler.meta_.stream_category in ("$all", event_cls.meta_.stream_category)


@command(app, "info", write=False, reads_store=False)
def info(
    run: Run,
    as_mermaid: Annotated[bool, typer.Option("--mermaid", help="Print the event flow as a Mermaid diagram.")] = False,
) -> int:
    """Show the domain map: aggregates, events, handlers and their subscription settings."""
    if as_mermaid:
        typer.echo(mermaid(run.domain))
    elif run.json_mode:
        run.envelope("info", domain_map(run.domain))
    else:
        from workbench.cli.render import domain_tree

        run.out.print(domain_tree(domain_map(run.domain)))
    return 0
