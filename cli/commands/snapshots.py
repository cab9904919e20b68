"""``workbench snapshot create``: write current snapshots of event-sourced aggregates."""

from __future__ import annotations

from typing import Annotated

import typer
from workbench.cli.command import Run, command
from workbench.cli.main import app

snapshot_app = typer.Typer(help="Snapshots of event-sourced aggregates.", no_args_is_help=True)
app.add_typer(snapshot_app, name="snapshot")


@command(snapshot_app, "snapshot create", write=True)
def create(
    run: Run,
    aggregate: Annotated[
        str | None, typer.Argument(metavar="[AGGREGATE]", help="An event-sourced aggregate (default: all).")
    ] = None,
    identifier: Annotated[str | None, typer.Argument(metavar="[ID]", help="One instance (default: all).")] = None,
) -> int:
    """Snapshot event-sourced aggregates now, so their next load replays nothing.

    Snapshots are also written as events are saved (every `snapshot_threshold` events);
    this catches up streams written another way (`raise`, an older threshold).
    """
    from workbench.cli._lookup import aggregate_class
    from workbench.cli.commands._event_sourced import find_event_sourced
    from workbench.core.event_sourcing import is_event_sourced
    from workbench.core.exceptions import IncorrectUsageError

    domain = run.domain
    if aggregate is None:
        classes = [cls for cls in domain.registry.aggregates.values() if is_event_sourced(cls)]
        if not classes:
            raise IncorrectUsageError("the domain has no event-sourced aggregate (is_event_sourced=True)")
    else:
        classes = [aggregate_class(domain, aggregate)]
    counts: dict[str, int] = {}
    with domain.domain_context():
        for cls in classes:
            if identifier is not None:
                key = find_event_sourced(domain, cls, identifier, at_version=0).id_value
                counts[cls.__name__] = int(domain.create_snapshot(cls, key))
            else:
                counts[cls.__name__] = domain.create_snapshots(cls)
    if run.json_mode:
        run.envelope("snapshot create", {"created": counts})
    else:
        for name, count in counts.items():
            run.say(f"{name}: {count} snapshot{'s' if count != 1 else ''} written")
    return 0
