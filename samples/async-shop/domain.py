"""The shop, processed asynchronously, with a handler per subscription profile.

Saving stores the events and returns; `workbench process` (or `run`) delivers them.
"""

from protean import Domain, current_domain, handle
from protean.fields import Identifier, Integer, String

domain = Domain(name="AsyncShop")
domain.config["event_processing"] = "async"
domain.config["server"] = {"subscriptions": {"Analytics": {"profile": "batch", "retry_delay_seconds": 0}}}


@domain.aggregate
class Order:
    book_id = Identifier(required=True)
    quantity = Integer(required=True)
    status = String(choices=["PENDING", "SHIPPED"], default="PENDING")

    def ship_order(self):
        self.status = "SHIPPED"
        self.raise_(OrderShipped(order_id=self.id, book_id=self.book_id, quantity=self.quantity))


@domain.event(part_of=Order)
class OrderShipped:
    order_id = Identifier(required=True)
    book_id = Identifier(required=True)
    quantity = Integer(required=True)


@domain.aggregate
class Inventory:
    book_id = Identifier(required=True, unique=True)
    in_stock = Integer(required=True)


@domain.aggregate
class BookSales:
    book_id = Identifier(required=True, unique=True)
    sold = Integer(default=0)


@domain.event_handler(part_of=Inventory, stream_category="order", subscription_profile="production",
                      subscription_config={"retry_delay_seconds": 0})
class ManageInventory:
    @handle(OrderShipped)
    def reduce_stock(self, event):
        repo = current_domain.repository_for(Inventory)
        inventory = repo.find_by(book_id=event.book_id)
        inventory.in_stock -= event.quantity
        repo.add(inventory)


@domain.event_handler(part_of=BookSales, stream_category="order")
class Analytics:
    @handle(OrderShipped)
    def count_sale(self, event):
        repo = current_domain.repository_for(BookSales)
        found = repo.filter(book_id=event.book_id)
        sales = found[0] if found else BookSales(book_id=event.book_id)
        sales.sold += event.quantity
        repo.add(sales)


@domain.event_handler(part_of=Order, subscription_profile="projection")
class ShippingLog:
    @handle(OrderShipped)
    def note(self, event):
        pass
