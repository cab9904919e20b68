"""``workbench script FILE``: run a file of workbench commands, as a repeatable demo or a CI check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from workbench.cli.command import DomainOpt, StoreOpt, invocation_of
from workbench.cli.main import app


@app.command()
def script(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A file of workbench commands (the shell's syntax).")],
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Run every line even after a failure.")] = False,
    real_ids: Annotated[
        bool, typer.Option("--real-ids", help="Random ids and real times instead of the repeatable ones.")
    ] = False,
    domain: DomainOpt = None,
    store: StoreOpt = None,
) -> None:
    """Run a file of commands, echoing each with its output; stop at the first failure.

    Lines are shell commands (`raise ...`, `process`, `expect ...`); `#` starts a comment;
    a leading `!` marks a command that is expected to fail. The domain defaults to
    `domain.py` beside the script; the store is a fresh temporary one unless --store is given.
    Ids and times are fixed (as with --deterministic), so a script can name the aggregates it
    creates and its output is the same on every run; --real-ids turns that off.
    """
    import shutil
    import sys
    import tempfile

    from workbench.cli import session as sessions
    from workbench.cli.errors import classify
    from workbench.cli.interpreter import Interpreter

    invocation = invocation_of(ctx)
    if file.is_dir():
        typer.echo(f"error: script {file} is a directory, not a file of commands", err=True)
        raise typer.Exit(2)
    if not file.is_file():
        typer.echo(f"error: script {file} does not exist", err=True)
        raise typer.Exit(2)
    lines = file.read_text().splitlines()
    domain = domain if domain is not None else invocation.domain
    store = store if store is not None else invocation.store
    settings = sessions.Settings.resolve(domain, store)
    if not domain and (file.parent / "domain.py").is_file():
        settings.domain = str(file.parent / "domain.py")
    scratch = None
    if store is None:
        scratch = tempfile.mkdtemp(prefix="workbench-script-")
        settings.store = str(Path(scratch) / "store")
    session = sessions.Session(settings, debug=invocation.debug, deterministic=not real_ids)
    interpreter = Interpreter(session, debug=invocation.debug)
    failures = 0
    try:
        try:
            session.load(write=True)
        except Exception as exc:
            problem = classify(exc)
            typer.echo(problem.line, err=True)
            raise typer.Exit(int(problem.code)) from None
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            should_fail = line.startswith("!")
            command = line[1:].strip() if should_fail else line
            print(f"$ {command}", flush=True)
            result = interpreter.execute(command)
            sys.stdout.flush()
            if result.exit:
                break
            if (result.code != 0) != should_fail:
                failures += 1
                what = "succeeded but was expected to fail" if should_fail else f"failed (exit {result.code})"
                typer.echo(f"{file}:{number}: `{command}` {what}", err=True)
                if not keep_going:
                    break
    finally:
        interpreter.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if failures:
        raise typer.Exit(1)
