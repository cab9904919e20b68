"""The async engine: delivers stored events to every subscribed handler.

Three ways to drive it, one call each: :meth:`Engine.process_until_idle`,
:meth:`Engine.process` (at most N messages) and :meth:`Engine.run` (until stopped by
Ctrl-C, SIGTERM or :meth:`Engine.stop`; the current message finishes and positions are
saved).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.core.exceptions import IncorrectUsageError
from workbench.core.subscription import CURSORS, DEAD_LETTERS, Subscription, Tally
from workbench.core.subscription_config import resolve

if TYPE_CHECKING:
    from workbench.core.domain import Domain


@dataclass
class SubscriptionStatus:
    """One subscription as ``workbench subscriptions status`` shows it."""

    handler: str
    subscription_type: str
    category: str
    position: int
    lag: int
    pending: int
    retries_due: int
    dlq_depth: int
    last_error: dict[str, Any] | None

    @property
    def state(self) -> str:
        """``ok``, ``lagging``, ``retrying`` or ``failing`` (dead letters waiting)."""
        if self.dlq_depth:
            return "failing"
        if self.pending:
            return "retrying"
        return "lagging" if self.lag else "ok"


class Engine:
    """Runs every event handler's subscription over the domain's store."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.subscriptions = [
            Subscription(domain, handler, handler.meta_.subscription or resolve(domain, handler), category=category)
            for handler in domain.registry.consumers
            for category in handler.meta_.stream_categories
        ]
        self._stop = threading.Event()

    def subscription(self, handler: str) -> Subscription:
        """The subscription of the handler class named ``handler``."""
        for subscription in self.subscriptions:
            if subscription.name == handler:
                return subscription
        known = ", ".join(s.name for s in self.subscriptions) or "none"
        # An unknown name the user typed: a usage error (the CLI never reads a KeyError as one).
        raise IncorrectUsageError(f"no event handler named {handler!r} (known: {known})")

    # -- driving ----------------------------------------------------------------------

    def process(self, limit: int | None = None, *, progress: Callable[[Tally], None] | None = None) -> Tally:
        """Process at most ``limit`` messages (all available ones when None), then save positions."""
        return self._drive(limit=limit, wait_for_retries=False, progress=progress)

    def process_until_idle(
        self,
        *,
        wait_for_retries: bool = True,
        max_wait_seconds: float = 60.0,
        progress: Callable[[Tally], None] | None = None,
    ) -> Tally:
        """Process until every subscription has caught up and no retry is due.

        Args:
            wait_for_retries: also wait (at most ``max_wait_seconds``) for retries that
                are scheduled later, so a run ends with every message delivered, dead-
                lettered or recorded as failed.
            max_wait_seconds: the longest wait for a scheduled retry.
            progress: called with the running tally after every tick.
        """
        return self._drive(limit=None, wait_for_retries=wait_for_retries, progress=progress, max_wait=max_wait_seconds)

    def run(self, *, poll_seconds: float | None = None, progress: Callable[[Tally], None] | None = None) -> Tally:
        """Process continuously until :meth:`stop`, SIGINT or SIGTERM; positions are saved on the way out."""
        self._stop.clear()
        poll = poll_seconds
        if poll is None:
            poll = min((s.config.blocking_timeout_ms for s in self.subscriptions), default=100) / 1000
        tally = Tally()
        with self._signals():
            try:
                while not self._stop.is_set():
                    if self._tick_all(tally, budget=None) == 0:
                        self._stop.wait(poll)
                    elif progress is not None:
                        progress(tally)
            finally:
                self.flush()
        return tally

    def stop(self) -> None:
        """Ask :meth:`run` (or a running process call) to finish the current message and return."""
        self._stop.set()

    @contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, lambda *_: self._stop.set())
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _drive(
        self,
        *,
        limit: int | None,
        wait_for_retries: bool,
        progress: Callable[[Tally], None] | None,
        max_wait: float = 0.0,
    ) -> Tally:
        tally = Tally()
        self._stop.clear()
        deadline = time.monotonic() + max_wait
        try:
            while not self._stop.is_set():
                budget = None if limit is None else limit - tally.handled
                if budget is not None and budget <= 0:
                    break
                if self._tick_all(tally, budget=budget):
                    if progress is not None:
                        progress(tally)
                    continue
                due = [d for d in (s.next_due() for s in self.subscriptions) if d is not None]
                if not (wait_for_retries and due) or time.monotonic() >= deadline:
                    break
                self._stop.wait(max(min(min(due) - time.time(), deadline - time.monotonic()), 0.0))
        finally:
            self.flush()
        return tally

    def _tick_all(self, tally: Tally, *, budget: int | None) -> int:
        done = 0
        for subscription in self.subscriptions:
            remaining = 1 << 62 if budget is None else budget - done
            if remaining <= 0:
                break
            done += subscription.tick(tally, budget=remaining, stopping=self._stop.is_set)
        return done

    def flush(self) -> None:
        """Save every subscription's cursor."""
        for subscription in self.subscriptions:
            subscription.flush()

    # -- reporting --------------------------------------------------------------------

    def status(self) -> list[SubscriptionStatus]:
        """Position, lag, retries and dead letters of every subscription."""
        store = self.domain.store
        now = time.time()
        rows = []
        for sub in self.subscriptions:
            pending = sub.pending()
            cursor = store.get(CURSORS, sub.name) or {}
            rows.append(
                SubscriptionStatus(
                    handler=sub.name,
                    subscription_type=sub.config.subscription_type,
                    category=sub.category,
                    position=sub.position,
                    lag=sub.lag(),
                    pending=len(pending),
                    retries_due=sum(1 for p in pending if p["due"] <= now),
                    dlq_depth=len(store.keys_where(DEAD_LETTERS, "handler", sub.name)),
                    last_error=cursor.get("last_error"),
                )
            )
        return rows
