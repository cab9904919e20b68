"""Notifications: a handler that listens to another aggregate's stream, filtered by origin.

`EmailNotifications` is part of `Notification` but listens to the `order` category, and
only to events whose origin is the `checkout` stream (`source_stream="checkout"`), so
orders shipped by a bulk import send no e-mail. It is replay-aware: when history is
replayed it records nothing and sends no second e-mail.
"""

from protean import Domain, current_domain, handle
from protean.fields import Identifier, Integer, String

domain = Domain(name="Notify")
domain.config["event_processing"] = "sync"


@domain.aggregate
class Order:
    customer = String(required=True)
    quantity = Integer(required=True)


@domain.event(part_of=Order)
class OrderShipped:
    order_id = Identifier(required=True)
    customer = String(required=True)


@domain.aggregate
class Notification:
    order_id = Identifier(required=True)
    recipient = String(required=True)
    subject = String(required=True)


@domain.event_handler(part_of=Notification, stream_category="order", source_stream="checkout")
class EmailNotifications:
    @handle(OrderShipped)
    def send_shipping_email(self, event: OrderShipped):
        if current_domain.is_replaying:
            return  # the customer already has this e-mail
        current_domain.repository_for(Notification).add(
            Notification(order_id=event.order_id, recipient=event.customer, subject="Your order has shipped")
        )
