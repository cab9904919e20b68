"""Repositories: lookups, versions, no-op saves, optimistic concurrency, atomic commits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from workbench.core import Domain, UnitOfWork
from workbench.core.exceptions import (
    ExpectedVersionError,
    IncorrectUsageError,
    ObjectNotFoundError,
    TooManyObjectsError,
    ValidationError,
)
from workbench.core.fields import Identifier, Integer, String
from workbench.core.store import open_store


def inventory_domain(store=None):
    domain = Domain(name="Repo")

    @domain.aggregate
    class Inventory:
        book_id = Identifier(required=True)
        in_stock = Integer(required=True)
        shelf = String(max_length=10)
        sku = String(unique=True)

    domain.init()
    domain.bind_store(store or open_store(None))
    return domain, Inventory


def test_add_get_find_filter_all_exists(store_dir):
    domain, Inventory = inventory_domain(open_store(store_dir))
    repo = domain.repository_for(Inventory)
    a = repo.add(Inventory(book_id="b1", in_stock=5, shelf="A"))
    repo.add(Inventory(book_id="b2", in_stock=7, shelf="A"))
    repo.add(Inventory(book_id="b3", in_stock=9, shelf="B"))
    assert repo.get(a.id).in_stock == 5
    assert repo.find_by(book_id="b2").in_stock == 7
    assert [i.book_id for i in repo.filter(shelf="A")] == ["b1", "b2"]
    assert [i.book_id for i in repo.filter(shelf="A", in_stock__gt=5)] == ["b2"]
    assert [i.book_id for i in repo.filter(in_stock__in=[5, 9])] == ["b1", "b3"]
    assert [i.book_id for i in repo.filter(in_stock="9")] == ["b3"]  # values are coerced
    assert len(repo.all()) == 3 and repo.count(shelf="A") == 2
    assert repo.exists(book_id="b3") and not repo.exists(book_id="zz")
    assert repo.exists(id=a.id)
    with pytest.raises(ObjectNotFoundError, match=r"`Inventory` object with identifier nope does not exist."):
        repo.get("nope")
    with pytest.raises(ObjectNotFoundError, match=r"values \{'book_id': 'zz'\} does not exist"):
        repo.find_by(book_id="zz")
    with pytest.raises(TooManyObjectsError, match="More than one object of `Inventory`"):
        repo.find_by(shelf="A")
    with pytest.raises(IncorrectUsageError, match="`Inventory` has no field `bookid`"):
        repo.filter(bookid="b1")
    with pytest.raises(IncorrectUsageError, match="unknown lookup `like`"):
        repo.filter(shelf__like="A")
    domain.close()


def test_index_follows_updates():
    domain, Inventory = inventory_domain()
    repo = domain.repository_for(Inventory)
    item = repo.add(Inventory(book_id="old", in_stock=1))
    assert repo.find_by(book_id="old").id == item.id  # builds the index
    item.book_id = "new"
    repo.add(item)
    assert not repo.exists(book_id="old")
    assert repo.find_by(book_id="new").id == item.id


def test_versions_and_no_op_saves(store_dir):
    domain, Inventory = inventory_domain(open_store(store_dir))
    repo = domain.repository_for(Inventory)
    item = Inventory(book_id="b", in_stock=1)
    assert item._version == -1
    repo.add(item)
    assert item._version == 0
    repo.add(item)  # unchanged: no write
    assert item._version == 0 and domain.store.state.seq == 1
    item.in_stock = 2
    repo.add(item)
    assert item._version == 1 and repo.get(item.id)._version == 1
    domain.close()


def test_stale_save_raises_and_writes_nothing():
    domain, Inventory = inventory_domain()
    repo = domain.repository_for(Inventory)
    item = repo.add(Inventory(book_id="b", in_stock=1))
    first, second = repo.get(item.id), repo.get(item.id)
    first.in_stock = 10
    repo.add(first)
    second.in_stock = 20
    with pytest.raises(
        ExpectedVersionError, match=r"Wrong expected version: 0 \(Aggregate: Inventory\(.*\), Version: 1\)"
    ):
        repo.add(second)
    assert repo.get(item.id).in_stock == 10


def test_unit_of_work_is_all_or_nothing():
    domain, Inventory = inventory_domain()
    repo = domain.repository_for(Inventory)
    existing = repo.add(Inventory(book_id="b", in_stock=1))
    stale = repo.get(existing.id)
    fresh = repo.get(existing.id)
    fresh.in_stock = 3
    repo.add(fresh)
    with pytest.raises(ExpectedVersionError):
        with UnitOfWork(domain):
            repo.add(Inventory(book_id="new", in_stock=1))
            stale.in_stock = 99
            repo.add(stale)
    assert not repo.exists(book_id="new")
    with pytest.raises(RuntimeError):
        with UnitOfWork(domain):
            repo.add(Inventory(book_id="new", in_stock=1))
            raise RuntimeError("abort")
    assert not repo.exists(book_id="new")


def test_unique_fields_are_enforced():
    domain, Inventory = inventory_domain()
    repo = domain.repository_for(Inventory)
    repo.add(Inventory(book_id="a", in_stock=1, sku="S1"))
    with pytest.raises(ValidationError) as info:
        repo.add(Inventory(book_id="b", in_stock=1, sku="S1"))
    assert info.value.messages == {"sku": ["`Inventory` with sku='S1' already exists"]}


def test_loaded_aggregates_do_not_alias_the_store():
    domain = Domain(name="Alias")
    from workbench.core.fields import List

    @domain.aggregate
    class Cart:
        items = List(content_type=String)

    domain.init()
    domain.bind_store(open_store(None))
    repo = domain.repository_for(Cart)
    cart = repo.add(Cart(items=["a"]))
    cart.items.append("b")  # mutated in place, not saved
    loaded = repo.get(cart.id)
    loaded.items.append("c")
    assert repo.get(cart.id).items == ["a"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["b1", "b2", "b3", "b4"]), st.integers(0, 100)), max_size=30))
def test_find_by_matches_a_full_scan(updates):
    domain, Inventory = inventory_domain()
    repo = domain.repository_for(Inventory)
    items = [repo.add(Inventory(book_id="b1", in_stock=0)) for _ in range(3)]
    repo.filter(book_id="b1")  # index exists before the updates
    for i, (book, stock) in enumerate(updates):
        item = repo.get(items[i % 3].id)
        item.book_id = book
        item.in_stock = stock
        repo.add(item)
    for book in ["b1", "b2", "b3", "b4"]:
        expected = sorted(i.id for i in repo.all() if i.book_id == book)
        assert sorted(i.id for i in repo.filter(book_id=book)) == expected
