"""``workbench check idempotency`` and ``check determinism``: can handlers safely run again?"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from workbench.cli.command import Run, command
from workbench.cli.main import app

check_app = typer.Typer(help="Check handlers: idempotency (a message twice), determinism (history twice).")
app.add_typer(check_app, name="check", no_args_is_help=True)

HandlerOpt = Annotated[str | None, typer.Option("--handler", help="Only this handler.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", min=1, help="At most this many messages per handler.")]


def _report(out: Any, command: str, reports: list[Any], passed_word: str) -> int:
    """A table of handlers, then each finding with its message and differing fields; exit 1 on any finding."""
    from workbench.cli.render import short_json, short_type, table

    failing = [r for r in reports if not r.passed]
    if out.json_mode:
        out.envelope(command, {"handlers": [r.to_dict() for r in reports]}, status="failure" if failing else "ok")
        return 1 if failing else 0
    if not reports:
        out.say("no handlers to check")
        return 0
    rows = []
    for r in reports:
        if r.finding:
            verdict = f"[red]{r.finding.reason}[/]"
        elif r.skipped:
            verdict = f"skipped ({r.skipped})"
        elif not r.checked:
            verdict = "no stored messages to check"  # not a pass: nothing was tried
        else:
            verdict = f"[green]{passed_word}[/]"
        rows.append([r.handler, r.checked, verdict])
    out.out.print(table(f"{command}: {len(reports)} handler(s)", ["handler", "messages", "result"], rows))
    for r in failing:
        f = r.finding
        m = f.message
        out.out.print(
            f"{r.handler}: {f.reason} of {short_type(m['type'])} {m['stream_name']} #{m['global_position']}",
            highlight=False,
            markup=False,
        )
        out.out.print(f"  message data: {short_json(m['data'])}", highlight=False, markup=False)
        if f.error:
            out.out.print(f"  error: {f.error}", highlight=False, markup=False)
        for d in f.differences:
            if "event" in d:
                out.out.print(f"  event {d['event']}: {short_json(d['from'])} -> {short_json(d['to'])}", markup=False)
                continue
            fields = ", ".join(f"{k}: {v['from']!r} -> {v['to']!r}" for k, v in d["fields"].items())
            out.out.print(f"  {d['aggregate']} {d['id']} {d['change']}: {fields}", highlight=False, markup=False)
        for e in f.events:
            out.out.print(
                f"  raised again: {short_type(e['type'])} {short_json(e['data'])}", highlight=False, markup=False
            )
    return 1 if failing else 0


@command(check_app, "check idempotency", write=False)
def idempotency(run: Run, handler: HandlerOpt = None, limit: LimitOpt = None) -> int:
    """Deliver every stored message twice to each handler (on a scratch copy); exit 1 if any second delivery
    changed state, raised events again or failed."""
    from workbench.core.idempotency import check_idempotency

    return _report(run, "check idempotency", check_idempotency(run.domain, handler=handler, limit=limit), "idempotent")


@command(check_app, "check determinism", write=False)
def determinism(run: Run, handler: HandlerOpt = None, limit: LimitOpt = None) -> int:
    """Replay the stored messages through each handler twice from the same start (same ids and clock);
    exit 1 if the two runs differ (a handler reads the wall clock or random numbers)."""
    from workbench.core.idempotency import check_determinism

    reports = check_determinism(run.domain, handler=handler, limit=limit)
    return _report(run, "check determinism", reports, "deterministic")
