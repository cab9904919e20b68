"""The prompt-toolkit shell: prompt, history, completion and toolbar around the one interpreter."""

from __future__ import annotations

import contextvars
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session, run_in_terminal
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from workbench.cli import session as sessions
from workbench.cli.interpreter import HELP, Interpreter
from workbench.cli.render import plural
from workbench.cli.repl.completion import WorkbenchCompleter, command_tree

__all__ = ["HELP", "Shell", "history_path"]


def history_path() -> Path:
    """Per-user history file under the XDG state directory."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "workbench" / "history"


class Shell:
    """One interactive session over a writable :class:`~workbench.cli.session.Session`."""

    def __init__(
        self, session: sessions.Session, *, input: Any = None, output: Any = None, history: History | None = None
    ) -> None:
        self.session = session
        self._input = input
        self.interpreter = Interpreter(session, debug=session.debug)
        self.interpreter.in_background = self.in_background
        self.click_app = self.interpreter.click_app
        self.commands = command_tree(self.click_app)
        self._running = False
        self._context = contextvars.copy_context()
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

    @property
    def python_mode(self) -> bool:
        """Whether lines are Python (after a bare ``py``)."""
        return self.interpreter.python_mode

    def in_background(self, work: Callable[[], None]) -> None:
        """Run ``work`` from a background thread (a ``watch`` reload) without writing over the prompt.

        While the prompt is drawn, the prompt's own loop runs it through ``run_in_terminal``:
        the prompt and toolbar are hidden, ``work`` prints, and they are drawn again below.
        """
        app = self.prompt.app
        loop = app.loop
        claim = threading.Lock()  # whoever takes it runs the work: the prompt's loop, or this thread
        if self._running and app.is_running and loop is not None:
            done = threading.Event()

            def in_terminal() -> None:
                if claim.acquire(blocking=False):
                    try:
                        work()
                    finally:
                        done.set()

            # In the shell's context: prompt_toolkit finds the running app through a context
            # variable, which this (watcher) thread does not have.
            loop.call_soon_threadsafe(lambda: run_in_terminal(in_terminal), context=self._context)
            # The prompt may end (a line was entered) before its loop gets to the work.
            while not done.wait(0.2):
                if not app.is_running and claim.acquire(blocking=False):
                    break
            else:
                return
        with self.interpreter.lock:
            work()

    # -- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        """Prompt until Ctrl-D or ``exit``; the store is closed (and unlocked) on the way out."""
        try:
            # A fresh app session binds prompt_toolkit's output to the current stdout
            # (its default is cached process-wide from the first use).
            # No patch_stdout: commands run while no prompt is drawn, so they write straight to
            # the terminal, in order, before the next prompt (a proxy flushed from another
            # thread could land on the line of the prompt drawn meanwhile). Background output
            # goes through in_background.
            with create_app_session(input=self._input):
                self._context = contextvars.copy_context()
                settings = self.session.settings
                print(
                    f"workbench shell on {settings.domain} ({settings.store or '.workbench'}); "
                    "`help` lists the commands, Tab completes, Ctrl-D leaves",
                    flush=True,
                )
                self._running = True
                while True:
                    try:
                        line = self.prompt.prompt(self._prompt_text())
                    except KeyboardInterrupt:
                        continue
                    except EOFError:
                        if self.python_mode:
                            self.interpreter.python_mode = False
                            self.interpreter._python_lines.clear()
                            continue
                        break
                    if self.execute(line) == "exit":
                        break
                    # Flush what the command printed before the next prompt is drawn, so
                    # output never lands on the line of an already drawn prompt.
                    sys.stdout.flush()
                    sys.stderr.flush()
        finally:
            self._running = False
            self.interpreter.close()

    def _prompt_text(self) -> str:
        if not self.python_mode:
            return "workbench> "
        return "... " if self.interpreter._python_lines else ">>> "

    def execute(self, line: str) -> int | str:
        """Run one line through the interpreter; returns the exit code, or ``"exit"``."""
        result = self.interpreter.execute(line)
        return "exit" if result.exit else result.code

    # -- toolbar ----------------------------------------------------------------------

    def toolbar(self) -> FormattedText:
        """Domain, store, mode, events stored, messages pending for async handlers, DLQ depth."""
        domain = self.domain
        if domain is None:
            return FormattedText([])
        try:
            # Show what other processes committed since the last prompt too.
            domain.store.refresh()
            status = self.session.engine.status()
        except Exception:  # the toolbar must never break the prompt
            status = []
        pending = sum(s.lag + s.pending for s in status if s.subscription_type == "stream" or s.lag)
        dlq = sum(s.dlq_depth for s in status)
        count = domain.store.event_count()
        parts = [
            ("", f" {domain.name} "),
            ("", f"| {domain.store.location} "),
            ("", f"| {domain.config['event_processing']} "),
            ("", f"| {count} {plural(count, 'event')} "),
            ("", f"| {pending} pending "),
            ("bg:ansired fg:ansiwhite bold" if dlq else "", f"| DLQ {dlq} "),
        ]
        return FormattedText(parts)
