"""Dead letters grouped by failure fingerprint, so a thousand with one cause read as one line.

A fingerprint is the handler, the exception type and the innermost frame of *user*
code in the traceback (the domain file's function and line, not the engine's or the
standard library's). Groups are numbered by when they first failed, oldest first, so
``dlq replay-all --group 2`` names the same group as the ``dlq list --group`` before it.
"""

from __future__ import annotations

import importlib.util
import re
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.core.dead_letters import DeadLetter, ReplayResult, all_dead_letters, replay_entry
from workbench.core.exceptions import IncorrectUsageError
from workbench.core.subscription import Tally

if TYPE_CHECKING:
    from workbench.core.engine import Engine

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>.+)$', re.MULTILINE)


def _library_roots() -> tuple[str, ...]:
    """Folders whose frames are not user code: the workbench itself, the stdlib, installed packages."""
    roots = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    for package in ("workbench", "workbench.core", "workbench.cli"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            roots.update(spec.submodule_search_locations)
    return tuple(str(Path(root).resolve()) + "/" for root in roots)


_ROOTS: tuple[str, ...] | None = None


def user_frame(traceback_text: str) -> str:
    """``domain.py:73 in post``: the innermost traceback frame outside the workbench and libraries.

    Falls back to the innermost frame of all when every frame is library code, and to
    ``""`` when the text holds no frames.
    """
    global _ROOTS
    if _ROOTS is None:
        _ROOTS = _library_roots()
    frames = list(_FRAME.finditer(traceback_text))
    if not frames:
        return ""
    chosen = frames[-1]
    for frame in reversed(frames):
        file = frame["file"]
        if not file.startswith("<") and not str(Path(file).resolve()).startswith(_ROOTS):
            chosen = frame
            break
    return f"{Path(chosen['file']).name}:{chosen['line']} in {chosen['func']}"


@dataclass
class DeadLetterGroup:
    """Dead letters with one fingerprint."""

    number: int
    handler: str
    error_type: str
    frame: str
    entries: list[DeadLetter] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many dead letters share the fingerprint."""
        return len(self.entries)

    @property
    def first_seen(self) -> str:
        """When the earliest of them first failed."""
        return min(e.first_failed_at for e in self.entries)

    @property
    def last_seen(self) -> str:
        """When the latest of them last failed."""
        return max(e.last_failed_at for e in self.entries)

    @property
    def example(self) -> str:
        """The error text of the most recent failure."""
        return max(self.entries, key=lambda e: e.last_failed_at).error

    def to_dict(self) -> dict[str, object]:
        """JSON form (entry ids, not whole entries)."""
        return {
            "group": self.number,
            "handler": self.handler,
            "error_type": self.error_type,
            "frame": self.frame,
            "count": self.count,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "example": self.example,
            "ids": [e.id for e in self.entries],
        }


def group_dead_letters(
    engine: Engine, *, handler: str | None = None, category: str | None = None
) -> list[DeadLetterGroup]:
    """The matching dead letters grouped by fingerprint, numbered oldest group first."""
    groups: dict[tuple[str, str, str], DeadLetterGroup] = {}
    for entry in all_dead_letters(engine, handler=handler, category=category):
        # A broker dead letter has no traceback: its fingerprint is the handler and the error type.
        key = (entry.handler, entry.error_type, user_frame(entry.traceback))
        group = groups.get(key)
        if group is None:
            group = groups[key] = DeadLetterGroup(0, *key)
        group.entries.append(entry)
    ordered = sorted(groups.values(), key=lambda g: (g.first_seen, g.handler, g.error_type, g.frame))
    for number, group in enumerate(ordered, 1):
        group.number = number
    return ordered


def get_group(
    engine: Engine, number: int, *, handler: str | None = None, category: str | None = None
) -> DeadLetterGroup:
    """Group ``number`` as :func:`group_dead_letters` numbers it.

    Raises:
        IncorrectUsageError: there is no such group.
    """
    groups = group_dead_letters(engine, handler=handler, category=category)
    if not 1 <= number <= len(groups):
        known = f"1..{len(groups)}" if groups else "none: there are no dead letters"
        raise IncorrectUsageError(f"no dead-letter group {number} (groups: {known})")
    return groups[number - 1]


def replay_group(engine: Engine, group: DeadLetterGroup, *, limit: int | None = None) -> list[ReplayResult]:
    """Replay one group's dead letters, oldest first (as :func:`~workbench.core.dead_letters.replay_all`)."""
    results = []
    tally = Tally()
    for entry in group.entries[:limit]:
        result = replay_entry(engine, entry, tally)  # None: released by an earlier replay of its stream's head
        if result is not None:
            results.append(result)
    return results
