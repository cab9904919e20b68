"""``workbench clock [show]`` and ``clock advance DURATION``: the domain's (virtual) time.

In a script or the shell with fixed ids and times the domain runs on a virtual clock, so
``clock advance 30s`` makes retries scheduled 30 seconds later due at once: back-off and
``retry_delay_seconds`` are shown without sleeping.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from workbench.cli.command import DomainOpt, JsonOpt, Run, StoreOpt, command, execute_command, invocation_of
from workbench.cli.main import app

clock_app = typer.Typer(help="The domain's clock: show it, or move a virtual clock forward.", no_args_is_help=False)
app.add_typer(clock_app, name="clock")


def _retries(session: Any, now: float) -> list[dict[str, Any]]:
    """Retries waiting, with the seconds until each is due (0 when due now)."""
    rows = []
    for subscription in session.engine.subscriptions:
        for entry in subscription.pending():
            rows.append(
                {
                    "handler": subscription.name,
                    "message_id": entry["message_id"],
                    "attempts": entry["attempts"],
                    "due_in_seconds": round(max(entry["due"] - now, 0.0), 3),
                }
            )
    return rows


def _report(run: Run, command: str) -> int:
    loaded, out = run.domain, run
    now = loaded.timestamp()
    retries = _retries(run.session, now)
    from workbench.core.clock import VirtualClock

    clock = loaded.clock
    iso = (clock.peek() if isinstance(clock, VirtualClock) else clock()).isoformat()
    if out.json_mode:
        out.envelope(command, {"now": iso, "virtual": loaded.clock_is_virtual, "retries": retries})
        return 0
    out.out.print(f"clock: {iso} ({'virtual' if loaded.clock_is_virtual else 'real time'})", highlight=False)
    for row in retries:
        due = "due now" if row["due_in_seconds"] == 0 else f"due in {row['due_in_seconds']:g}s"
        out.out.print(f"  retry of {row['handler']} after {row['attempts']} failed attempt(s): {due}", highlight=False)
    return 0


@clock_app.callback(invoke_without_command=True)
def clock(ctx: typer.Context, domain: DomainOpt = None, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Show the domain's time and the retries waiting for it."""
    if ctx.invoked_subcommand is not None:
        return
    # A group callback, so that plain `clock` shows the time; it runs like any command.
    code = execute_command(
        invocation_of(ctx),
        "clock",
        lambda run: _report(run, "clock"),
        domain=domain,
        store=store,
        json_mode=as_json,
        write=False,
    )
    if code:
        raise typer.Exit(code)


@command(clock_app, "clock advance", write=False, reads_store=False)
def advance(
    run: Run,
    duration: Annotated[str, typer.Argument(help="How far: 30s, 250ms, 5m, 1h30m, 2d, or seconds.")],
) -> int:
    """Move the virtual clock forward, so retries scheduled in that time become due."""
    from workbench.core.clock import VirtualClock, parse_duration
    from workbench.core.exceptions import IncorrectUsageError

    seconds = parse_duration(duration)
    loaded = run.domain
    clock = loaded.clock
    if not isinstance(clock, VirtualClock):
        raise IncorrectUsageError(
            "the clock is real time: clock advance works in scripts and in the shell with --deterministic"
        )
    if not run.shared:
        raise IncorrectUsageError(
            "clock advance moves the clock of a running script or shell; a one-shot command's clock ends with it"
        )
    clock.advance(seconds)
    return _report(run, "clock advance")
