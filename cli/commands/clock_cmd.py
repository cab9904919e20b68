"""``workbench clock [show]`` and ``clock advance DURATION``: the domain's (virtual) time.

In a script or the shell with fixed ids and times the domain runs on a virtual clock, so
``clock advance 30s`` makes retries scheduled 30 seconds later due at once: back-off and
``retry_delay_seconds`` are shown without sleeping.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from workbench.cli.main import DomainOpt, JsonOpt, StoreOpt, app, invoke

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


def _report(session: Any, loaded: Any, out: Any, command: str) -> int:
    now = loaded.timestamp()
    retries = _retries(session, now)
    iso = (loaded.clock.peek() if loaded.clock_is_virtual else loaded.clock()).isoformat()
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
    invoke(
        "clock", lambda s, d, o: _report(s, d, o, "clock"), domain=domain, store=store, json_mode=as_json, write=False
    )


@clock_app.command("advance")
def advance(
    duration: Annotated[str, typer.Argument(help="How far: 30s, 250ms, 5m, 1h30m, 2d, or seconds.")],
    domain: DomainOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move the virtual clock forward, so retries scheduled in that time become due."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.cli import session as sessions
        from workbench.core.clock import parse_duration
        from workbench.core.exceptions import IncorrectUsageError

        seconds = parse_duration(duration)
        if not loaded.clock_is_virtual:
            raise IncorrectUsageError(
                "the clock is real time: clock advance works in scripts and in the shell with --deterministic"
            )
        if sessions.ACTIVE is not session:
            raise IncorrectUsageError(
                "clock advance moves the clock of a running script or shell; a one-shot command's clock ends with it"
            )
        loaded.clock.advance(seconds)
        return _report(session, loaded, out, "clock advance")

    invoke("clock advance", body, domain=domain, store=store, json_mode=as_json, write=False)
