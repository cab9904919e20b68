"""The shop from the spec: `Order` ships, `ManageInventory` keeps `Inventory` in step.

The domain classes are the spec's example unchanged, plus `OrderCancelled` and the
`restore_stock` handler from the spec's second example (with the two small methods they
need: `Order.cancel_order` and `Inventory.increase_stock`), and a read side: the
`OrderSummary` projection, its projector and the `OrdersByStatus` query.

Orders can also be placed and shipped through commands (`PlaceOrder`, `ShipOrder`),
which live in the `manage_order` stream and are handled by `ManageOrder`. The spec's
`EmailNotifications` handler (`source_stream="manage_order"`) writes a `Notification`
only for shipments that came through such a command.
"""

from protean import Domain, current_domain, handle, read
from protean.core.projector import on
from protean.fields import Identifier, Integer, String

domain = Domain()
domain.config["event_processing"] = "sync"
domain.config["command_processing"] = "sync"


@domain.event(part_of="Order")
class OrderShipped:
    order_id: Identifier(required=True)
    book_id: Identifier(required=True)
    quantity: Integer(required=True)
    total_amount: Integer(required=True)


@domain.event(part_of="Order")
class OrderCancelled:
    order_id: Identifier(required=True)
    book_id: Identifier(required=True)
    quantity: Integer(required=True)


@domain.aggregate
class Order:
    book_id: Identifier(required=True)
    quantity: Integer(required=True)
    total_amount: Integer(required=True)
    status: String(choices=["PENDING", "SHIPPED", "DELIVERED", "CANCELLED"], default="PENDING")

    def ship_order(self):
        self.status = "SHIPPED"

        self.raise_(  # (1)
            OrderShipped(
                order_id=self.id,
                book_id=self.book_id,
                quantity=self.quantity,
                total_amount=self.total_amount,
            )
        )

    def cancel_order(self):
        was_shipped = self.status == "SHIPPED"
        self.status = "CANCELLED"
        if was_shipped:
            self.raise_(OrderCancelled(order_id=self.id, book_id=self.book_id, quantity=self.quantity))


@domain.aggregate
class Inventory:
    book_id: Identifier(required=True)
    in_stock: Integer(required=True)

    def reduce_stock(self, quantity: int) -> None:
        self.in_stock -= quantity

    def increase_stock(self, quantity: int) -> None:
        self.in_stock += quantity


@domain.event_handler(part_of=Order)  # (2)
class ManageInventory:
    @handle(OrderShipped)
    def reduce_stock_level(self, event: OrderShipped):
        repo = domain.repository_for(Inventory)
        inventory = repo.find_by(book_id=event.book_id)

        inventory.reduce_stock(event.quantity)  # (3)

        repo.add(inventory)

    @handle(OrderCancelled)
    def restore_stock(self, event: OrderCancelled):
        repo = current_domain.repository_for(Inventory)
        inventory = repo.find_by(book_id=event.book_id)
        inventory.increase_stock(event.quantity)
        repo.add(inventory)


@domain.command(part_of=Order, stream_category="manage_order")
class PlaceOrder:
    book_id: Identifier(required=True)
    quantity: Integer(required=True)
    total_amount: Integer(required=True)


@domain.command(part_of=Order, stream_category="manage_order")
class ShipOrder:
    order_id: Identifier(required=True)


@domain.command_handler(part_of=Order)
class ManageOrder:
    @handle(PlaceOrder)
    def place(self, command: PlaceOrder):
        order = Order(book_id=command.book_id, quantity=command.quantity, total_amount=command.total_amount)
        current_domain.repository_for(Order).add(order)
        return order.id

    @handle(ShipOrder)
    def ship(self, command: ShipOrder):
        repo = current_domain.repository_for(Order)
        order = repo.get(command.order_id)
        order.ship_order()
        repo.add(order)


@domain.aggregate
class Notification:
    order_id: Identifier(required=True)
    message: String(max_length=200)


@domain.event_handler(
    part_of=Notification,
    stream_category="order",
    source_stream="manage_order",
)
class EmailNotifications:
    @handle(OrderShipped)
    def send_shipping_email(self, event: OrderShipped):
        # Only invoked when OrderShipped was triggered by a command
        # in the manage_order stream — not by a bulk import or replay.
        notification = Notification(order_id=event.order_id, message=f"{event.quantity} books are on their way")
        current_domain.repository_for(Notification).add(notification)


@domain.projection
class OrderSummary:
    order_id = Identifier(identifier=True)
    book_id = Identifier(required=True)
    quantity = Integer(required=True)
    status = String(max_length=20, required=True)


@domain.projector(projector_for=OrderSummary, aggregates=[Order])
class OrderSummaryProjector:
    @on(OrderShipped)
    def shipped(self, event: OrderShipped):
        # An upsert, so replaying history through the projector is harmless.
        repo = current_domain.repository_for(OrderSummary)
        found = repo.filter(order_id=event.order_id)
        summary = found[0] if found else OrderSummary(order_id=event.order_id, book_id=event.book_id,
                                                      quantity=event.quantity, status="SHIPPED")
        summary.status = "SHIPPED"
        repo.add(summary)

    @on(OrderCancelled)
    def cancelled(self, event: OrderCancelled):
        repo = current_domain.repository_for(OrderSummary)
        summary = repo.get(event.order_id)
        summary.status = "CANCELLED"
        repo.add(summary)


@domain.query(part_of=OrderSummary)
class OrdersByStatus:
    status = String(required=True)


@domain.query_handler(part_of=OrderSummary)
class OrderSummaryQueries:
    @read(OrdersByStatus)
    def by_status(self, query: OrdersByStatus):
        return current_domain.repository_for(OrderSummary).filter(status=query.status)


domain.init()
