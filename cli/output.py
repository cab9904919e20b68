"""How commands talk: rich for people, a versioned JSON envelope for scripts.

Data goes to stdout, errors, warnings and progress to stderr. ``NO_COLOR`` and
non-terminal output are respected (rich detects both).

The JSON envelope (``--json``), stable within a ``schema`` version::

    {"schema": "workbench/1", "command": "events read", "status": "ok" | "failure" | "error",
     "data": {...}, "errors": ["..."]}
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

SCHEMA = "workbench/1"


class Output:
    """Consoles and the JSON switch for one command."""

    def __init__(self, *, json_mode: bool = False) -> None:
        from rich.console import Console  # imported here: `workbench --help` does not need rich

        self.json_mode = json_mode
        self.out = Console(soft_wrap=False)
        if not self.out.is_terminal and "COLUMNS" not in os.environ:
            # Piped output has no width to follow; 80 columns squeezes ids and errors.
            self.out = Console(soft_wrap=False, width=120)
        self.err = Console(stderr=True)

    def envelope(self, command: str, data: Any, *, status: str = "ok", errors: list[str] | None = None) -> None:
        """Print the JSON envelope on stdout."""
        payload = {"schema": SCHEMA, "command": command, "status": status, "data": data, "errors": errors or []}
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
        sys.stdout.flush()

    def say(self, message: str) -> None:
        """Talk to the person on stderr (silent in JSON mode)."""
        if not self.json_mode:
            # soft_wrap: a long hint stays one line (terminals wrap it; pipes and logs keep it whole).
            self.err.print(message, soft_wrap=True)
