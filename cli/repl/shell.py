"""The prompt-toolkit session: the same commands as the one-shot CLI, on one loaded domain."""

from __future__ import annotations

import os
import shlex
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

import typer
from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.patch_stdout import patch_stdout
from workbench.cli import session as sessions
from workbench.cli.repl.completion import WorkbenchCompleter, command_tree

try:  # Typer 0.26+ vendors click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer
    import click.exceptions as click_exceptions  # type: ignore[no-redef]

HELP = """\
Commands are the workbench's own, without the `workbench` word:
  raise EVENT field=value ...     new AGGREGATE field=value ...    call AGGREGATE ID METHOD [args]
  show AGGREGATE [ID]             streams [CATEGORY]               events read|search|history|trace|stats
  replay CATEGORY [--dry-run]     process | run                    subscriptions status
  dlq list|inspect|replay|replay-all|skip|purge|export            info [--mermaid]
  check idempotency|determinism   clock [advance 30s]
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


def history_path() -> Path:
    """Per-user history file under the XDG state directory."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "workbench" / "history"


class Shell:
    """One interactive session over a writable :class:`~workbench.cli.session.Session`."""

    def __init__(
        self, session: sessions.Session, *, input: Any = None, output: Any = None, history: History | None = None
    ) -> None:
        from typer.main import get_command
        from workbench.cli.main import app

        self.session = session
        self._input = input
        self.click_app = get_command(app)
        self.commands = command_tree(self.click_app)
        self.python_mode = False
        self._python_names: dict[str, Any] = {}
        self.lock = threading.RLock()
        self._watcher: threading.Thread | None = None
        self._watching = threading.Event()
        if history is None:
            path = history_path()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                history = FileHistory(str(path))
            except OSError:
                history = InMemoryHistory()
        self.prompt: PromptSession[str] = PromptSession(
            history=history,
            auto_suggest=AutoSuggestFromHistory(),
            completer=WorkbenchCompleter(self),
            complete_while_typing=False,
            enable_history_search=True,
            bottom_toolbar=self.toolbar,
            input=input,
            output=output,
        )

    @property
    def domain(self) -> Any:
        """The loaded domain."""
        return self.session.domain

    # -- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        """Prompt until Ctrl-D or ``exit``; the store is closed (and unlocked) on the way out."""
        sessions.ACTIVE = self.session
        try:
            # A fresh app session binds prompt_toolkit's output to the current stdout
            # (its default is cached process-wide from the first use).
            with create_app_session(input=self._input), patch_stdout(raw=True):
                while True:
                    try:
                        line = self.prompt.prompt(">>> " if self.python_mode else "workbench> ")
                    except KeyboardInterrupt:
                        continue
                    except EOFError:
                        if self.python_mode:
                            self.python_mode = False
                            continue
                        break
                    if self.execute(line) == "exit":
                        break
        finally:
            sessions.ACTIVE = None
            self._watching.clear()
            self.session.close()

    def execute(self, line: str) -> int | str:
        """Run one line; returns the exit code, or ``"exit"``."""
        text = line.strip()
        if self.python_mode:
            if text in ("exit", "exit()", "quit"):
                self.python_mode = False
                return 0
            return self.python(line)
        if not text or text.startswith("#"):
            return 0
        word, _, rest = text.partition(" ")
        if word in ("exit", "quit"):
            return "exit"
        if word == "help":
            return self.help(rest.strip())
        if word == "py":
            if not rest.strip():
                self.python_mode = True
                print("Python mode: domain, repo(Agg) and every element are in scope; `exit` or Ctrl-D to leave")
                return 0
            return self.python(rest)
        if word == "reload":
            return self.reload()
        if word == "watch":
            return self.watch(rest.strip())
        if word == "expect":
            return self.expect(rest)
        if word == "debug":
            self.session.debug = rest.strip() != "off"
            print(f"debug {'on' if self.session.debug else 'off'}")
            return 0
        return self.command(text)

    def command(self, text: str) -> int:
        """Run a workbench command through the very code the one-shot CLI runs."""
        try:
            args = shlex.split(text)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args and args[0] == "workbench":
            args = args[1:]
        if args and args[0] == "shell":
            print("error: already in the shell", file=sys.stderr)
            return 2
        with self.lock:
            previous, sessions.ACTIVE = sessions.ACTIVE, self.session
            try:
                from workbench.cli.main import Globals

                Globals.debug = self.session.debug
                result = self.click_app.main(args, prog_name="workbench", standalone_mode=False)
                return int(result or 0)
            except click_exceptions.ClickException as exc:
                print(f"error: {exc.format_message()}", file=sys.stderr)
                return 2
            except typer.Abort:
                print("cancelled", file=sys.stderr)
                return 1
            except KeyboardInterrupt:
                print("cancelled", file=sys.stderr)
                return 1
            except Exception as exc:  # an error in user code must not end the session
                self._report(exc)
                return 2
            finally:
                sessions.ACTIVE = previous

    def _report(self, exc: BaseException) -> None:
        if self.session.debug:
            traceback.print_exception(exc)
        else:
            from workbench.cli.main import describe_error

            print(f"error: {type(exc).__name__}: {describe_error(exc)}", file=sys.stderr)

    # -- shell commands ---------------------------------------------------------------

    def help(self, name: str) -> int:
        """The overview, or one command's help (its options come from the CLI itself)."""
        if not name:
            print(HELP)
            return 0
        return self.command(f"{name} --help")

    def namespace(self) -> dict[str, Any]:
        """What ``py`` sees."""
        from workbench.core.context import current_domain

        domain = self.domain
        # One namespace for the whole session, so `py x = ...` then `py x` works; the
        # domain's names are refreshed each time because `reload` replaces them.
        names = self._python_names
        names.update(
            {
                "domain": domain,
                "current_domain": current_domain,
                "repo": domain.repository_for,
                "engine": self.session.engine,
            }
        )
        names.update(domain.registry.aggregates)
        names.update(domain.registry.events)
        names.update(domain.registry.event_handlers)
        return names

    def python(self, source: str) -> int:
        """Evaluate an expression (printing its value) or run a statement."""
        namespace = self.namespace()
        with self.lock, self.domain.domain_context():
            try:
                try:
                    code = compile(source, "<workbench>", "eval")
                except SyntaxError:
                    exec(compile(source, "<workbench>", "exec"), namespace)
                    return 0
                value = eval(code, namespace)
                if value is not None:
                    print(repr(value))
                return 0
            except Exception as exc:
                self._report(exc)
                return 1

    def expect(self, text: str) -> int:
        """Check a value in the store; print a readable diff when it does not hold."""
        from workbench.cli.expectations import evaluate

        with self.lock:
            try:
                outcome = evaluate(text, self.domain, self.session.engine)
            except Exception as exc:
                self._report(exc)
                return 2
        if outcome.held:
            print(f"ok: {outcome.subject} {outcome.op} {outcome.actual!r}")
            return 0
        print(f"FAILED: {outcome.explain()}", file=sys.stderr)
        return 1

    def reload(self) -> int:
        """Re-import the domain file onto the same store and report what changed."""
        from workbench.core.loader import load_domain

        with self.lock:
            old = self.domain
            try:
                new = load_domain(self.session.settings.domain or "")
            except Exception as exc:
                self._report(exc)
                print("the previous domain stays loaded", file=sys.stderr)
                return 2
            new.bind_store(old.store)
            if self.session.deterministic:  # keep counting ids and the virtual clock where they were
                new.identity_function, new.clock = old.identity_function, old.clock
            self.session.domain = new
            self.session._engine = None
        for line in describe_changes(old, new):
            print(line)
        return 0

    def watch(self, mode: str) -> int:
        """``watch on``: reload whenever the domain file changes; ``watch off`` stops."""
        if mode == "off":
            self._watching.clear()
            print("watch off")
            return 0
        path = Path(self.session.settings.domain or "")
        if not path.is_file():
            print("error: watch needs a domain file, not a module", file=sys.stderr)
            return 2
        if self._watching.is_set():
            print("already watching")
            return 0
        self._watching.set()

        def loop() -> None:
            stamp = path.stat().st_mtime
            while self._watching.wait(0.5) and self._watching.is_set():
                try:
                    current = path.stat().st_mtime
                except OSError:
                    continue
                if current != stamp:
                    stamp = current
                    print(f"\n{path.name} changed; reloading")
                    self.reload()

        self._watcher = threading.Thread(target=loop, daemon=True, name="workbench-watch")
        self._watcher.start()
        print(f"watching {path}")
        return 0

    # -- toolbar ----------------------------------------------------------------------

    def toolbar(self) -> FormattedText:
        """Domain, store, mode, events stored, messages pending for async handlers, DLQ depth."""
        domain = self.domain
        if domain is None:
            return FormattedText([])
        try:
            status = self.session.engine.status()
        except Exception:  # the toolbar must never break the prompt
            status = []
        pending = sum(s.lag + s.pending for s in status if s.subscription_type == "stream" or s.lag)
        dlq = sum(s.dlq_depth for s in status)
        parts = [
            ("", f" {domain.name} "),
            ("", f"| {domain.store.location} "),
            ("", f"| {domain.config['event_processing']} "),
            ("", f"| {domain.store.event_count()} events "),
            ("", f"| {pending} pending "),
            ("bg:ansired fg:ansiwhite bold" if dlq else "", f"| DLQ {dlq} "),
        ]
        return FormattedText(parts)


def describe_changes(old: Any, new: Any) -> list[str]:
    """Lines saying which elements the reload added, removed or changed."""
    lines = []
    for kind in ("aggregates", "events", "event_handlers"):
        before, after = getattr(old.registry, kind), getattr(new.registry, kind)
        label = kind.replace("_", " ").rstrip("s")
        for name in after.keys() - before.keys():
            lines.append(f"+ {label} {name}")
        for name in before.keys() - after.keys():
            lines.append(f"- {label} {name}")
    for name, handler in new.registry.event_handlers.items():
        previous = old.registry.event_handlers.get(name)
        if previous is not None and previous._handlers != handler._handlers:
            lines.append(f"~ event handler {name}: methods {sorted(handler._handlers.items())}")
    return lines or ["reloaded; no elements added or removed"]
