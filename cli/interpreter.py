"""The one command interpreter: ``execute(line) -> Result``, for the shell, scripts and one-shot commands.

* One-shot ``workbench ARGS``: :meth:`Interpreter.run_args` with no session; each
  command loads the domain itself and closes the store when done.
* ``workbench shell`` and ``workbench script``: an interpreter over one loaded
  :class:`~workbench.cli.session.Session`; :meth:`Interpreter.execute` runs a line: the
  workbench's own commands (through the same typer app as the one-shot CLI) and the
  session words ``help``, ``py``, ``reload``, ``watch``, ``expect``, ``debug``, ``exit``.

Every command line gets a fresh :class:`~workbench.cli.invocation.Invocation` (no
state is shared through module globals). No prompt_toolkit here: the shell adds the
prompt, history, completion and toolbar around an interpreter.
"""

from __future__ import annotations

import difflib
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from workbench.cli.exit_codes import ExitCode
from workbench.cli.invocation import Invocation

if TYPE_CHECKING:
    from workbench.cli.session import Session
    from workbench.cli.watcher import DomainFileWatcher

try:  # typer 0.26+ vendors click; its usage errors derive from the public TyperException
    from typer import TyperException as CommandLineError
except ImportError:  # pragma: no cover - older typer depends on click
    from click import ClickException as CommandLineError  # type: ignore[assignment,no-redef]

SESSION_WORDS = ("help", "py", "reload", "watch", "expect", "debug", "exit", "quit")

HELP = """\
Commands are the workbench's own, without the `workbench` word:
  raise EVENT field=value ...     new AGGREGATE field=value ...    call AGGREGATE ID METHOD [args]
  show AGGREGATE [ID]             streams [CATEGORY]               events read|search|history|trace|stats
  replay CATEGORY [--dry-run]     process | run                    subscriptions status
  dlq list|inspect|replay|replay-all|skip|purge|export             info [--mermaid]
  projection rebuild|status       publish STREAM JSON              query NAME field=value
  check idempotency|determinism   clock [advance 30s]              store check|repair
Shell commands:
  help [COMMAND]   this text, or one command's options
  py EXPR          evaluate Python with domain, repo(Agg) and every element in scope; `py` alone: >>> mode
  reload           re-import the domain file (the store is kept) and say what changed
  watch on|off     reload whenever the domain file is saved
  expect ...       check the store: Agg[field=value].field == V, Agg.count, events STREAM,
                   dlq [HANDLER], status HANDLER, lag HANDLER (operators == != >= <= > <)
  debug on|off     show tracebacks for errors
  exit             leave (or Ctrl-D); Ctrl-C cancels the line or a running replay
"""


@dataclass(frozen=True)
class Result:
    """What running one line did.

    Attributes:
        code: The exit code (0 ok, 1 failure, 2 usage ...; see :class:`ExitCode`).
        exit: The line asked to leave the session (``exit``/``quit``).
    """

    code: int = 0
    exit: bool = False
    more: bool = False  # a Python block is open: the next line continues it (prompt `... `)


class Interpreter:
    """Runs command lines, over one loaded session (shell, script) or none (one-shot)."""

    def __init__(self, session: Session | None = None, *, debug: bool = False) -> None:
        from typer.main import get_command
        from workbench.cli.main import app

        self.session = session
        self.debug = debug
        self.click_app = get_command(app)
        self.python_mode = False
        self._python_names: dict[str, Any] = {}
        self._python_lines: list[str] = []  # an open block in Python mode
        self.lock = threading.RLock()
        self._watcher: DomainFileWatcher | None = None
        # How the session words talk; the shell replaces it to print above its prompt.
        self.say: Callable[[str], None] = _print_line
        # How work started by a background thread (`watch`) runs; the shell runs it above its prompt.
        self.in_background: Callable[[Callable[[], None]], None] = _call

    # -- commands ---------------------------------------------------------------------

    def run_args(self, args: list[str], *, prog_name: str = "workbench") -> int:
        """Run one workbench command given as words; returns its exit code."""
        invocation = Invocation(
            debug=self.debug or bool(self.session and self.session.debug),
            deterministic=bool(self.session and self.session.deterministic),
            session=self.session,
        )
        with self.lock:
            try:
                result = self.click_app.main(args, prog_name=prog_name, standalone_mode=False, obj=invocation)
                return int(result or 0)
            except CommandLineError as exc:
                hint = ""
                ctx = getattr(exc, "ctx", None)
                if ctx is not None and getattr(exc, "exit_code", 2) == 2:
                    hint = f" (see `{ctx.command_path} --help`)"
                message = exc.format_message().rstrip(".") if hint else exc.format_message()
                line = f"error: {message}{hint}"
                if "--json" in args:  # scripts reading the envelope get one for a bad command line too
                    from workbench.cli.output import Output

                    command = ctx.command_path.removeprefix(prog_name).strip() if ctx is not None else ""
                    Output(json_mode=True).envelope(command, None, status="error", errors=[f"{message}{hint}"])
                else:
                    print(line, file=sys.stderr)
                return int(getattr(exc, "exit_code", ExitCode.USAGE) or ExitCode.USAGE)
            except typer.Abort:
                print("cancelled", file=sys.stderr)
                return int(ExitCode.FAILURE)
            except KeyboardInterrupt:
                print("cancelled", file=sys.stderr)
                return int(ExitCode.INTERRUPTED)
            except Exception as exc:  # raised outside a command body (an option callback ...)
                from workbench.cli.errors import classify, print_traceback

                problem = classify(exc)
                if invocation.debug:
                    print_traceback(exc)
                print(problem.line, file=sys.stderr)
                return int(problem.code)

    def execute(self, line: str) -> Result:
        """Run one line of the shell's language."""
        text = line.strip()
        if self.python_mode:
            if not self._python_lines and text in ("exit", "exit()", "quit", "quit()"):
                self.python_mode = False
                return Result()
            return self.python_line(line)
        if not text or text.startswith("#"):
            return Result()
        word, _, rest = text.partition(" ")
        rest = rest.strip()
        if word in ("exit", "quit"):
            return Result(exit=True)
        if word == "help":
            return Result(self.help(rest))
        if word == "py":
            if not rest:
                self.python_mode = True
                self.say("Python mode: domain, repo(Agg) and every element are in scope; `exit` or Ctrl-D to leave")
                return Result()
            return Result(self.python(rest))
        if word == "reload":
            return Result(self.reload())
        if word == "watch":
            return Result(self.watch(rest))
        if word == "expect":
            return Result(self.expect(rest))
        if word == "debug":
            self.debug = rest != "off"
            if self.session is not None:
                self.session.debug = self.debug
            self.say(f"debug {'on' if self.debug else 'off'}")
            return Result()
        return Result(self.command(text))

    def command(self, text: str) -> int:
        """Run a workbench command line (the words after ``workbench``)."""
        from workbench.cli.words import UnbalancedQuoteError, split_words

        try:
            args = split_words(text)
        except UnbalancedQuoteError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return int(ExitCode.USAGE)
        if args and args[0] == "workbench":
            args = args[1:]
        if args and args[0] in ("shell", "script") and self.session is not None:
            print(f"error: `{args[0]}` cannot run inside a session", file=sys.stderr)
            return int(ExitCode.USAGE)
        if args and not args[0].startswith("-") and args[0] not in self.command_names():
            close = difflib.get_close_matches(args[0], self.command_names(), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else "; `help` lists the commands"
            print(f"error: unknown command `{args[0]}`{hint}", file=sys.stderr)
            return int(ExitCode.USAGE)
        return self.run_args(args)

    def command_names(self) -> list[str]:
        """The top-level command names, with the session words when there is a session."""
        names = sorted(getattr(self.click_app, "commands", {}))
        return names + (list(SESSION_WORDS) if self.session is not None else [])

    def _report(self, exc: BaseException) -> None:
        from workbench.cli.errors import classify, print_traceback

        if self.debug:
            print_traceback(exc)
        print(classify(exc).line, file=sys.stderr)

    # -- session words ------------------------------------------------------------------

    def help(self, name: str) -> int:
        """The overview with every command, or one command's help (its options come from the CLI itself)."""
        if not name:
            self.say(HELP + "\nAll commands:\n" + "\n".join(self.command_summaries()))
            return 0
        return self.command(f"{name} --help")

    def command_summaries(self) -> list[str]:
        """``  name  first line of its help`` for every command and subcommand."""
        rows: list[tuple[str, str]] = []

        def walk(prefix: str, group: Any) -> None:
            for name, cmd in sorted(getattr(group, "commands", {}).items()):
                if getattr(cmd, "hidden", False):
                    continue
                full = f"{prefix}{name}"
                if getattr(cmd, "commands", None):
                    walk(f"{full} ", cmd)
                else:
                    rows.append((full, (cmd.help or "").strip().splitlines()[0] if cmd.help else ""))

        walk("", self.click_app)
        width = max(len(n) for n, _ in rows)
        return [f"  {n:<{width}}  {h}" for n, h in rows]

    def _domain(self) -> Any:
        if self.session is None or self.session.domain is None:
            raise RuntimeError("no session is loaded")
        return self.session.domain

    def namespace(self) -> dict[str, Any]:
        """What ``py`` sees: one namespace per session, the domain's names refreshed each time."""
        from workbench.core.context import current_domain

        assert self.session is not None
        domain = self._domain()
        names = self._python_names
        names.update(
            {
                "domain": domain,
                "current_domain": current_domain,
                "repo": domain.repository_for,
                "engine": self.session.engine,
            }
        )
        # Every kind of element the registry holds (commands, value objects, services ...).
        for table in vars(domain.registry).values():
            if isinstance(table, dict):
                names.update(table)
        return names

    def python_line(self, line: str) -> Result:
        """One line of ``>>>`` mode: blocks (``for``, ``def``, ``if``) continue until a blank line."""
        import codeop

        self._python_lines.append(line)
        source = "\n".join(self._python_lines)
        try:
            code = codeop.compile_command(source, "<workbench>", "single")
        except (SyntaxError, ValueError, OverflowError) as exc:
            self._python_lines.clear()
            self._report(exc)
            return Result(int(ExitCode.FAILURE))
        if code is None:
            return Result(more=True)
        self._python_lines.clear()
        return Result(self.python(source))

    def python(self, source: str) -> int:
        """Evaluate an expression (printing its value) or run a statement."""
        namespace = self.namespace()
        with self.lock, self._domain().domain_context():
            try:
                try:
                    code = compile(source, "<workbench>", "eval")
                except SyntaxError:
                    exec(compile(source, "<workbench>", "exec"), namespace)
                    return 0
                value = eval(code, namespace)
                if value is not None:
                    self.say(repr(value))
                return 0
            except Exception as exc:
                self._report(exc)
                return int(ExitCode.FAILURE)

    def expect(self, text: str) -> int:
        """Check a value in the store; print a readable diff when it does not hold."""
        from workbench.cli.expectations import evaluate

        assert self.session is not None
        with self.lock:
            try:
                outcome = evaluate(text, self._domain(), self.session.engine)
            except Exception as exc:
                self._report(exc)
                return int(ExitCode.USAGE)
        if outcome.held:
            self.say(f"ok: {outcome.subject} {outcome.op} {outcome.actual!r}")
            return 0
        print(f"FAILED: {outcome.explain()}", file=sys.stderr)
        return int(ExitCode.FAILURE)

    def reload(self) -> int:
        """Re-import the domain file onto the same store and report what changed."""
        from workbench.cli.reload import describe_changes
        from workbench.core.loader import load_domain

        assert self.session is not None
        with self.lock:
            old = self._domain()
            try:
                new = load_domain(self.session.settings.domain or "")
            except Exception as exc:
                self._report(exc)
                print("the previous domain stays loaded", file=sys.stderr)
                return int(ExitCode.USAGE)
            new.bind_store(old.store)
            if self.session.deterministic:  # keep counting ids and the virtual clock where they were
                new.identity_function, new.clock = old.identity_function, old.clock
            self.session.domain = new
            self.session._engine = None
        for line in describe_changes(old, new):
            self.say(line)
        return 0

    def watch(self, mode: str) -> int:
        """``watch on``: reload whenever the domain file is saved; ``watch off`` stops."""
        from workbench.cli.watcher import DomainFileWatcher

        if mode == "off":
            if self._watcher is not None:
                self._watcher.stop()
            self.say("watch off")
            return 0
        assert self.session is not None
        path = Path(self.session.settings.domain or "")
        if not path.is_file():
            print("error: watch needs a domain file, not a module", file=sys.stderr)
            return int(ExitCode.USAGE)
        if self._watcher is not None and self._watcher.running:
            self.say("already watching")
            return 0

        def reload_now() -> None:
            self.say(f"{path.name} changed; reloading")
            self.reload()

        # The reload runs through in_background: the shell prints it above its prompt.
        self._watcher = DomainFileWatcher(path, lambda: self.in_background(reload_now))
        self._watcher.start()
        self.say(f"watching {path}")
        return 0

    def close(self) -> None:
        """Stop watching and close the session's store."""
        if self._watcher is not None:
            self._watcher.stop()
        if self.session is not None:
            self.session.close()


def _call(work: Callable[[], None]) -> None:
    work()


def _print_line(text: str) -> None:
    print(text, flush=True)
