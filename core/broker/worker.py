"""A consumer-group worker: deliver, acknowledge, retry after a backoff, dead-letter, claim.

One :meth:`BrokerWorker.step` first claims the group's deliveries that have been pending
longer than ``retry_after_ms`` (its own failed deliveries waiting for a retry, and those of
a consumer that died mid-delivery), then reads new ones. A delivery whose handler returns is
acknowledged; one whose handler raises stays pending and is retried once it has been idle
for the backoff, until ``max_attempts`` deliveries have failed: then it moves to
``<stream>:dlq``. Handlers must be idempotent by message id (the engine makes them so by
committing the message id with the handler's effects), because a consumer killed after the
handler's commit and before its ack has its delivery claimed and run again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from workbench.core.broker.port import BrokerPort, Delivery


@dataclass
class WorkerTally:
    """What a worker did."""

    delivered: int = 0
    failed: int = 0
    dead_lettered: int = 0
    claimed: int = 0


class BrokerWorker:
    """Runs one handler on one stream as one consumer of a group."""

    def __init__(
        self,
        broker: BrokerPort,
        *,
        stream: str,
        group: str,
        consumer: str,
        handler: Callable[[Delivery], None],
        max_attempts: int = 3,
        retry_after_ms: int = 1000,
        batch: int = 10,
        backoff_ms: Callable[[int], int] | None = None,
    ) -> None:
        self.broker = broker
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.handler = handler
        self.max_attempts = max_attempts
        self.retry_after_ms = retry_after_ms
        self.batch = batch
        self.backoff_ms = backoff_ms
        self.tally = WorkerTally()
        broker.ensure_group(stream, group)

    def step(self, *, block_ms: int = 0) -> int:
        """Claim idle deliveries, read new ones, handle them all; return how many were handled."""
        claimed = self.broker.claim_idle(
            self.stream,
            self.group,
            self.consumer,
            min_idle_ms=self.retry_after_ms,
            count=self.batch,
            backoff_ms=self.backoff_ms,
        )
        self.tally.claimed += len(claimed)
        fresh = self.broker.consume(
            self.stream, self.group, self.consumer, count=self.batch, block_ms=0 if claimed else block_ms
        )
        for delivery in [*claimed, *fresh]:
            self._handle(delivery)
        return len(claimed) + len(fresh)

    def _handle(self, delivery: Delivery) -> None:
        try:
            self.handler(delivery)
        except Exception as exc:
            self.tally.failed += 1
            if delivery.attempts >= self.max_attempts:
                self.broker.dead_letter(delivery, self.group, reason=f"{type(exc).__name__}: {exc}")
                self.tally.dead_lettered += 1
            return
        self.broker.ack(self.stream, self.group, [delivery.entry_id])
        self.tally.delivered += 1
