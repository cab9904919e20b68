"""Exit codes of every workbench command, in one place."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What a workbench process tells its caller."""

    OK = 0
    FAILURE = 1  # the command ran and found a failure (e.g. a handler error)
    USAGE = 2  # bad arguments, a broken domain file, an unusable store
