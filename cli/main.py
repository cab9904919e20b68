"""Entry point of the ``workbench`` command."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Annotated, Any

import typer

from cli.exit_codes import ExitCode

app = typer.Typer(
    name="workbench",
    help="A workbench for event-driven domain models: load a domain, raise events, "
    "watch handlers react, inspect streams.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)

DomainOption = Annotated[
    str | None,
    typer.Option("--domain", "-d", help="Domain file or module (or WORKBENCH_DOMAIN).", show_default=False),
]
StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Store folder (or WORKBENCH_STORE; default .workbench).", show_default=False),
]


class State:
    """Options shared by every command."""

    debug = False


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    State.debug = debug


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> typer.Exit:
    """Print ``message`` as one line on stderr and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(int(code))


def open_domain(domain: str | None, store: str | None, *, read_only: bool = False) -> Any:
    """Load the domain and bind its store, turning errors into one clear line."""
    from core.bootstrap import bootstrap
    from core.exceptions import ProteanException

    spec = domain or os.environ.get("WORKBENCH_DOMAIN")
    if not spec:
        raise fail("no domain given; pass --domain PATH or set WORKBENCH_DOMAIN")
    try:
        # A domain file may print at import (the spec's example does); stdout is for data.
        with contextlib.redirect_stdout(sys.stderr):
            return bootstrap(spec, store_location=store, read_only=read_only)
    except ProteanException as exc:
        if State.debug:
            raise
        details = getattr(exc, "details", None)
        if details:
            typer.echo(details.rstrip(), err=True)
        raise fail(str(exc)) from None


@app.command()
def info(domain: DomainOption = None, store: StoreOption = None) -> None:
    """Show the domain map: aggregates, events, handlers, and what the store holds."""
    from cli.render import print_domain_map

    loaded = open_domain(domain, store, read_only=True)
    print_domain_map(loaded)


def main() -> None:
    """Run the CLI (console script ``workbench`` and ``python -m cli``)."""
    from core.tuning import tune_gc

    tune_gc()
    app()
