"""Stream handlers fed by a broker: each delivery runs the handler once, however often it arrives.

A :class:`BrokerSubscription` consumes the handler's category from the broker as one
consumer of the group named after the handler. A delivery runs the handler in a unit of
work that also writes a *receipt* (``broker_receipts/<handler>|<event id>``, which must not
exist yet) in the same commit; the broker entry is acknowledged afterwards. So:

* a consumer killed before its commit left nothing: the entry stays pending, a live
  consumer claims it after the idle timeout and runs the handler;
* a consumer killed after its commit and before its ack left a receipt: whoever claims the
  entry finds the receipt and only acknowledges it;
* two consumers racing on one entry both try to write the receipt: one commit wins, the
  other is rejected with its effects and just acknowledges.

Failures are retried after the backoff and dead-lettered on ``<category>:dlq`` after
``max_retries`` attempts (see :class:`~workbench.core.broker.worker.BrokerWorker`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.core.broker.port import BrokerPort, Delivery
from workbench.core.broker.worker import BrokerWorker
from workbench.core.dispatch import call_handle_error
from workbench.core.exceptions import ExpectedVersionError
from workbench.core.message import Message
from workbench.core.store import DocumentChange
from workbench.core.subscription import Subscription
from workbench.core.subscription_config import SubscriptionConfig

if TYPE_CHECKING:
    from workbench.core.domain import Domain

RECEIPTS = "broker_receipts"


class BrokerSubscription:
    """One handler class consuming its category from a broker as one consumer of its group."""

    def __init__(
        self,
        domain: Domain,
        handler: type,
        config: SubscriptionConfig,
        broker: BrokerPort,
        *,
        consumer: str,
        claim_after_ms: int = 5000,
    ) -> None:
        self.domain = domain
        self.handler = handler
        self.runner = Subscription(domain, handler, config)
        self.name = self.runner.name
        self.worker = BrokerWorker(
            broker,
            stream=self.runner.category,
            group=self.name,
            consumer=consumer,
            handler=self._deliver,
            max_attempts=max(config.max_retries, 1),
            retry_after_ms=claim_after_ms,
            backoff_ms=self.backoff_ms,
        )

    def step(self, *, block_ms: int = 0) -> int:
        """Claim idle entries and read new ones; handle each; return how many were looked at."""
        return self.worker.step(block_ms=block_ms)

    def backoff_ms(self, deliveries: int) -> int:
        """Milliseconds an entry delivered ``deliveries`` times waits before its next attempt.

        Redis cannot tell a failed delivery from one whose consumer died, so the first retry
        waits just the claim timeout (a dead consumer's entries are taken over that soon); each
        later one waits the embedded engine's schedule (``retry_delay_seconds`` doubled per
        failed attempt), with the claim timeout as the floor.
        """
        return round(self.runner.config.retry_delay(deliveries - 1) * 1000) if deliveries > 1 else 0

    def _receipt(self, message_id: str) -> DocumentChange:
        key = f"{self.name}|{message_id}"
        return DocumentChange(RECEIPTS, "id", key, {"id": key, "handler": self.name, "message_id": message_id}, -1)

    def deliver(self, delivery: Delivery) -> None:
        """Run the handler on one delivery unless its receipt says it ran; raise what it raised."""
        self._deliver(delivery)

    def _deliver(self, delivery: Delivery) -> None:
        record = delivery.payload
        if not (record.get("metadata") or {}).get("asynchronous"):
            return  # a sync-processing domain ran its handlers when the event was raised
        if not self.handler.methods_for(record["type"]):  # type: ignore[attr-defined]
            return
        if not self.domain.origin_matches(self.handler, record):
            return
        receipt = self._receipt(record["id"])
        if self.domain.store.get(RECEIPTS, receipt.key) is not None:
            return  # handled before; the ack was lost
        message = Message(record)
        error = self.runner.attempt(message, [receipt])
        if error is None or (isinstance(error, ExpectedVersionError) and self._receipted(receipt)):
            return
        call_handle_error(self.handler, error, message)
        if not isinstance(error, Exception):  # sys.exit() in a handler fails the delivery, not the worker
            raise RuntimeError(f"{type(error).__name__}: {error}") from error
        raise error

    def _receipted(self, receipt: DocumentChange) -> bool:
        self.domain.store.refresh()
        return self.domain.store.get(RECEIPTS, receipt.key) is not None
