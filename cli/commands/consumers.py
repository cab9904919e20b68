"""``workbench projection rebuild|status``, ``workbench publish`` and ``workbench query``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from workbench.cli.command import Run, command
from workbench.cli.main import ValuesArg, app

projection_app = typer.Typer(help="Projections (read models): rebuild and status.", no_args_is_help=True)
app.add_typer(projection_app, name="projection")


@command(projection_app, "projection rebuild", write=True)
def rebuild(
    run: Run,
    name: Annotated[
        str | None, typer.Argument(metavar="[PROJECTION]", help="Projection to rebuild (all when omitted).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the differences from the current table.")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Show every row of long tables.")] = False,
) -> int:
    """Rebuild projections from the event log into a fresh table, swapped in when done."""
    from workbench.cli._progress import progress_bar
    from workbench.cli.render import capped, short_json, table
    from workbench.core.rebuild import rebuild as run_rebuild

    with run.domain.domain_context(), progress_bar(run, "rebuilding") as update:
        reports = run_rebuild(run.domain, name, dry_run=dry_run, progress=update)
    errors = sum(r.errors for r in reports)
    if run.json_mode:
        run.envelope(
            "projection rebuild",
            {
                "projections": [
                    {
                        "projection": r.projection,
                        "projectors": r.projectors,
                        "events": r.events,
                        "rows_before": r.rows_before,
                        "rows_after": r.rows_after,
                        "errors": r.errors,
                        "dry_run": dry_run,
                        "changes": r.changes,
                        "seconds": round(r.seconds, 3),
                    }
                    for r in reports
                ]
            },
            status="failure" if errors else "ok",
        )
        return 1 if errors else 0
    run.out.print(
        table(
            f"{'Dry run: ' if dry_run else ''}rebuilt {len(reports)} projection{'' if len(reports) == 1 else 's'}",
            ["projection", "projectors", "events", "rows before", "rows after", "changes", "errors"],
            [
                [
                    r.projection,
                    ", ".join(r.projectors),
                    r.events,
                    r.rows_before,
                    r.rows_after,
                    len(r.changes),
                    r.errors,
                ]
                for r in reports
            ],
        )
    )
    if dry_run:
        for r in reports:
            if r.changes:
                rows = [[c["id"], c["change"], short_json(c["fields"], 100)] for c in r.changes]
                shown, more = capped(rows, show_all)
                run.out.print(table(f"{r.projection} would change", ["id", "change", "fields"], shown))
                if more:
                    run.say(f"… {more} more (--all shows every row)")
    return 1 if errors else 0


@command(projection_app, "projection status", write=False)
def status(run: Run) -> int:
    """Per projection: projectors, rows, lag and last update."""
    from workbench.cli.render import table
    from workbench.core.rebuild import status as projection_status

    rows = projection_status(run.domain)
    if run.json_mode:
        run.envelope("projection status", {"projections": rows})
    else:
        run.out.print(
            table(
                "Projections",
                ["projection", "projectors", "rows", "lag", "last updated"],
                [
                    [r["projection"], ", ".join(r["projectors"]), r["rows"], r["lag"], r["last_updated"] or "-"]
                    for r in rows
                ],
            )
        )
    return 0


def _json_lines(file: str) -> list[tuple[str, int, str]]:
    """``(source, line number, text)`` for each line of ``file`` (``-`` reads standard input)."""
    import sys

    from workbench.core.exceptions import IncorrectUsageError

    if file == "-":
        return [("<stdin>", n, line) for n, line in enumerate(sys.stdin.read().splitlines(), 1)]
    path = Path(file)
    if path.is_dir():
        raise IncorrectUsageError(f"--file {file} is a directory; give a file of JSON lines")
    if not path.is_file():
        raise IncorrectUsageError(f"--file {file} does not exist")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise IncorrectUsageError(f"--file {file} cannot be read: {exc}") from None
    return [(file, n, line) for n, line in enumerate(text.splitlines(), 1)]


@command(app, "publish", write=True)
def publish(
    run: Run,
    stream: Annotated[str, typer.Argument(metavar="STREAM", help="Broker stream, e.g. payments-gateway.")],
    message: Annotated[str | None, typer.Argument(metavar="[JSON]", help="One JSON object.")] = None,
    file: Annotated[
        str | None,
        typer.Option("--file", metavar="FILE", help="A file of JSON lines, one message each (- for standard input)."),
    ] = None,
) -> int:
    """Publish raw JSON messages to a broker stream for its subscribers."""
    from workbench.cli.commands.raising import report_messages
    from workbench.core.exceptions import HandlerError, IncorrectUsageError

    texts: list[tuple[str, str]] = []
    if message is not None:
        texts.append(("the message", message))
    if file is not None:
        texts += [(f"{name}:{n}", line) for name, n, line in _json_lines(file) if line.strip()]
    if not texts:
        raise IncorrectUsageError("give a JSON message or --file")
    payloads = []
    for where, text in texts:
        try:
            payloads.append(json.loads(text))
        except json.JSONDecodeError as exc:
            raise IncorrectUsageError(f"{where} is not JSON ({exc.msg} at column {exc.colno})") from None
    if not any(stream == s.meta_.options["stream"] for s in run.domain.registry.subscribers.values()):
        run.say(f"warning: no subscriber listens to `{stream}`")
    before = run.domain.store.event_count()
    failures: list[Any] = []
    with run.domain.domain_context():
        for payload in payloads:
            try:
                run.domain.publish(stream, payload)
            except HandlerError as exc:
                failures += exc.failures
    messages = list(run.domain.event_store.read_all("$all", position=before + 1))
    return report_messages(run.domain, run, "publish", messages, failures)


@command(app, "query", write=False)
def query(
    run: Run,
    name: Annotated[str, typer.Argument(metavar="QUERY", help="Query name, e.g. OrdersByStatus.")],
    values: ValuesArg = None,
) -> int:
    """Run a query through its query handler and print the result."""
    from workbench.cli._lookup import assignments, pick
    from workbench.cli.render import table

    cls = pick("query", name, run.domain.registry.queries)
    with run.domain.domain_context():
        result = run.domain.dispatch(cls(**assignments(cls, values or [])))
    rows = result if isinstance(result, list) else [result]
    data = [r.to_dict() if hasattr(r, "to_dict") else r for r in rows]
    if run.json_mode:
        run.envelope("query", {"query": cls.__name__, "result": data if isinstance(result, list) else data[0]})
    elif data and all(isinstance(d, dict) for d in data):
        columns = list(dict.fromkeys(k for d in data for k in d))
        run.out.print(table(f"{cls.__name__} ({len(data)})", columns, [[d.get(c) for c in columns] for d in data]))
    elif isinstance(result, list) and not data:
        run.say("no results")
    else:
        typer.echo(json.dumps(data[0] if not isinstance(result, list) else data, default=str))
    return 0
