"""The engine's link to a server broker: relay the outbox, then feed stream handlers.

When ``WORKBENCH_BROKER`` (or the domain's ``broker_url`` config) names a Redis server,
the handlers whose subscription type is ``stream`` are consumed from Redis Streams instead
of the store's cursors: each engine process is one consumer of each handler's group, so
several ``workbench run`` workers share the load and claim the pending entries of a
worker that died. Event-store handlers keep reading the store.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import uuid
from typing import TYPE_CHECKING

from workbench.core.broker import open_broker
from workbench.core.broker.delivery import BrokerSubscription
from workbench.core.broker.outbox import OutboxRelay
from workbench.core.broker.port import BrokerPort, DeadLetter, Delivery
from workbench.core.subscription_config import STREAM, resolve

if TYPE_CHECKING:
    from workbench.core.domain import Domain
    from workbench.core.subscription import Tally

BROKER_ENV = "WORKBENCH_BROKER"


def broker_url(domain: Domain) -> str | None:
    """The broker URL chosen for ``domain``: ``WORKBENCH_BROKER``, else its ``broker_url`` config."""
    chosen = os.environ.get(BROKER_ENV) or domain.config.get("broker_url")
    return str(chosen) if chosen and chosen != "embedded" else None


class BrokerFeed:
    """Relays a domain's events to a broker and runs its stream handlers as one consumer each."""

    def __init__(self, domain: Domain, broker: BrokerPort, *, consumer: str | None = None, claim_after_ms: int = 5000):
        self.domain = domain
        self.broker = broker
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.subscriptions = [
            BrokerSubscription(domain, handler, config, broker, consumer=self.consumer, claim_after_ms=claim_after_ms)
            for handler in domain.registry.consumers
            if (config := handler.meta_.subscription or resolve(domain, handler)).subscription_type == STREAM
            and len(handler.meta_.stream_categories) == 1
            and handler.meta_.stream_category != "$all"
        ]
        self.handlers = {s.handler for s in self.subscriptions}
        self.relay = OutboxRelay(domain.store, broker, categories={s.runner.category for s in self.subscriptions})

    def tick(self, tally: Tally | None = None) -> int:
        """Relay what the store committed since last time, then handle a batch per handler.

        Args:
            tally: the engine's tally, which gets each handler's delivered, failed and
                dead-lettered deliveries.
        """
        if not self.subscriptions:
            return 0
        done = self.relay.relay()
        for subscription in self.subscriptions:
            before = dataclasses.replace(subscription.worker.tally)
            done += subscription.step()
            if tally is not None:
                after = subscription.worker.tally
                for outcome in ("delivered", "failed", "dead_lettered"):
                    for _ in range(getattr(after, outcome) - getattr(before, outcome)):
                        tally.count(subscription.name, outcome)
        return done

    def next_due(self) -> float | None:
        """When to look again for this consumer's retries, as a domain timestamp (None: none pending).

        A failed delivery stays pending on the broker until it is claimed again after the idle
        timeout (or its backoff), so ``process`` waits for it as for the store's scheduled retries.
        """
        for subscription in self.subscriptions:
            summary = self.broker.summary(subscription.runner.category, subscription.name)
            if summary.pending.get(self.consumer):
                return self.domain.timestamp() + subscription.worker.retry_after_ms / 1000
        return None

    def status_rows(self) -> list[dict[str, object]]:
        """Per handler: the relay's position, the group's lag, pending entries per consumer, dead letters."""
        rows: list[dict[str, object]] = []
        position = self.relay.position
        for subscription in self.subscriptions:
            category = subscription.runner.category
            summary = self.broker.summary(category, subscription.name)
            dead = [d for d in self.broker.dead_letters(category) if d.info.get("consumer_group") == subscription.name]
            # Events committed and not yet relayed are lag too.
            unrelayed = self.domain.store.count_events(category, position=position + 1)
            rows.append(
                {
                    "handler": subscription.name,
                    "category": category,
                    "position": position,
                    "lag": (summary.lag or 0) + unrelayed,
                    "consumers": dict(summary.pending),
                    "dlq_depth": len(dead),
                }
            )
        return rows

    def dead_letter_rows(self) -> list[tuple[str, DeadLetter]]:
        """Each stream handler's entries of its ``<category>:dlq`` on the broker, oldest first.

        Returns:
            ``(handler name, dead letter)`` pairs; the dlq stream is shared by the category's
            groups, so each entry goes to the group that dead-lettered it.
        """
        rows = []
        for subscription in self.subscriptions:
            for letter in self.broker.dead_letters(subscription.runner.category):
                if letter.info.get("consumer_group") == subscription.name:
                    rows.append((subscription.name, letter))
        return rows

    def replay_dead_letter(self, handler: str, letter: DeadLetter) -> None:
        """Deliver a broker dead letter to its handler again, then delete it from the dlq stream.

        The delivery goes through the handler's receipt, so a letter whose effects were
        committed before (a replay interrupted before the delete) does not run twice.

        Raises:
            Exception: what the handler raised; the letter then stays on the dlq stream.
        """
        subscription = next(s for s in self.subscriptions if s.name == handler)
        stream = str(letter.info.get("original_stream") or subscription.runner.category)
        attempts = int(letter.info.get("retry_count") or 0) + 1
        delivery = Delivery(
            stream, str(letter.info.get("original_id", "")), letter.message_id, letter.payload, attempts
        )
        subscription.deliver(delivery)
        self.broker.remove_dead_letter(stream, letter.entry_id)

    def close(self) -> None:
        """Release the broker connection."""
        self.broker.close()


def broker_feed_for(domain: Domain) -> BrokerFeed | None:
    """A :class:`BrokerFeed` when a server broker is configured for ``domain``, else None."""
    url = broker_url(domain)
    if url is None or domain.config.get("event_processing") != "async":
        return None
    return BrokerFeed(domain, open_broker(url), claim_after_ms=int(os.environ.get("WORKBENCH_CLAIM_AFTER_MS", "5000")))
