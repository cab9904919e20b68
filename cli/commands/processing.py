"""``workbench process``, ``run`` and ``subscriptions status``: the async engine."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from workbench.cli.command import Run, command
from workbench.cli.main import app, subscriptions_app


def _summary(out: Run, command: str, tally: Any) -> int:
    from workbench.cli.commands.replaying import TALLY_COLUMNS, tally_rows
    from workbench.cli.render import plural, table

    failed = tally.failed
    if out.json_mode:
        out.envelope(
            command, {"handled": tally.handled, "handlers": tally.by_handler}, status="failure" if failed else "ok"
        )
    elif tally.by_handler:
        title = f"Processed {tally.handled} {plural(tally.handled, 'delivery', 'deliveries')}"
        out.out.print(table(title, TALLY_COLUMNS, tally_rows(tally)))
    elif out.domain.config.get("event_processing") != "async":
        out.say("nothing to process: this domain runs its handlers synchronously (event_processing = sync)")
    else:
        out.say("nothing to process")
    return 1 if failed else 0


@command(app, "process", write=True)
def process(
    run: Run,
    limit: Annotated[int | None, typer.Option("--limit", metavar="N", help="Stop after this many messages.")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Do not wait for retries scheduled later.")] = False,
) -> int:
    """Deliver stored events to async handlers until every subscription is idle."""
    from workbench.cli._progress import progress_bar

    engine = run.engine
    total = sum(s.lag() for s in engine.subscriptions)
    with run.domain.domain_context(), progress_bar(run, "processing") as update:

        def progress(tally: Any) -> None:
            update(tally.handled, max(total, tally.handled))

        if limit is not None:
            tally = engine.process(limit, progress=progress)
        else:
            tally = engine.process_until_idle(wait_for_retries=not no_wait, progress=progress)
    return _summary(run, "process", tally)


@command(app, "run", write=True)
def run(run: Run) -> int:
    """Process continuously; Ctrl-C (or SIGTERM) finishes the current message and saves positions."""
    run.say("processing; Ctrl-C to stop")
    with run.domain.domain_context():
        tally = run.engine.run()
    return _summary(run, "run", tally)


def _pending_cell(pending: int, consumers: dict[str, int] | None) -> str:
    """Pending entries, and per consumer for a handler fed by a server broker."""
    if not consumers:
        return str(pending)
    return f"{pending} ({', '.join(f'{name}: {n}' for name, n in consumers.items())})"


@command(subscriptions_app, "subscriptions status", write=False)
def status(run: Run) -> int:
    """Type, category, position, lag, pending retries, DLQ depth and last error per handler."""
    from workbench.cli.render import table

    rows = run.engine.status()
    if run.json_mode:
        run.envelope("subscriptions status", {"subscriptions": [{**r.__dict__, "state": r.state} for r in rows]})
        return 0
    colour = {"ok": "green", "lagging": "yellow", "retrying": "yellow", "failing": "red"}
    run.out.print(
        table(
            "Subscriptions",
            ["handler", "type", "category", "position", "lag", "pending", "due", "dlq", "state", "last error"],
            [
                [
                    r.handler,
                    r.subscription_type,
                    r.category,
                    r.position,
                    r.lag,
                    _pending_cell(r.pending, r.consumers),
                    r.retries_due,
                    r.dlq_depth,
                    f"[{colour[r.state]}]{r.state}[/]",
                    f"{r.last_error['type']}: {r.last_error['message']}" if r.last_error else "",
                ]
                for r in rows
            ],
        )
    )
    return 0
