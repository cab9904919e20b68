"""``workbench script FILE``: run a file of workbench commands, as a repeatable demo or a CI check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from workbench.cli.main import DomainOpt, Globals, StoreOpt, app


@app.command()
def script(
    file: Annotated[Path, typer.Argument(help="A file of workbench commands (the shell's syntax).")],
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

    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.input import DummyInput
    from prompt_toolkit.output import DummyOutput
    from workbench.cli import session as sessions
    from workbench.cli.main import describe_error
    from workbench.cli.repl.shell import Shell
    from workbench.core.exceptions import ProteanException

    if not file.is_file():
        typer.echo(f"error: script {file} does not exist", err=True)
        raise typer.Exit(2)
    lines = file.read_text().splitlines()
    settings = sessions.Settings.resolve(domain or Globals.domain, store or Globals.store)
    if not (domain or Globals.domain) and (file.parent / "domain.py").is_file():
        settings.domain = str(file.parent / "domain.py")
    scratch = None
    if not (store or Globals.store):
        scratch = tempfile.mkdtemp(prefix="workbench-script-")
        settings.store = str(Path(scratch) / "store")
    session = sessions.Session(settings, debug=Globals.debug, deterministic=not real_ids)
    failures = 0
    try:
        try:
            session.load(write=True)
        except ProteanException as exc:
            typer.echo(f"error: {describe_error(exc)}", err=True)
            raise typer.Exit(2) from None
        shell = Shell(session, input=DummyInput(), output=DummyOutput(), history=InMemoryHistory())
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            should_fail = line.startswith("!")
            command = line[1:].strip() if should_fail else line
            print(f"$ {command}", flush=True)
            code = shell.execute(command)
            sys.stdout.flush()
            if code == "exit":
                break
            if (code != 0) != should_fail:
                failures += 1
                what = "succeeded but was expected to fail" if should_fail else f"failed (exit {code})"
                typer.echo(f"{file}:{number}: `{command}` {what}", err=True)
                if not keep_going:
                    break
    finally:
        session.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if failures:
        raise typer.Exit(1)
