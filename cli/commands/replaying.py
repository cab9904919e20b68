"""``workbench replay CATEGORY``: deliver stored history through the handlers again."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from workbench.cli.command import Run, command
from workbench.cli.main import app


def tally_rows(tally: Any) -> list[list[Any]]:
    """Per-handler rows: delivered, skipped, failed (and retries, dead letters when any)."""
    return [
        [
            name,
            row.get("delivered", 0),
            row.get("skipped", 0),
            row.get("failed", 0),
            row.get("retried", 0),
            row.get("dead_lettered", 0),
        ]
        for name, row in tally.by_handler.items()
    ]


TALLY_COLUMNS = ["handler", "delivered", "skipped", "failed", "retries", "dead-lettered"]


@command(app, "replay", write=True)
def replay(
    run: Run,
    category: Annotated[str, typer.Argument(help="Category to replay (order, shop::order) or $all.")],
    handler: Annotated[str | None, typer.Option("--handler", help="Only this handler.")] = None,
    from_: Annotated[int | None, typer.Option("--from", help="First global position.")] = None,
    to: Annotated[int | None, typer.Option("--to", help="Last global position.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Replay on a copy and show what would change.")] = False,
) -> int:
    """Deliver every stored event of a category, in global order, to its handlers again."""
    from workbench.cli._progress import interruptible, progress_bar
    from workbench.cli.render import short_json, table
    from workbench.core.replay import replay as run_replay

    with (
        run.domain.domain_context(),
        progress_bar(run, f"replaying {category}") as update,
        interruptible() as should_stop,
    ):
        report = run_replay(
            run.domain,
            category,
            handler=handler,
            from_position=from_,
            to_position=to,
            dry_run=dry_run,
            progress=update,
            should_stop=should_stop,
        )
    status = "failure" if report.failed else "ok"
    if run.json_mode:
        run.envelope(
            "replay",
            {
                "category": report.category,
                "messages": report.messages,
                "seconds": round(report.seconds, 3),
                "dry_run": dry_run,
                "handlers": report.tally.by_handler,
                "changes": report.changes,
                "new_events": report.new_events,
            },
            status=status,
        )
        return 1 if report.failed else 0
    title = f"{'Dry run: ' if dry_run else ''}replayed {report.messages} events of {report.category}"
    run.out.print(table(title, TALLY_COLUMNS, tally_rows(report.tally)))
    if dry_run:
        if report.changes:
            run.out.print(
                table(
                    "Would change",
                    ["aggregate", "id", "change", "fields"],
                    [[c["aggregate"], c["id"], c["change"], short_json(c["fields"], 100)] for c in report.changes],
                )
            )
        if report.new_events:
            run.out.print(
                table(
                    "Would raise",
                    ["type", "stream", "data"],
                    [[e["type"], e["stream_name"], short_json(e["data"])] for e in report.new_events],
                )
            )
        if not report.changes and not report.new_events:
            run.say("nothing would change")
    if report.failed:
        run.say(f"[red]{report.failed} deliveries failed[/]; see `workbench dlq list`")
    return 1 if report.failed else 0
