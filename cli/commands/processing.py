"""``workbench process``, ``run`` and ``subscriptions status``: the async engine."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from workbench.cli.main import DomainOpt, JsonOpt, StoreOpt, app, invoke, subscriptions_app


def _summary(out: Any, command: str, tally: Any) -> int:
    from workbench.cli.commands.replaying import TALLY_COLUMNS, tally_rows
    from workbench.cli.render import table

    failed = tally.failed
    if out.json_mode:
        out.envelope(
            command, {"handled": tally.handled, "handlers": tally.by_handler}, status="failure" if failed else "ok"
        )
    elif tally.by_handler:
        out.out.print(table(f"Processed {tally.handled} deliveries", TALLY_COLUMNS, tally_rows(tally)))
    else:
        out.say("nothing to process")
    return 1 if failed else 0


@app.command()
def process(
    limit: Annotated[int | None, typer.Option("--limit", help="Stop after this many messages.")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Do not wait for retries scheduled later.")] = False,
    domain: DomainOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deliver stored events to async handlers until every subscription is idle."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.cli._progress import progress_bar

        engine = session.engine
        total = sum(s.lag() for s in engine.subscriptions)
        with loaded.domain_context(), progress_bar(out, "processing") as update:

            def progress(tally: Any) -> None:
                update(tally.handled, max(total, tally.handled))

            if limit is not None:
                tally = engine.process(limit, progress=progress)
            else:
                tally = engine.process_until_idle(wait_for_retries=not no_wait, progress=progress)
        return _summary(out, "process", tally)

    invoke("process", body, domain=domain, store=store, json_mode=as_json, write=True)


@app.command()
def run(domain: DomainOpt = None, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Process continuously; Ctrl-C (or SIGTERM) finishes the current message and saves positions."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        out.say("processing; Ctrl-C to stop")
        with loaded.domain_context():
            tally = session.engine.run()
        return _summary(out, "run", tally)

    invoke("run", body, domain=domain, store=store, json_mode=as_json, write=True)


@subscriptions_app.command("status")
def status(domain: DomainOpt = None, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Type, category, position, lag, pending retries, DLQ depth and last error per handler."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.cli.render import table

        rows = session.engine.status()
        if out.json_mode:
            out.envelope("subscriptions status", {"subscriptions": [{**r.__dict__, "state": r.state} for r in rows]})
            return 0
        colour = {"ok": "green", "lagging": "yellow", "retrying": "yellow", "failing": "red"}
        out.out.print(
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
                        r.pending,
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

    invoke("subscriptions status", body, domain=domain, store=store, json_mode=as_json, write=False)
