"""The async engine: delivers stored events to every subscribed handler.

Three ways to drive it, one call each: :meth:`Engine.process_until_idle`,
:meth:`Engine.process` (at most N messages) and :meth:`Engine.run` (until stopped by
Ctrl-C, SIGTERM or :meth:`Engine.stop`; the current message finishes and positions are
saved).

Signals while driving (main thread only): the first SIGINT or SIGTERM asks for a clean
stop after the current message, even while a handler sleeps. A second one stops now:
:class:`ImmediateStop` is raised inside the handler, its unit of work rolls back, and the
message stays unacknowledged, so it is delivered again by the next run. Handlers never
see a ``KeyboardInterrupt`` from the operator, which is why anything they raise
themselves can be treated as their own failure.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.core.exceptions import ImmediateStop, IncorrectUsageError
from workbench.core.subscription import CURSORS, DEAD_LETTERS, Subscription, Tally
from workbench.core.subscription_config import resolve

if TYPE_CHECKING:
    from workbench.core.broker.feed import BrokerFeed
    from workbench.core.domain import Domain

log = logging.getLogger("workbench.engine")


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
    # Broker-fed handlers only: pending (delivered, unacknowledged) entries per consumer.
    consumers: dict[str, int] | None = None

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
        self._winding_down = False  # while unwinding an immediate stop and saving cursors
        # Set by use_broker(): stream handlers fed from a server broker instead of the store.
        self.broker_feed: BrokerFeed | None = None
        self._fed: set[type] = set()

    def use_broker(self, feed: BrokerFeed | None) -> None:
        """Feed the stream handlers of ``feed`` from its broker (None: every handler reads the store).

        Only engines that drive the real store take a broker: replays and rebuilds run their
        own engines on scratch copies, which must never publish to a shared broker.
        """
        self.broker_feed = feed
        self._fed = set(feed.handlers) if feed is not None else set()

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
        with self._driving(tally):
            while not self._stop.is_set():
                if self._tick_all(tally, budget=None) == 0:
                    self._stop.wait(poll)
                    # Other processes (the shell, one-shot commands) commit to this store too.
                    self.domain.store.refresh()
                elif progress is not None:
                    progress(tally)
        return tally

    def stop(self) -> None:
        """Ask :meth:`run` (or a running process call) to finish the current message and return."""
        self._stop.set()

    @contextmanager
    def stopping_on_signals(self) -> Iterator[None]:
        """Inside the block, the first SIGINT/SIGTERM sets the stop flag (see :meth:`stop`)
        and a second raises :class:`ImmediateStop`; outside the main thread it does nothing."""
        self._stop.clear()
        with self._signals():
            yield

    @property
    def stopping(self) -> bool:
        """True once a stop was asked for."""
        return self._stop.is_set()

    @contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._winding_down = False
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, self._on_signal)
        # A blocked signal mask is inherited from whatever started us (a supervisor, a test
        # runner, a shell script that blocked SIGINT): the stop signals would never arrive.
        mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, set(previous))
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    @contextmanager
    def _driving(self, tally: Tally) -> Iterator[None]:
        """Process inside the block with signals as :meth:`stopping_on_signals`; on the way out,
        note an immediate stop and save every cursor with further signals held off, so that an
        impatient third Ctrl-C cannot cut the saving short."""
        with self._signals():
            try:
                yield
            except ImmediateStop:
                self._note_interrupted(tally)
            finally:
                self._winding_down = True
                try:
                    self.flush()
                finally:
                    self._winding_down = False

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if not self._stop.is_set():
            self._stop.set()
            log.warning("stopping after the current message (%s again to stop now)", signal.Signals(signum).name)
            return
        if self._winding_down or self.domain.store.committing:
            # Never cut a commit or the final save in half: processing ends right after it.
            return
        self._winding_down = True  # set before raising, so a further signal cannot interrupt the unwinding
        raise ImmediateStop(signal.Signals(signum).name)

    def _note_interrupted(self, tally: Tally) -> None:
        busy = next((s for s in self.subscriptions if s.in_flight is not None), None)
        if busy is None:
            tally.interrupted = "stopped now"
            log.warning("stopped now")
            return
        message = busy.in_flight
        assert message is not None
        busy.in_flight = None
        tally.interrupted = f"{busy.name} on {message.type} ({message.id})"
        log.warning(
            "stopped now: %s was handling %s (%s); it was not acknowledged and will be delivered again",
            busy.name,
            message.type,
            message.id,
        )

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
        with self._driving(tally):
            while not self._stop.is_set():
                budget = None if limit is None else limit - tally.handled
                if budget is not None and budget <= 0:
                    break
                if self._tick_all(tally, budget=budget):
                    if progress is not None:
                        progress(tally)
                    continue
                due = [d for d in (s.next_due() for s in self.subscriptions) if d is not None]
                if self.broker_feed is not None and (broker_due := self.broker_feed.next_due()) is not None:
                    due.append(broker_due)  # retries pending on the broker count like the store's
                # A virtual clock does not move while we wait: `clock advance` moves it.
                if not (wait_for_retries and due) or self.domain.clock_is_virtual or time.monotonic() >= deadline:
                    break
                self._stop.wait(max(min(min(due) - self.domain.timestamp(), deadline - time.monotonic()), 0.0))
        return tally

    def _tick_all(self, tally: Tally, *, budget: int | None) -> int:
        done = 0 if self.broker_feed is None else self.broker_feed.tick(tally)
        for subscription in self.subscriptions:
            if subscription.handler in self._fed:
                continue
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
        now = self.domain.timestamp()
        rows = []
        for sub in self.subscriptions:
            if sub.handler in self._fed:
                continue  # its row comes from the broker below
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
        for row in self.broker_feed.status_rows() if self.broker_feed is not None else []:
            consumers: dict[str, int] = row["consumers"]  # type: ignore[assignment]
            rows.append(
                SubscriptionStatus(
                    handler=str(row["handler"]),
                    subscription_type="stream",
                    category=str(row["category"]),
                    position=int(row["position"]),  # type: ignore[call-overload]
                    lag=int(row["lag"]),  # type: ignore[call-overload]
                    pending=sum(consumers.values()),
                    retries_due=0,
                    dlq_depth=int(row["dlq_depth"]),  # type: ignore[call-overload]
                    last_error=None,
                    consumers=consumers,
                )
            )
        return rows
