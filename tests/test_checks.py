"""`workbench check idempotency` and `check determinism` against real stores, through the CLI."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner
from workbench.cli.main import app
from workbench.core.bootstrap import bootstrap
from workbench.core.idempotency import check_determinism, check_idempotency

from workbench.testing import DomainHarness

LOYALTY = ROOT / "samples" / "loyalty" / "domain.py"
runner = CliRunner()

# A handler that reads the wall clock and random ids instead of the domain's, next to one that does not.
CLOCKS = textwrap.dedent(
    """
    import time, uuid
    from protean import Domain, current_domain, handle
    from protean.fields import Identifier, Integer, String

    domain = Domain(name="Clocks")
    domain.config["event_processing"] = "async"

    @domain.aggregate
    class Visit:
        page = String(required=True)

    @domain.event(part_of=Visit)
    class Visited:
        page = String(required=True)

    @domain.aggregate
    class Stamp:
        page = String(required=True, unique=True)
        token = String()
        seen = Integer()

    @domain.event_handler(part_of=Stamp, stream_category="visit")
    class WallClockStamp:
        @handle(Visited)
        def stamp(self, event):
            repo = current_domain.repository_for(Stamp)
            found = repo.filter(page=event.page)
            stamp = found[0] if found else Stamp(page=event.page)
            stamp.token = str(uuid.uuid4())
            repo.add(stamp)

    @domain.aggregate
    class Page:
        name = String(required=True, unique=True)
        stamped = String()

    @domain.event_handler(part_of=Page, stream_category="visit")
    class DomainClockStamp:
        @handle(Visited)
        def stamp(self, event):
            repo = current_domain.repository_for(Page)
            found = repo.filter(name=event.page)
            page = found[0] if found else Page(name=event.page)
            page.stamped = current_domain.new_id()
            repo.add(page)
    """
)


def cli(domain: Path, store: Path, *args: str, code: int = 0):
    env = {"WORKBENCH_DOMAIN": str(domain), "WORKBENCH_STORE": str(store), "NO_COLOR": "1", "COLUMNS": "200"}
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def loyalty(tmp_path):
    store = tmp_path / "store"
    for n, customer in enumerate(["ann", "bob", "ann"], 1):
        cli(
            LOYALTY,
            store,
            "raise",
            "OrderPlaced",
            f"order_id=o-{n}",
            f"customer={customer}",
            "total=10",
            "--id",
            f"o-{n}",
        )
    cli(LOYALTY, store, "process")
    return store


def test_idempotency_flags_the_counter_and_passes_the_upserts(loyalty):
    before = {p.name: p.read_bytes() for p in loyalty.iterdir() if p.is_file() and p.name != "LOCK"}
    result = cli(LOYALTY, loyalty, "check", "idempotency", "--json", code=1)
    payload = json.loads(result.stdout)
    assert payload["status"] == "failure"
    verdicts = {h["handler"]: h for h in payload["data"]["handlers"]}
    assert verdicts["RememberLastOrder"]["passed"] and verdicts["ChargeCard"]["passed"]
    assert verdicts["RememberLastOrder"]["checked"] == 3
    finding = verdicts["CountOrders"]["finding"]
    assert finding["reason"] == "changed state on the second delivery"
    assert finding["message"]["stream_name"] == "order-o-1"  # the first message that shows it
    [difference] = finding["differences"]
    assert difference["aggregate"] == "customer"
    assert difference["fields"] == {
        "orders_placed": {"from": 3, "to": 4}
    }  # ann had 2; the check's first delivery made 3
    after = {p.name: p.read_bytes() for p in loyalty.iterdir() if p.is_file() and p.name != "LOCK"}
    assert after == before  # a scratch copy: the store is untouched

    text = cli(LOYALTY, loyalty, "check", "idempotency", code=1).stdout
    assert "CountOrders: changed state on the second delivery of OrderPlaced order-o-1 #1" in text
    assert "orders_placed: 3 -> 4" in text
    assert cli(LOYALTY, loyalty, "check", "idempotency", "--handler", "RememberLastOrder").exit_code == 0


def test_limit_and_unknown_handlers(loyalty):
    data = json.loads(cli(LOYALTY, loyalty, "check", "idempotency", "--limit", "1", "--json", code=1).stdout)["data"]
    assert {h["handler"]: h["checked"] for h in data["handlers"]} == {
        "CountOrders": 1,
        "RememberLastOrder": 1,
        "ChargeCard": 1,
    }
    result = cli(LOYALTY, loyalty, "check", "idempotency", "--handler", "CountOrder", code=2)
    assert result.stderr.startswith("error: no handler named `CountOrder`") and "CountOrders" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_second_delivery_that_raises_is_reported(tmp_path):
    domain = tmp_path / "domain.py"
    domain.write_text(
        LOYALTY.read_text().replace(
            "        if not charges.filter(order_id=event.order_id):\n            charges.add(",
            "        charges.add(",
        )
    )
    store = tmp_path / "store"
    cli(domain, store, "raise", "OrderPlaced", "order_id=o-1", "customer=ann", "total=10", "--id", "o-1")
    cli(domain, store, "process")
    payload = json.loads(cli(domain, store, "check", "idempotency", "--handler", "ChargeCard", "--json", code=1).stdout)
    finding = payload["data"]["handlers"][0]["finding"]
    assert finding["reason"] == "raised when delivered again"
    assert finding["error"].startswith("ValidationError")  # the unique order_id refuses a second charge


def test_determinism_catches_the_wall_clock_handler(tmp_path):
    domain = tmp_path / "clocks.py"
    domain.write_text(CLOCKS)
    store = tmp_path / "store"
    for page in ("home", "about"):
        cli(domain, store, "raise", "Visited", f"page={page}")
    cli(domain, store, "process")
    payload = json.loads(cli(domain, store, "check", "determinism", "--json", code=1).stdout)
    verdicts = {h["handler"]: h for h in payload["data"]["handlers"]}
    assert verdicts["DomainClockStamp"]["passed"] and verdicts["DomainClockStamp"]["checked"] == 2
    finding = verdicts["WallClockStamp"]["finding"]
    assert finding["reason"] == "wrote different values"
    assert list(finding["differences"][0]["fields"]) == ["token"]
    assert cli(domain, store, "check", "determinism", "--handler", "DomainClockStamp").exit_code == 0


def test_core_checks_leave_the_domain_as_they_found_it(loyalty):
    domain = bootstrap(str(LOYALTY), store_location=loyalty, read_only=True)
    try:
        store, clock, ids = domain.store, domain.clock, domain.identity_function
        reports = check_idempotency(domain) + check_determinism(domain)
        assert [r.passed for r in reports] == [False, True, True, True, True, True]
        assert (domain.store, domain.clock, domain.identity_function) == (store, clock, ids)
        assert domain.config["event_processing"] == "async"
    finally:
        domain.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["ann", "bob", "cy"]), st.integers(0, 500)), min_size=1, max_size=8))
def test_whatever_the_orders_counting_is_flagged_and_upserts_pass(orders):
    with DomainHarness.open(LOYALTY, None) as harness:
        for n, (customer, total) in enumerate(orders):
            harness.when(
                harness["OrderPlaced"](order_id=f"o-{n}", customer=customer, total=total), aggregate_id=f"o-{n}"
            )
        reports = {r.handler: r for r in check_idempotency(harness.domain)}
        determinism = {r.handler: r.passed for r in check_determinism(harness.domain)}
    counting = reports["CountOrders"].finding
    assert counting is not None and counting.message["stream_name"] == "order-o-0"
    assert (
        counting.differences[0]["fields"]["orders_placed"]["to"]
        == counting.differences[0]["fields"]["orders_placed"]["from"] + 1
    )
    assert reports["RememberLastOrder"].passed and reports["RememberLastOrder"].checked == len(orders)
    assert reports["ChargeCard"].passed and reports["ChargeCard"].checked == len(orders)
    assert determinism == {"CountOrders": True, "RememberLastOrder": True, "ChargeCard": True}


def test_an_empty_store_checks_nothing_and_says_so(tmp_path):
    result = cli(LOYALTY, tmp_path / "empty", "check", "idempotency")
    assert result.stdout.count("no stored messages to check") == 3 and "idempotent" not in result.stdout
