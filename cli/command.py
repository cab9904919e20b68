"""The one way to declare a workbench command, and the typed session its body receives.

A command is a function whose first parameter is a :class:`Run`; its other parameters
are typer arguments and options as usual::

    @command(events_app, "events read", write=False)
    def read(run: Run, stream: Annotated[str, typer.Argument(help="...")], limit: LimitOpt = 20) -> int:
        messages = run.domain.event_store.read(stream, no_of_messages=limit)
        if run.json_mode:
            run.envelope("events read", {...})
        else:
            run.out.print(table(...))
        return 0            # or ExitCode.FAILURE when the command found a failure

:func:`command` adds ``--domain``, ``--store`` and ``--json`` to every command, loads
the domain (read-only unless ``write=True``), or reuses the shell's or script's loaded
session, runs the body, and turns an exception into one classified line (see
:mod:`workbench.cli.errors`) with the right exit code and, under ``--json``, an envelope
with status ``error``. Nothing here is global: the per-invocation state
(:class:`~workbench.cli.invocation.Invocation`) arrives in click's context object.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from workbench.cli.invocation import Invocation
from workbench.cli.output import Output

if TYPE_CHECKING:
    from workbench.cli.session import Session
    from workbench.core.domain import Domain
    from workbench.core.engine import Engine

DomainOpt = Annotated[
    str | None,
    typer.Option(
        "--domain",
        "-d",
        metavar="PATH",
        help="Domain file or module (or WORKBENCH_DOMAIN, or [tool.workbench]).",
        show_default=False,
    ),
]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store", metavar="PATH", help="Store folder (or WORKBENCH_STORE; default .workbench).", show_default=False
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the versioned JSON envelope instead of tables.")]

F = TypeVar("F", bound=Callable[..., Any])


class Run(Output):
    """What a command body works with: the loaded domain, its engine, and the output.

    It is an :class:`~workbench.cli.output.Output` (``json_mode``, ``envelope``, ``say``,
    ``out``/``err`` consoles) with the session attached.
    """

    def __init__(self, session: Session, *, json_mode: bool, shared: bool = False) -> None:
        super().__init__(json_mode=json_mode)
        self.session = session
        #: The session belongs to a running shell or script and outlives this command.
        self.shared = shared

    @property
    def domain(self) -> Domain:
        """The loaded domain (bound to the store)."""
        assert self.session.domain is not None, "the session loads the domain before the body runs"
        return typing.cast("Domain", self.session.domain)

    @property
    def engine(self) -> Engine:
        """The async engine over the loaded domain."""
        return typing.cast("Engine", self.session.engine)


def execute_command(
    invocation: Invocation,
    name: str,
    body: Callable[[Run], int | None],
    *,
    domain: str | None = None,
    store: str | None = None,
    json_mode: bool = False,
    write: bool,
    reads_store: bool = True,
) -> int:
    """Load (or reuse) the session, run ``body`` and return its exit code; errors become one line."""
    from workbench.cli import session as sessions
    from workbench.cli.errors import classify, print_traceback

    session = invocation.session
    owned = session is None
    if session is None:
        settings = sessions.Settings.resolve(
            domain if domain is not None else invocation.domain, store if store is not None else invocation.store
        )
        session = sessions.Session(settings, debug=invocation.debug, deterministic=invocation.deterministic)
    run = Run(session, json_mode=json_mode, shared=not owned)
    debug = invocation.debug or session.debug
    try:
        session.load(write=write)
        if reads_store and not write and owned:
            _note_missing_store(run)
        return int(body(run) or 0)
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:
        problem = classify(exc)
        if debug:
            print_traceback(exc)
        if json_mode:
            run.envelope(name, None, status="error", errors=[problem.message])  # the line without its "error: " label
        else:
            details = getattr(exc, "details", None)
            if details and problem.kind == "usage":
                run.err.print(str(details).rstrip(), markup=False, highlight=False)
            run.err.print(problem.line, markup=False, highlight=False, soft_wrap=True)
        return int(problem.code)
    finally:
        if owned:
            session.close()


def _note_missing_store(run: Run) -> None:
    """An empty answer from a store that does not exist is a wrong folder more often than not: say so."""
    from pathlib import Path

    location = run.domain.store.location
    if location and location != ":memory:" and "://" not in location and not Path(location).exists():
        run.say(
            f"note: there is no store at {location} yet (--store PATH or WORKBENCH_STORE picks another); "
            "`workbench new` or `workbench raise` creates it"
        )


def command(
    group: typer.Typer, name: str, *, write: bool, reads_store: bool = True, **options: Any
) -> Callable[[F], F]:
    """Register ``func(run, ...)`` on ``group`` as the command ``name``.

    Args:
        group: The typer app or sub-app the command belongs to.
        name: The full command name (``"events read"``): its last word is what the user
            types after the group; the whole is the JSON envelope's ``command``.
        write: Open the store for writing (taking the writer lock).
        reads_store: The command shows what the store holds, so a store folder that does not
            exist gets a note (a wrong folder would otherwise look like an empty store).
        **options: Passed to ``typer.Typer.command`` (``help=``, ``hidden=`` ...).

    Returns:
        A decorator that registers the command and returns the function unchanged.
    """

    def decorate(func: F) -> F:
        hints = typing.get_type_hints(func, include_extras=True)
        own = list(inspect.signature(func).parameters.values())[1:]  # the first is the Run
        parameters = [
            inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
            *(p.replace(annotation=hints[p.name], kind=inspect.Parameter.KEYWORD_ONLY) for p in own),
            inspect.Parameter("domain", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=DomainOpt),
            inspect.Parameter("store", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=StoreOpt),
            inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=JsonOpt),
        ]

        def wrapper(ctx: typer.Context, **kwargs: Any) -> None:
            domain, store, as_json = kwargs.pop("domain"), kwargs.pop("store"), kwargs.pop("as_json")
            invocation = ctx.obj if isinstance(ctx.obj, Invocation) else Invocation()
            code = execute_command(
                invocation,
                name,
                lambda run: func(run, **kwargs),
                domain=domain,
                store=store,
                json_mode=as_json,
                write=write,
                reads_store=reads_store,
            )
            if code:
                raise typer.Exit(code)

        wrapper.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        wrapper.__name__ = func.__name__
        wrapper.__qualname__ = func.__qualname__
        wrapper.__doc__ = func.__doc__
        wrapper.__module__ = func.__module__
        group.command(name.split()[-1], **options)(wrapper)
        return func

    return decorate


def invocation_of(ctx: typer.Context) -> Invocation:
    """The per-invocation state of a command that declares its own ``ctx`` (``shell``, ``script``)."""
    root = ctx.find_root()
    if not isinstance(root.obj, Invocation):
        root.obj = Invocation()
    return root.obj
