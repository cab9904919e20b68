"""Entry point of the ``workbench`` command: the typer app, the root options, logging.

Command modules (``cli/commands/*``, one per command group) declare their commands with
:func:`workbench.cli.command.command` (see that module for the pattern); heavy imports
(the engine, rich tables) happen inside command bodies so ``workbench --help`` stays
fast. Every run goes through :class:`workbench.cli.interpreter.Interpreter`, the same
interpreter the shell and ``workbench script`` use.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated, Any

import typer
from workbench.cli.command import DomainOpt, JsonOpt, StoreOpt  # re-exported for command modules
from workbench.cli.invocation import Invocation

__all__ = ["AggregateArg", "AggregateIdArg", "DomainOpt", "JsonOpt", "StoreOpt", "ValuesArg", "app", "main"]

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

AggregateArg = Annotated[str, typer.Argument(metavar="AGGREGATE", help="Aggregate name.")]
AggregateIdArg = Annotated[str, typer.Argument(metavar="ID", help="Aggregate id (a unique prefix works).")]
ValuesArg = Annotated[
    list[str] | None, typer.Argument(metavar="FIELD=VALUE", help="field=value pairs.", show_default=False)
]


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    domain: DomainOpt = None,
    store: StoreOpt = None,
    broker: Annotated[
        str | None,
        typer.Option(
            "--broker",
            metavar="URL",
            help="Broker for stream handlers: redis://host:port/db (or WORKBENCH_BROKER; default embedded).",
            show_default=False,
        ),
    ] = None,
    deterministic: Annotated[
        bool, typer.Option("--deterministic", help="Fixed ids and times (for demos and golden files).")
    ] = False,
) -> None:
    invocation = ctx.ensure_object(Invocation)
    if broker is not None:
        # The engine reads the broker from the environment, so it reaches the shell and scripts too.
        os.environ["WORKBENCH_BROKER"] = broker
    invocation.apply_root_options(debug=debug, deterministic=deterministic, domain=domain, store=store)
    _configure_logging(invocation.debug)
    if ctx.invoked_subcommand is None:
        from workbench.cli import session as sessions

        # Plain `workbench` on a terminal with a domain configured opens the shell.
        if sys.stdin.isatty() and sys.stdout.isatty() and sessions.Settings.resolve(domain, store).domain:
            from workbench.cli.commands.shell_cmd import open_shell

            raise typer.Exit(open_shell(invocation, domain, store))
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


class _OneLineFormatter(logging.Formatter):
    """Log records as one line on stderr; tracebacks only with --debug."""

    def __init__(self, fmt: str, *, debug: bool) -> None:
        super().__init__(fmt)
        self.debug = debug

    def formatException(self, ei: Any) -> str:
        return super().formatException(ei) if self.debug else ""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.rstrip() if self.debug else text.splitlines()[0]


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is now (test runners and the REPL swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            # As logging's StreamHandler does: a notice such as "stopping after the current
            # message" must reach a pipe now, not when the process next writes or exits.
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def _configure_logging(debug: bool) -> None:
    logger = logging.getLogger("workbench")
    handler = next((h for h in logger.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        logger.addHandler(handler)
    handler.setFormatter(_OneLineFormatter("%(levelname)s: %(message)s", debug=debug))
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)


def main() -> None:
    """Run the CLI (console script ``workbench`` and ``python -m workbench``)."""
    from workbench.core.tuning import tune_gc

    tune_gc()
    if "_WORKBENCH_COMPLETE" in __import__("os").environ:  # shell completion is click's own protocol
        app()
        return
    from workbench.cli.interpreter import Interpreter

    raise SystemExit(Interpreter().run_args(sys.argv[1:]))


# Registers every command on `app` (the modules import only typer at the top).
import workbench.cli.commands  # noqa: E402, F401
