"""The pytest plugin: installed through the pytest11 entry point, used here through its fixtures."""

from __future__ import annotations

import textwrap
from importlib.metadata import entry_points

import pytest
from conftest import ROOT, SHOP

pytest_plugins = ["pytester"]

LOYALTY = ROOT / "samples" / "loyalty" / "domain.py"


def test_installing_workbench_registers_the_plugin():
    [entry] = [e for e in entry_points(group="pytest11") if e.name == "workbench"]
    assert entry.value == "workbench.pytest_plugin"


def test_given_when_then_on_the_shop_in_sync_mode(workbench):
    shop = workbench.load(SHOP)
    Inventory, Order = shop["Inventory"], shop["Order"]
    order = Order(book_id="b-1", quantity=4, total_amount=40)
    shop.given(Inventory(book_id="b-1", in_stock=10), order)
    assert order.id == "000000-0001"  # deterministic ids, counted from 1 in every test

    outcome = shop.when(shop["OrderShipped"](order_id=order.id, book_id="b-1", quantity=4, total_amount=40))

    outcome.then_succeeded("ManageInventory").then(Inventory, book_id="b-1", in_stock=6)
    assert outcome.message.time.startswith("2026-01-01T00:00:00")  # the virtual clock stands still
    with pytest.raises(AssertionError, match=r"Inventory: in_stock: expected 7, got 6"):
        shop.then(Inventory, book_id="b-1", in_stock=7)
    with pytest.raises(AssertionError, match=r"expected ManageInventory to fail, got ManageInventory ok"):
        outcome.then_failed("ManageInventory")
    with pytest.raises(AssertionError, match=r"expected raised events \['OrderCancelled'\], got \[\]"):
        outcome.then_raised("OrderCancelled")


def test_async_mode_delivers_only_when_the_engine_runs(workbench):
    shop = workbench.load(SHOP, processing="async")
    shop.given(shop["Inventory"](book_id="b-1", in_stock=10))
    shop.when(shop["OrderShipped"](order_id="o-1", book_id="b-1", quantity=4, total_amount=40)).then_succeeded(
        "ManageInventory"
    )
    shop.then("Inventory", book_id="b-1", in_stock=6)
    assert shop.engine.status()[0].lag == 0


def test_each_load_is_a_fresh_store(workbench):
    first, second = workbench.load(SHOP), workbench.load(SHOP)
    first.given(first["Inventory"](book_id="b-1", in_stock=10))
    assert first.repository("Inventory").count() == 1
    assert second.repository("Inventory").count() == 0
    assert first.domain.store.location != second.domain.store.location


def test_retries_move_with_the_clock_and_end_in_the_dlq(workbench):
    loyalty = workbench.load(LOYALTY)
    loyalty.given(loyalty["Gateway"](name="cards", status="down"))
    loyalty.when(loyalty["OrderPlaced"](order_id="o-1", customer="ann", total=5)).then_failed("ChargeCard", "gateway")
    assert loyalty.process().handled == 0  # the retry is due in 30 s of domain time
    assert [loyalty.advance(s).failed for s in (30, 60)] == [1, 1]
    assert [d.attempts for d in loyalty.dead_letters()] == [3]


def test_bad_arguments_say_what_is_wrong(workbench):
    with pytest.raises(Exception, match="processing must be 'sync' or 'async', not 'later'"):
        workbench.load(SHOP, processing="later")
    shop = workbench.load(SHOP)
    with pytest.raises(Exception, match="when\\(\\) takes an event or a command, not Inventory"):
        shop.when(shop["Inventory"](book_id="b", in_stock=1))
    with pytest.raises(KeyError, match="no element named 'Nope'"):
        shop["Nope"]


def test_marker_ini_option_and_failure_messages_in_a_users_suite(pytester):
    pytester.makeini(f"[pytest]\nworkbench_domain = {SHOP}\nworkbench_processing = async\n")
    pytester.makepyfile(
        test_user=textwrap.dedent(
            """
            import pytest

            def test_from_the_ini(workbench_domain, workbench_engine):
                assert workbench_domain.is_async and workbench_engine is workbench_domain.engine

            @pytest.mark.workbench(processing="sync")
            def test_marker_overrides_the_mode(workbench_domain):
                assert not workbench_domain.is_async

            def test_a_wrong_expectation(workbench_domain):
                workbench_domain.given(workbench_domain["Inventory"](book_id="b-1", in_stock=10))
                workbench_domain.then("Inventory", book_id="b-1", in_stock=11)
            """
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: Inventory: in_stock: expected 11, got 10*"])


def test_without_a_domain_the_fixture_says_how_to_name_one(pytester):
    pytester.makepyfile("def test_x(workbench_domain):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*workbench_domain needs a domain*"])
    assert result.ret != 0
