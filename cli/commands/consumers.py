"""``workbench projection rebuild|status``, ``workbench publish`` and ``workbench query``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from workbench.cli.main import DomainOpt, JsonOpt, StoreOpt, ValuesArg, app, invoke

projection_app = typer.Typer(help="Projections (read models): rebuild and status.", no_args_is_help=True)
app.add_typer(projection_app, name="projection")


@projection_app.command("rebuild")
def rebuild(
    name: Annotated[str | None, typer.Argument(help="Projection to rebuild (all when omitted).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the differences from the current table.")] = False,
    domain: DomainOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rebuild projections from the event log into a fresh table, swapped in when done."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.cli._progress import progress_bar
        from workbench.cli.render import short_json, table
        from workbench.core.rebuild import rebuild as run_rebuild

        with loaded.domain_context(), progress_bar(out, "rebuilding") as update:
            reports = run_rebuild(loaded, name, dry_run=dry_run, progress=update)
        errors = sum(r.errors for r in reports)
        if out.json_mode:
            out.envelope(
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
        out.out.print(
            table(
                f"{'Dry run: ' if dry_run else ''}rebuilt {len(reports)} projection(s)",
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
                    out.out.print(
                        table(
                            f"{r.projection} would change",
                            ["id", "change", "fields"],
                            [[c["id"], c["change"], short_json(c["fields"], 100)] for c in r.changes],
                        )
                    )
        return 1 if errors else 0

    invoke("projection rebuild", body, domain=domain, store=store, json_mode=as_json, write=True)


@projection_app.command("status")
def status(domain: DomainOpt = None, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Per projection: projectors, rows, lag and last update."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.cli.render import table
        from workbench.core.rebuild import status as projection_status

        rows = projection_status(loaded)
        if out.json_mode:
            out.envelope("projection status", {"projections": rows})
        else:
            out.out.print(
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

    invoke("projection status", body, domain=domain, store=store, json_mode=as_json, write=False)


@app.command()
def publish(
    stream: Annotated[str, typer.Argument(help="Broker stream, e.g. payments-gateway.")],
    message: Annotated[str | None, typer.Argument(help="One JSON object.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A file of JSON lines, one message each.")] = None,
    domain: DomainOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish raw JSON messages to a broker stream for its subscribers."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.cli.commands.raising import report_messages
        from workbench.core.exceptions import HandlerError, IncorrectUsageError

        texts: list[tuple[str, str]] = []
        if message is not None:
            texts.append(("argument", message))
        if file is not None:
            if not file.is_file():
                raise IncorrectUsageError(f"file {file} does not exist")
            texts += [(f"{file}:{n}", line) for n, line in enumerate(file.read_text().splitlines(), 1) if line.strip()]
        if not texts:
            raise IncorrectUsageError("give a JSON message or --file")
        payloads = []
        for where, text in texts:
            try:
                payloads.append(json.loads(text))
            except json.JSONDecodeError as exc:
                raise IncorrectUsageError(f"{where}: not JSON ({exc.msg})") from None
        if not any(stream == s.meta_.options["stream"] for s in loaded.registry.subscribers.values()):
            out.say(f"warning: no subscriber listens to `{stream}`")
        before = loaded.store.event_count()
        failures: list[Any] = []
        with loaded.domain_context():
            for payload in payloads:
                try:
                    loaded.publish(stream, payload)
                except HandlerError as exc:
                    failures += exc.failures
        messages = list(loaded.event_store.read_all("$all", position=before + 1))
        return report_messages(loaded, out, "publish", messages, failures)

    invoke("publish", body, domain=domain, store=store, json_mode=as_json, write=True)


@app.command()
def query(
    name: Annotated[str, typer.Argument(help="Query name, e.g. OrdersByStatus.")],
    values: ValuesArg = None,
    domain: DomainOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a query through its query handler and print the result."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.cli._lookup import assignments, pick
        from workbench.cli.render import table

        cls = pick("query", name, loaded.registry.queries)
        with loaded.domain_context():
            result = loaded.dispatch(cls(**assignments(cls, values or [])))
        rows = result if isinstance(result, list) else [result]
        data = [r.to_dict() if hasattr(r, "to_dict") else r for r in rows]
        if out.json_mode:
            out.envelope("query", {"query": cls.__name__, "result": data if isinstance(result, list) else data[0]})
        elif data and all(isinstance(d, dict) for d in data):
            columns = list(dict.fromkeys(k for d in data for k in d))
            out.out.print(table(f"{cls.__name__} ({len(data)})", columns, [[d.get(c) for c in columns] for d in data]))
        elif isinstance(result, list) and not data:
            out.say("no results")
        else:
            typer.echo(json.dumps(data[0] if not isinstance(result, list) else data, default=str))
        return 0

    invoke("query", body, domain=domain, store=store, json_mode=as_json, write=False)
