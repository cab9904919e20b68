"""Exit codes of every workbench command, in one place."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What a workbench process tells its caller."""

    OK = 0
    FAILURE = 1  # the command ran and found a failure (a handler error), or the user's code raised
    USAGE = 2  # bad arguments, a broken domain file, an unusable store
    INTERNAL = 70  # a bug in the workbench itself (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
