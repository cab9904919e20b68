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
    category: Annotated[
        str, typer.Argument(metavar="CATEGORY", help="Category to replay (order, shop::order), or all ($all).")
    ],
    handler: Annotated[str | None, typer.Option("--handler", metavar="HANDLER", help="Only this handler.")] = None,
    from_: Annotated[int | None, typer.Option("--from", metavar="N", help="First global position.")] = None,
    to: Annotated[int | None, typer.Option("--to", metavar="N", help="Last global position.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Replay on a copy and show what would change.")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Show every row of long tables.")] = False,
) -> int:
    """Deliver every stored event of a category, in global order, to its handlers again."""
    from workbench.cli._lookup import category_name
    from workbench.cli._progress import interruptible, progress_bar
    from workbench.cli.render import capped, plural, short_json, table
    from workbench.core.exceptions import IncorrectUsageError
    from workbench.core.replay import replay as run_replay

    category = category_name(run.domain, category)
    if from_ is not None and to is not None and from_ > to:
        raise IncorrectUsageError(f"--from {from_} is after --to {to}: nothing lies between them")
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
    interrupted = should_stop()
    status = "failure" if report.failed or interrupted else "ok"
    if run.json_mode:
        run.envelope(
            "replay",
            {
                "category": report.category,
                "messages": report.messages,
                "interrupted": interrupted,
                "seconds": round(report.seconds, 3),
                "dry_run": dry_run,
                "handlers": report.tally.by_handler,
                "changes": report.changes,
                "new_events": report.new_events,
            },
            status=status,
        )
        return 1 if report.failed or interrupted else 0
    verb = "interrupted after" if interrupted else "replayed"
    events = f"{report.messages} {plural(report.messages, 'event')}"
    title = f"{'Dry run: ' if dry_run else ''}{verb} {events} of {report.category}"
    run.out.print(table(title, TALLY_COLUMNS, tally_rows(report.tally)))
    if interrupted:
        run.say(
            f"[yellow]interrupted by Ctrl-C[/] after {report.messages} {plural(report.messages, 'event')}; "
            "later events were not replayed" + (" (nothing was written)" if dry_run else "")
        )
    if dry_run:
        if report.changes:
            rows = [[c["aggregate"], c["id"], c["change"], short_json(c["fields"], 100)] for c in report.changes]
            shown, more = capped(rows, show_all)
            run.out.print(table("Would change", ["aggregate", "id", "change", "fields"], shown))
            if more:
                run.say(f"… {more} more (--all shows every row)")
        if report.new_events:
            rows = [[e["type"], e["stream_name"], short_json(e["data"])] for e in report.new_events]
            shown, more = capped(rows, show_all)
            run.out.print(table("Would raise", ["type", "stream", "data"], shown))
            if more:
                run.say(f"… {more} more (--all shows every row)")
        if not report.changes and not report.new_events:
            run.say("nothing would change")
    if report.failed:
        failed = f"[red]{report.failed} {plural(report.failed, 'delivery', 'deliveries')} failed[/]"
        if dry_run:
            run.say(f"{failed} in the dry run (nothing was written or dead-lettered)")
        elif sum(row.get("dead_lettered", 0) for row in report.tally.by_handler.values()):
            run.say(f"{failed}; see `workbench dlq list`")
        else:
            run.say(f"{failed}; `workbench events trace ID` shows each failure")
    return 1 if report.failed or interrupted else 0
