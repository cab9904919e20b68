"""What processing did: counts per outcome and per handler (engine runs, replays, rebuilds)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Tally:
    """What processing did, per outcome."""

    delivered: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    dead_lettered: int = 0
    parked: int = 0
    by_handler: dict[str, dict[str, int]] = field(default_factory=dict)
    # Set when the operator stopped processing mid-message: which delivery was abandoned.
    interrupted: str | None = None

    def count(self, handler: str, outcome: str) -> None:
        """Add one ``outcome`` for ``handler``."""
        values = self.__dict__
        values[outcome] += 1
        row = self.by_handler.get(handler)
        if row is None:
            row = self.by_handler[handler] = {}
        row[outcome] = row.get(outcome, 0) + 1

    @property
    def handled(self) -> int:
        """Messages looked at, whatever the outcome."""
        return self.delivered + self.skipped + self.failed + self.parked
