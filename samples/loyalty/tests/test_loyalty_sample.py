"""The loyalty sample, tested with the workbench's pytest plugin: retries on a virtual clock."""

import pytest

pytestmark = pytest.mark.workbench(domain="../domain.py")


def place(harness, order_id, customer="ann", total=40):
    return harness.when(
        harness["OrderPlaced"](order_id=order_id, customer=customer, total=total), aggregate_id=order_id
    )


def test_an_order_is_counted_remembered_and_charged(workbench_domain):
    outcome = place(workbench_domain, "o-1")
    outcome.then_succeeded("CountOrders", "RememberLastOrder", "ChargeCard").then_raised()
    workbench_domain.then("Customer", name="ann", orders_placed=1)
    workbench_domain.then("LastOrder", customer="ann", order_id="o-1", total=40)
    workbench_domain.then("Charge", order_id="o-1", amount=40)


def test_a_charge_retries_on_the_clock_then_dead_letters(workbench_domain):
    workbench_domain.given(workbench_domain["Gateway"](name="cards", status="down"))
    place(workbench_domain, "o-1").then_failed("ChargeCard", ConnectionError).then_succeeded("CountOrders")

    [retry] = workbench_domain.pending_retries("ChargeCard")
    assert retry["attempts"] == 1
    assert workbench_domain.advance(29).retried == 0  # not due yet: nothing sleeps, nothing runs
    assert workbench_domain.advance(1).retried == 1  # 30 s after the failure
    assert workbench_domain.pending_retries("ChargeCard")[0]["attempts"] == 2
    assert workbench_domain.advance(59).retried == 0  # back-off doubled to 60 s
    assert workbench_domain.advance(1).dead_lettered == 1

    [letter] = workbench_domain.dead_letters("ChargeCard")
    assert (letter.error_type, letter.error, letter.attempts) == ("ConnectionError", "card gateway is down", 3)
    assert workbench_domain.pending_retries() == []
