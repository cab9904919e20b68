"""The unit of work's identity map: reads inside a unit of work see its own pending writes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from workbench.core import Domain, UnitOfWork, handle
from workbench.core.exceptions import ExpectedVersionError
from workbench.core.fields import Identifier, Integer
from workbench.core.store import open_store


def warehouse(store):
    domain = Domain(name="Warehouse")
    domain.config["event_processing"] = "sync"

    @domain.event(part_of="Order")
    class OrderPlaced:
        order_id = Identifier(required=True)
        lines = Integer(required=True)

    @domain.aggregate
    class Order:
        book_id = Identifier(required=True)
        lines = Integer(required=True)

        def place(self):
            self.raise_(OrderPlaced(order_id=self.id, lines=self.lines))

    @domain.aggregate
    class Inventory:
        book_id = Identifier(identifier=True)
        in_stock = Integer(required=True)

    @domain.aggregate
    class Receipt:
        order_id = Identifier(identifier=True)
        note = Integer()

    @domain.event_handler(part_of=Order)
    class ReduceStockPerLine:
        @handle(OrderPlaced)
        def reduce(self, event):
            repo = domain.repository_for(Inventory)
            for _ in range(event.lines):  # one load per order line, as a naive handler would
                inventory = repo.get("b1")
                inventory.in_stock -= 4
                repo.add(inventory)

    @domain.event_handler(part_of=Order)
    class CreateThenFind:
        @handle(OrderPlaced)
        def receipt(self, event):
            receipts = domain.repository_for(Receipt)
            receipts.add(Receipt(order_id=event.order_id, note=1))
            found = receipts.get(event.order_id)
            found.note = 2
            receipts.add(found)

    domain.init()
    domain.bind_store(store)
    return domain, Order, Inventory, Receipt


def test_handler_reloading_one_aggregate_keeps_every_reduction(store_dir):
    domain, Order, Inventory, Receipt = warehouse(open_store(store_dir))
    with domain.domain_context():
        domain.repository_for(Inventory).add(Inventory(book_id="b1", in_stock=89))
        order = Order(book_id="b1", lines=3)
        order.place()
        domain.repository_for(Order).add(order)
    domain.close()
    reopened, _, Inventory, Receipt = warehouse(open_store(store_dir))
    with reopened.domain_context():
        assert reopened.repository_for(Inventory).get("b1").in_stock == 77  # 89 - 3 * 4, not 85
        assert reopened.repository_for(Receipt).get(order.id).note == 2
    reopened.close()


def test_reads_inside_a_unit_of_work_see_pending_adds_and_changes():
    domain, _, Inventory, _ = warehouse(open_store(None))
    repo = domain.repository_for(Inventory)
    with domain.domain_context():
        repo.add(Inventory(book_id="b1", in_stock=5))
        with UnitOfWork(domain):
            repo.add(Inventory(book_id="b2", in_stock=7))
            first = repo.get("b1")
            first.in_stock = 50
            repo.add(first)
            assert repo.get("b1") is first
            assert repo.get("b2").in_stock == 7
            assert repo.find_by(in_stock=50) is first
            assert repo.exists(book_id="b2")
            assert repo.count() == 2
            assert {i.book_id for i in repo.filter(in_stock__gt=6)} == {"b1", "b2"}
            assert repo.query.filter(in_stock=5).count() == 0  # the committed value is no longer current
        assert repo.get("b1").in_stock == 50


def test_a_rolled_back_unit_of_work_leaves_nothing_visible():
    domain, _, Inventory, _ = warehouse(open_store(None))
    repo = domain.repository_for(Inventory)
    with domain.domain_context():
        with pytest.raises(RuntimeError), UnitOfWork(domain):
            repo.add(Inventory(book_id="b9", in_stock=1))
            assert repo.get_or_none("b9") is not None
            raise RuntimeError("boom")
        assert repo.get_or_none("b9") is None
        assert repo.count() == 0


def test_a_stale_re_read_never_replaces_the_modified_copy():
    domain, _, Inventory, _ = warehouse(open_store(None))
    repo = domain.repository_for(Inventory)
    with domain.domain_context():
        repo.add(Inventory(book_id="b1", in_stock=10))
        stale = repo.get("b1")  # read before the unit of work: not the unit's copy
        with UnitOfWork(domain):
            current = repo.get("b1")
            current.in_stock = 3
            repo.add(current)
            repo.add(stale)  # unchanged: must not undo the change above
        assert repo.get("b1").in_stock == 3


def test_two_changed_copies_of_one_aggregate_are_refused_not_lost():
    domain, _, Inventory, _ = warehouse(open_store(None))
    repo = domain.repository_for(Inventory)
    with domain.domain_context():
        repo.add(Inventory(book_id="b1", in_stock=10))
        other = repo.get("b1")
        with pytest.raises(ExpectedVersionError, match="two different copies"), UnitOfWork(domain):
            mine = repo.get("b1")
            mine.in_stock = 4
            repo.add(mine)
            other.in_stock = 6
            repo.add(other)
        assert repo.get("b1").in_stock == 10


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["b1", "b2", "b3"]), st.integers(-5, 5), st.sampled_from(["get", "find", "query"])),
        max_size=15,
    )
)
def test_any_sequence_of_reads_and_saves_in_one_unit_keeps_every_change(operations):
    domain, _, Inventory, _ = warehouse(open_store(None))
    repo = domain.repository_for(Inventory)
    expected = {"b1": 100, "b2": 100}
    with domain.domain_context():
        repo.add(Inventory(book_id="b1", in_stock=100))
        repo.add(Inventory(book_id="b2", in_stock=100))
        with UnitOfWork(domain):
            for book, delta, read in operations:
                if book not in expected:  # created inside the unit, then found again
                    repo.add(Inventory(book_id=book, in_stock=100))
                    expected[book] = 100
                if read == "get":
                    found = repo.get(book)
                elif read == "find":
                    found = repo.find_by(book_id=book)
                else:
                    found = repo.query.filter(book_id__in=[book]).all().first
                found.in_stock += delta
                repo.add(found)
                expected[book] += delta
            assert {i.book_id: i.in_stock for i in repo.all()} == expected
        assert {i.book_id: i.in_stock for i in repo.all()} == expected
