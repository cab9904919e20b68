"""A virtual clock: the domain's time, moved by hand, so retries can be shown and tested without sleeping.

The engine takes "now" from the domain (:meth:`workbench.core.domain.Domain.timestamp`):
the real clock by default, a :class:`VirtualClock` in scripts, ``--deterministic``
commands and the pytest plugin. A virtual clock only moves when told to
(``clock advance 30s`` in a script, ``clock.advance(30)`` in a test), plus one
microsecond per reading so that stored times stay strictly ordered.
"""

from __future__ import annotations

import datetime as dt
import re

from workbench.core.exceptions import IncorrectUsageError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


class VirtualClock:
    """A clock that stands still until :meth:`advance` moves it.

    Args:
        start: the time of the first reading (timezone-aware).
    """

    def __init__(self, start: dt.datetime) -> None:
        self.start = start
        self.offset = dt.timedelta(0)
        self._ticks = 0

    def __call__(self) -> dt.datetime:
        """Read the clock (each reading is a microsecond after the previous one)."""
        value = self.peek()
        self._ticks += 1
        return value

    def peek(self) -> dt.datetime:
        """The current time, without moving the clock (the engine's "is a retry due" check)."""
        return self.start + self.offset + dt.timedelta(microseconds=self._ticks)

    def advance(self, seconds: float) -> dt.datetime:
        """Move the clock forward by ``seconds``; returns the new time.

        Raises:
            IncorrectUsageError: ``seconds`` is negative (time never runs backwards).
        """
        if seconds < 0:
            raise IncorrectUsageError(f"the clock only moves forward, not by {seconds:g}s")
        self.offset += dt.timedelta(seconds=seconds)
        return self.peek()

    def __repr__(self) -> str:
        return f"<VirtualClock {self.peek().isoformat()}>"


def parse_duration(text: str) -> float:
    """Seconds in ``text``: ``30s``, ``250ms``, ``5m``, ``1h30m``, ``2d``, or a plain number of seconds.

    Raises:
        IncorrectUsageError: the text is not a duration.
    """
    value = text.strip().lower()
    try:
        return _check(float(value), text)
    except ValueError:
        pass
    parts = _DURATION.findall(value)
    if not value or "".join(n + u for n, u in parts) != value:
        raise IncorrectUsageError(f"`{text}` is not a duration (try 30s, 250ms, 5m, 1h30m, 2d)")
    return _check(sum(float(n) * _UNITS[u] for n, u in parts), text)


def _check(seconds: float, text: str) -> float:
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise IncorrectUsageError(f"`{text}` is not a duration (try 30s, 250ms, 5m, 1h30m, 2d)")
    return seconds
