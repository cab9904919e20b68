"""Per-invocation state: the options given before the command, and the session to reuse.

One :class:`Invocation` is made for every command line that runs (a one-shot
``workbench ...``, one shell line, one script line) and travels in click's context
object (``ctx.obj``), so nothing about one command leaks into the next through module
globals.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.cli.session import Session


@dataclass
class Invocation:
    """What one command line runs with.

    Attributes:
        debug: Show tracebacks for errors (``--debug``, or ``debug on`` in the shell).
        deterministic: Fixed ids and times (``--deterministic``/``WORKBENCH_DETERMINISTIC=1``).
        domain: ``--domain`` given before the command.
        store: ``--store`` given before the command.
        session: A session already loaded by the shell or a script; commands reuse it
            instead of loading the domain themselves (and then own nothing to close).
    """

    debug: bool = False
    deterministic: bool = False
    domain: str | None = None
    store: str | None = None
    session: Session | None = None

    def apply_root_options(self, *, debug: bool, deterministic: bool, domain: str | None, store: str | None) -> None:
        """Merge the options given before the command (they only ever switch things on)."""
        self.debug = self.debug or debug
        self.deterministic = self.deterministic or deterministic or os.environ.get("WORKBENCH_DETERMINISTIC") == "1"
        self.domain = domain if domain is not None else self.domain
        self.store = store if store is not None else self.store
