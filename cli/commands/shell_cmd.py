"""``workbench shell``: the interactive session."""

from __future__ import annotations

import typer
from workbench.cli.command import DomainOpt, StoreOpt, invocation_of
from workbench.cli.invocation import Invocation
from workbench.cli.main import app


def open_shell(invocation: Invocation, domain: str | None, store: str | None) -> int:
    """Load the domain with a writable store and run the REPL until Ctrl-D; returns the exit code."""
    from workbench.cli import session as sessions
    from workbench.cli.errors import classify
    from workbench.cli.repl.shell import Shell

    settings = sessions.Settings.resolve(
        domain if domain is not None else invocation.domain, store if store is not None else invocation.store
    )
    session = sessions.Session(settings, debug=invocation.debug, deterministic=invocation.deterministic)
    try:
        session.load(write=True)
    except Exception as exc:
        session.close()
        problem = classify(exc)
        typer.echo(problem.line, err=True)
        return int(problem.code)
    Shell(session).run()
    return 0


@app.command()
def shell(ctx: typer.Context, domain: DomainOpt = None, store: StoreOpt = None) -> None:
    """Open the interactive workbench on the domain and store (Ctrl-D leaves)."""
    code = open_shell(invocation_of(ctx), domain, store)
    if code:
        raise typer.Exit(code)
