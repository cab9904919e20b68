"""Payments: an async handler that fails on some inputs, with retries and a sequenced DLQ.

`PostToLedger` refuses payments above the `limits` policy (1,000 until one is saved).
Refused payments are retried, then dead-lettered; later payments of the same account
wait behind them (`dlq_ordering="sequenced"`). Raising the limit "fixes" the handler,
and `workbench dlq replay-all` posts them, in order. `GatewayCallbacks` subscribes to
the `payments-gateway` broker stream and turns the gateway's raw callbacks into payments.
"""

import logging

from protean import Domain, current_domain, handle
from protean.fields import Identifier, Integer, String

log = logging.getLogger("payments")

domain = Domain(name="Payments")
domain.config["event_processing"] = "async"


@domain.aggregate
class Payment:
    account = Identifier(required=True)
    amount = Integer(required=True, min_value=1)

    def receive(self):
        self.raise_(PaymentReceived(account=self.account, amount=self.amount))


@domain.event(part_of=Payment)
class PaymentReceived:
    account = Identifier(required=True)
    amount = Integer(required=True)


@domain.subscriber(stream="payments-gateway")
class GatewayCallbacks:
    """The payment gateway's callbacks arrive as raw dicts; turn them into our own event."""

    def __call__(self, payload: dict):
        if payload.get("status") != "captured":
            return  # authorisations and refunds are not ours to post
        payment = Payment(account=payload["account"], amount=payload["amount"])
        payment.receive()
        current_domain.repository_for(Payment).add(payment)


@domain.aggregate
class Account:
    name = Identifier(required=True, unique=True)
    balance = Integer(default=0)


@domain.aggregate
class Policy:
    name = String(required=True, unique=True)
    max_amount = Integer(required=True, min_value=0)

    def raise_limit(self, max_amount):
        self.max_amount = max_amount


@domain.event_handler(
    part_of=Account,
    stream_category="payment",
    subscription_type="stream",
    subscription_config={"max_retries": 3, "retry_delay_seconds": 0, "enable_dlq": True, "dlq_ordering": "sequenced"},
)
class PostToLedger:
    @handle(PaymentReceived)
    def post(self, event):
        policies = current_domain.repository_for(Policy).filter(name="limits")
        limit = policies[0].max_amount if policies else 1000
        if event.amount > limit:
            raise ValueError(f"amount {event.amount} exceeds the limit of {limit}")
        accounts = current_domain.repository_for(Account)
        found = accounts.filter(name=event.account)
        account = found[0] if found else Account(name=event.account)
        account.balance += event.amount
        accounts.add(account)

    @classmethod
    def handle_error(cls, exc, message):
        log.warning("could not post %s: %s", message.type, exc)
