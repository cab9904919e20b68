"""Progress on stderr, and Ctrl-C that stops long work between messages."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def progress_bar(out: Any, description: str) -> Iterator[Callable[[int, int], None]]:
    """Yield ``update(done, total)``; draws a rich progress bar on stderr for people."""
    if out.json_mode or not out.err.is_terminal:
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=out.err,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@contextmanager
def interruptible() -> Iterator[Callable[[], bool]]:
    """Yield ``should_stop()``; the first Ctrl-C asks the work to stop after the current message."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop.is_set
        return
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum: int, frame: Any) -> None:
        if stop.is_set():
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield stop.is_set
    finally:
        signal.signal(signal.SIGINT, previous)
