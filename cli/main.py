"""Entry point of the ``workbench`` command: the app, shared options and error handling.

Command modules (``cli/commands/*``) register themselves on :data:`app`; heavy imports
(the engine, rich tables) happen inside commands so ``workbench --help`` stays fast.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from workbench.cli.exit_codes import ExitCode

app = typer.Typer(
    name="workbench",
    help="A workbench for event-driven domain models: load a domain, raise events, "
    "watch handlers react, inspect streams, replay history, triage failures.",
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
events_app = typer.Typer(help="Read, search and trace stored events.", no_args_is_help=True)
dlq_app = typer.Typer(help="Triage dead letters: list, inspect, replay, skip, purge.", no_args_is_help=True)
subscriptions_app = typer.Typer(help="Async subscriptions.", no_args_is_help=True)
app.add_typer(events_app, name="events")
app.add_typer(dlq_app, name="dlq")
app.add_typer(subscriptions_app, name="subscriptions")

DomainOpt = Annotated[
    str | None,
    typer.Option(
        "--domain", "-d", help="Domain file or module (or WORKBENCH_DOMAIN, or [tool.workbench]).", show_default=False
    ),
]
StoreOpt = Annotated[
    str | None,
    typer.Option("--store", help="Store folder (or WORKBENCH_STORE; default .workbench).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the versioned JSON envelope instead of tables.")]
AggregateArg = Annotated[str, typer.Argument(help="Aggregate name.")]
AggregateIdArg = Annotated[str, typer.Argument(metavar="ID", help="Aggregate id (a unique prefix works).")]
ValuesArg = Annotated[list[str] | None, typer.Argument(help="field=value pairs.", show_default=False)]


class Globals:
    """Options given before the command."""

    debug = False
    deterministic = False
    domain: str | None = None
    store: str | None = None


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    domain: DomainOpt = None,
    store: StoreOpt = None,
    deterministic: Annotated[
        bool, typer.Option("--deterministic", help="Fixed ids and times (for demos and golden files).")
    ] = False,
) -> None:
    Globals.debug = debug
    Globals.deterministic = deterministic or os.environ.get("WORKBENCH_DETERMINISTIC") == "1"
    Globals.domain = domain
    Globals.store = store
    _configure_logging()
    if ctx.invoked_subcommand is None:
        from workbench.cli import session as sessions

        # Plain `workbench` on a terminal with a domain configured opens the shell.
        if sys.stdin.isatty() and sys.stdout.isatty() and sessions.Settings.resolve(domain, store).domain:
            from workbench.cli.commands.shell_cmd import open_shell

            open_shell(domain, store)
            return
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def invoke(
    command: str,
    body: Callable[[Any, Any, Any], int | None],
    *,
    domain: str | None,
    store: str | None,
    json_mode: bool,
    write: bool,
) -> None:
    """Load the domain, run ``body(session, domain, output)``, and turn errors into one line.

    Exit codes: ``body``'s return (0 or 1), or 2 for a usage or environment error.
    """
    from workbench.cli import session as sessions
    from workbench.cli.output import Output
    from workbench.core.exceptions import ProteanException

    output = Output(json_mode=json_mode)
    session = sessions.ACTIVE
    owned = session is None
    if session is None:
        settings = sessions.Settings.resolve(domain or Globals.domain, store or Globals.store)
        session = sessions.Session(settings, debug=Globals.debug, deterministic=Globals.deterministic)
    code = ExitCode.OK
    try:
        loaded = session.load(write=write)
        code = ExitCode(body(session, loaded, output) or 0)
    except (ProteanException, KeyError) as exc:
        if Globals.debug or session.debug:
            raise
        message = describe_error(exc)
        details = getattr(exc, "details", None)
        if json_mode:
            output.envelope(command, None, status="error", errors=[str(message)])
        else:
            if details:
                typer.echo(str(details).rstrip(), err=True)
            typer.echo(f"error: {message}", err=True)
        code = ExitCode.USAGE
    finally:
        if owned:
            session.close()
    if code:
        raise typer.Exit(int(code))


def describe_error(exc: BaseException) -> str:
    """One line naming what is wrong."""
    from workbench.core.exceptions import ValidationError

    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{field}: {', '.join(messages)}" for field, messages in exc.messages.items())
        return f"invalid values: {problems}"
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)


class _OneLineFormatter(logging.Formatter):
    """Log records as one line on stderr; tracebacks only with --debug."""

    def formatException(self, ei: Any) -> str:
        return super().formatException(ei) if Globals.debug else ""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.rstrip() if Globals.debug else text.splitlines()[0]


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is now (test runners and the REPL swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def _configure_logging() -> None:
    logger = logging.getLogger("workbench")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(_OneLineFormatter("%(levelname)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if Globals.debug else logging.WARNING)


def main() -> None:
    """Run the CLI (console script ``workbench`` and ``python -m workbench``)."""
    from workbench.core.tuning import tune_gc

    tune_gc()
    app()


# Registers every command on `app` (the modules import only typer at the top).
import workbench.cli.commands  # noqa: E402, F401
