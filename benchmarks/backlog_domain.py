"""The benchmarks' domain: orders shipped, and three handlers that each find_by and save.

Loadable as a domain file (``workbench --domain benchmarks/backlog_domain.py``).
"""

from __future__ import annotations

from workbench.core import Domain, handle
from workbench.core.fields import Identifier, Integer

BOOKS = 1000


def build_domain() -> Domain:
    domain = Domain(name="Backlog")
    domain.config["event_processing"] = "async"

    @domain.aggregate
    class Order:
        book_id = Identifier(required=True)

    @domain.event(part_of=Order)
    class OrderShipped:
        book_id = Identifier(required=True)
        quantity = Integer(required=True)

    for name in ["Stock", "Sales", "Audit"]:
        fields = {"book_id": Identifier(required=True), "total": Integer(default=0)}
        aggregate = domain.aggregate(type(name, (), fields))
        domain.event_handler(_handler_for(domain, aggregate, OrderShipped), part_of=aggregate, stream_category="order")
    domain.init()
    return domain


def _handler_for(domain: Domain, aggregate: type, event_cls: type) -> type:
    class Handler:
        @handle(event_cls)
        def on_shipped(self, event):
            repo = domain.repository_for(aggregate)
            row = repo.find_by(book_id=event.book_id)
            row.total += event.quantity
            repo.add(row)

    Handler.__name__ = Handler.__qualname__ = f"{aggregate.__name__}Handler"
    return Handler


def fill(domain: Domain, n: int) -> None:
    Order = domain.registry.aggregates["Order"]
    OrderShipped = domain.registry.events["OrderShipped"]
    with domain.domain_context():
        for name in ["Stock", "Sales", "Audit"]:
            repo = domain.repository_for(name)
            for b in range(BOOKS):
                repo.add(domain.registry.aggregates[name](book_id=f"book-{b}"))
        for i in range(n):
            order = Order(book_id=f"book-{i % BOOKS}")
            order.raise_(OrderShipped(book_id=order.book_id, quantity=1))
            domain.repository_for(Order).add(order)


domain = build_domain()
