"""Watching the domain file: one callback per save, however many writes the editor makes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

POLL_SECONDS = 0.5
SETTLE_SECONDS = 0.2


class DomainFileWatcher:
    """Polls a file in a daemon thread and calls ``on_change`` once per settled change.

    Editors save in several writes (truncate, write, rename), and a file's mtime may
    change without its content changing: the watcher compares content, and calls back
    only once the content has stayed the same for ``SETTLE_SECONDS``.
    """

    def __init__(self, path: Path, on_change: Callable[[], None]) -> None:
        self.path = path
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the polling thread is alive and not asked to stop."""
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> None:
        """Start polling (each start gets its own stop event, so a winding-down loop never restarts)."""
        self._stop.set()
        self._stop = stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(stop,), daemon=True, name="workbench-watch")
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (the thread ends within one poll)."""
        self._stop.set()

    def _loop(self, stop: threading.Event) -> None:
        stamp = _content(self.path)
        while not stop.wait(POLL_SECONDS):
            current = _content(self.path)
            if current is None or current == stamp:
                continue
            if stop.wait(SETTLE_SECONDS):
                break
            if _content(self.path) != current:
                continue  # still being written: look again at the next poll
            stamp = current
            self.on_change()


def _content(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
