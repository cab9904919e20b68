"""The shop sample, tested with the workbench's pytest plugin (installing workbench is enough)."""

import pytest

pytestmark = pytest.mark.workbench(domain="../domain.py")


def test_shipping_an_order_reduces_the_stock(workbench_domain):
    Inventory, Order = workbench_domain["Inventory"], workbench_domain["Order"]
    order = Order(book_id="book-1", quantity=10, total_amount=100)
    workbench_domain.given(Inventory(book_id="book-1", in_stock=100), order)

    outcome = workbench_domain.when(
        workbench_domain["OrderShipped"](order_id=order.id, book_id="book-1", quantity=10, total_amount=100),
        aggregate_id=order.id,
    )

    outcome.then_succeeded("ManageInventory", "OrderSummaryProjector").then_raised()
    workbench_domain.then(Inventory, book_id="book-1", in_stock=90)
    workbench_domain.then("OrderSummary", order.id, status="SHIPPED")


def test_cancelling_a_shipped_order_restores_the_stock(workbench_domain):
    Inventory, Order = workbench_domain["Inventory"], workbench_domain["Order"]
    order = Order(book_id="book-1", quantity=10, total_amount=100)
    workbench_domain.given(Inventory(book_id="book-1", in_stock=100), order)
    order.ship_order()
    workbench_domain.given(order)
    workbench_domain.then(Inventory, book_id="book-1", in_stock=90)

    order.cancel_order()
    workbench_domain.given(order)

    workbench_domain.then(Inventory, book_id="book-1", in_stock=100)
    workbench_domain.then("OrderSummary", order.id, status="CANCELLED")


def test_shipping_a_book_nobody_stocks_fails_the_handler(workbench_domain):
    outcome = workbench_domain.when(
        workbench_domain["OrderShipped"](order_id="o-1", book_id="unknown", quantity=1, total_amount=5)
    )
    outcome.then_failed("ManageInventory", "ObjectNotFoundError").then_succeeded("OrderSummaryProjector")


@pytest.mark.workbench(domain="../domain.py", processing="async")
def test_the_same_flow_with_async_processing(workbench_domain):
    Inventory = workbench_domain["Inventory"]
    workbench_domain.given(Inventory(book_id="book-1", in_stock=100))
    outcome = workbench_domain.when(
        workbench_domain["OrderShipped"](order_id="o-1", book_id="book-1", quantity=3, total_amount=30)
    )
    outcome.then_succeeded("ManageInventory")
    workbench_domain.then(Inventory, book_id="book-1", in_stock=97)
    assert workbench_domain.dead_letters() == []
