"""``workbench store check`` and ``workbench store repair --drop-after SEQ``.

They work on the store folder alone (no domain is loaded): a store that refuses to open
is exactly when they are needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from workbench.cli.command import invocation_of
from workbench.cli.exit_codes import ExitCode
from workbench.cli.main import JsonOpt, StoreOpt, app

store_app = typer.Typer(
    help="Check a store's files; repair a damaged journal (keeping a backup).", no_args_is_help=True
)
app.add_typer(store_app, name="store")


def _store_path(ctx: typer.Context, store: str | None) -> str:
    from workbench.cli.session import Settings

    given = store if store is not None else invocation_of(ctx).store
    return Settings.resolve(None, given).store or ".workbench"


def _run(ctx: typer.Context, command: str, json_mode: bool, body: Callable[[Any], int]) -> None:
    """Run ``body(output)``; an error is one classified line (or the envelope) with its exit code.

    No domain is loaded, so these commands do not go through :func:`~workbench.cli.command.command`.
    """
    from workbench.cli.errors import classify, print_traceback
    from workbench.cli.output import Output

    output = Output(json_mode=json_mode)
    try:
        code = body(output)
    except Exception as exc:
        problem = classify(exc)
        if invocation_of(ctx).debug:
            print_traceback(exc)
        if json_mode:
            output.envelope(command, None, status="error", errors=[problem.message])
        else:
            output.err.print(problem.line, markup=False, highlight=False, soft_wrap=True)
        code = problem.code
    if code:
        raise typer.Exit(int(code))


@store_app.command("check")
def check(ctx: typer.Context, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Read every file of the store and report damage (writes nothing; exit 1 when damaged)."""

    def body(out: Any) -> int:
        from workbench.core.store.maintenance import check_store

        report = check_store(_store_path(ctx, store))
        if out.json_mode:
            out.envelope("store check", report.to_dict(), status="ok" if report.ok else "failure")
        else:
            typer.echo(
                f"store {report.path}: snapshot at seq {report.snapshot_seq}, journal format "
                f"{report.journal_format}, {report.commits} intact commit(s) after seq {report.base_seq}, "
                f"last intact seq {report.last_good_seq}"
            )
            if report.torn_bytes:
                typer.echo(
                    f"note: an incomplete last commit ({report.torn_bytes} bytes, an interrupted write) "
                    "will be cut by the next writer",
                    err=True,
                )
            for problem in report.problems:
                typer.echo(f"problem: {problem}", err=True)
            if report.ok:
                typer.echo("ok")
        return ExitCode.OK if report.ok else ExitCode.FAILURE

    _run(ctx, "store check", as_json, body)


@store_app.command("repair")
def repair(
    ctx: typer.Context,
    drop_after: Annotated[
        int, typer.Option("--drop-after", metavar="SEQ", help="Keep the commits up to SEQ; drop the rest.")
    ],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Keep the journal's commits up to SEQ and drop the rest; the old journal is kept as a .bak file."""

    def body(out: Any) -> int:
        from workbench.core.store.maintenance import repair_store

        result = repair_store(_store_path(ctx, store), drop_after=drop_after)
        if out.json_mode:
            out.envelope("store repair", result.to_dict())
        else:
            typer.echo(
                f"kept the commits up to seq {result.kept_up_to}; dropped {result.dropped_commits} "
                f"commit line(s), {result.dropped_bytes} bytes; backup: {result.backup}"
            )
        return ExitCode.OK

    _run(ctx, "store repair", as_json, body)
