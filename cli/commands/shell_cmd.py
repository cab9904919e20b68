"""``workbench shell``: the interactive session."""

from __future__ import annotations

from typing import Any

from workbench.cli.main import DomainOpt, Globals, StoreOpt, app


def open_shell(domain: str | None, store: str | None) -> None:
    """Load the domain with a writable store and run the REPL until Ctrl-D."""
    import typer
    from workbench.cli import session as sessions
    from workbench.cli.main import describe_error
    from workbench.cli.repl.shell import Shell
    from workbench.core.exceptions import ProteanException

    settings = sessions.Settings.resolve(domain or Globals.domain, store or Globals.store)
    session = sessions.Session(settings, debug=Globals.debug, deterministic=Globals.deterministic)
    try:
        session.load(write=True)
    except ProteanException as exc:
        typer.echo(f"error: {describe_error(exc)}", err=True)
        raise typer.Exit(2) from None
    shell: Any = Shell(session)
    shell.run()


@app.command()
def shell(domain: DomainOpt = None, store: StoreOpt = None) -> None:
    """Open the interactive workbench on the domain and store (Ctrl-D leaves)."""
    open_shell(domain, store)
