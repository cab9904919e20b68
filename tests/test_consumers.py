"""Projections, projectors, subscribers and query handlers: the other three consumers."""

from __future__ import annotations

import pytest
from workbench.core import Domain, current_domain, handle, on, read
from workbench.core.dead_letters import list_dead_letters
from workbench.core.engine import Engine
from workbench.core.exceptions import ConfigurationError, HandlerError, IncorrectUsageError
from workbench.core.fields import Identifier, Integer, String
from workbench.core.rebuild import rebuild, status
from workbench.core.store import open_store


def shop(processing="sync", store=None):
    domain = Domain(name="Read")
    domain.config["event_processing"] = processing
    domain.received = []  # type: ignore[attr-defined]

    @domain.aggregate
    class Order:
        customer = String(required=True)

    @domain.aggregate
    class Refund:
        order_id = Identifier(required=True)

    @domain.event(part_of=Order)
    class Placed:
        order_id = Identifier(required=True)
        customer = String(required=True)
        amount = Integer(required=True)

    @domain.event(part_of=Refund)
    class Refunded:
        order_id = Identifier(required=True)
        amount = Integer(required=True)

    @domain.projection
    class CustomerTotal:
        customer = String(identifier=True)
        total = Integer(default=0)

    @domain.projector(projector_for=CustomerTotal, aggregates=[Order], stream_categories=["refund"])
    class Totals:
        @on(Placed)
        def placed(self, event):
            repo = current_domain.repository_for(CustomerTotal)
            found = repo.filter(customer=event.customer)
            row = found[0] if found else CustomerTotal(customer=event.customer)
            row.total += event.amount
            repo.add(row)

        @on(Refunded)
        def refunded(self, event):
            repo = current_domain.repository_for(CustomerTotal)
            for row in repo.all():
                row.total -= event.amount
                repo.add(row)

    @domain.query(part_of=CustomerTotal)
    class BigSpenders:
        minimum = Integer(required=True)

    @domain.query_handler(part_of=CustomerTotal)
    class TotalsQueries:
        @read(BigSpenders)
        def big(self, query):
            return sorted(
                r.customer for r in current_domain.repository_for(CustomerTotal).filter(total__gte=query.minimum)
            )

    @domain.subscriber(
        stream="crm-updates", subscription_config={"max_retries": 2, "retry_delay_seconds": 0, "enable_dlq": True}
    )
    class CrmUpdates:
        def __call__(self, payload):
            domain.received.append(payload)
            if payload.get("bad"):
                raise ValueError("bad payload")

        @classmethod
        def handle_error(cls, exc, message):
            domain.received.append(("error", type(message).__name__))

    @domain.event_handler(part_of=Order, stream_category="$all")
    class Everything:
        @handle("$any")
        def any(self, event):
            domain.received.append(("$all", type(event).__name__))

    domain.init()
    domain.bind_store(store or open_store(None))
    return domain


def place(domain, customer, amount):
    Order = domain.registry.aggregates["Order"]
    order = Order(customer=customer)
    order.raise_(domain.registry.events["Placed"](order_id=order.id, customer=customer, amount=amount))
    with domain.domain_context():
        domain.repository_for(Order).add(order)


def totals(domain):
    return {r.customer: r.total for r in domain.repository_for("CustomerTotal").all()}


def test_sync_projector_keeps_the_projection_and_queries_read_it():
    domain = shop()
    place(domain, "ada", 5)
    place(domain, "bob", 50)
    place(domain, "ada", 10)
    assert totals(domain) == {"ada": 15, "bob": 50}
    BigSpenders = domain.registry.queries["BigSpenders"]
    assert domain.dispatch(BigSpenders(minimum=20)) == ["bob"]
    assert domain.dispatch(BigSpenders(minimum=1)) == ["ada", "bob"]
    assert domain.store.rows("projection:customer_total")  # stored in its own table
    with pytest.raises(IncorrectUsageError, match="cannot raise events"):
        domain.repository_for("CustomerTotal").all()[0].raise_(None)


def test_async_projectors_use_the_projection_profile_one_subscription_per_category():
    domain = shop("async")
    place(domain, "ada", 5)
    Refund = domain.registry.aggregates["Refund"]
    refund = Refund(order_id="x")
    refund.raise_(domain.registry.events["Refunded"](order_id="x", amount=2))
    with domain.domain_context():
        domain.repository_for(Refund).add(refund)
    assert totals(domain) == {}
    engine = Engine(domain)
    names = [s.name for s in engine.subscriptions]
    assert names == ["Totals@order", "Totals@refund", "CrmUpdates", "Everything"]
    assert engine.subscription("Totals@order").config.subscription_type == "event_store"
    with domain.domain_context():
        engine.process_until_idle()
    assert totals(domain) == {"ada": 3}
    [row] = status(domain)
    assert row["projection"] == "CustomerTotal" and row["rows"] == 1 and row["lag"] == 0


def test_rebuild_swaps_in_one_commit_and_a_dry_run_writes_nothing(monkeypatch):
    domain = shop()
    place(domain, "ada", 5)
    place(domain, "bob", 7)
    table = "projection:customer_total"
    with domain.domain_context():
        row = domain.repository_for("CustomerTotal").get("ada")
        row.total = 999  # a projection gone wrong
        domain.repository_for("CustomerTotal").add(row)
    seq = domain.store.state.seq
    [dry] = rebuild(domain, "CustomerTotal", dry_run=True)
    assert domain.store.state.seq == seq and totals(domain)["ada"] == 999
    assert dry.changes == [{"id": "ada", "change": "updated", "fields": {"total": {"from": 999, "to": 5}}}]
    commits = []
    real_commit = domain.store.commit
    monkeypatch.setattr(domain.store, "commit", lambda *a, **k: (commits.append(a), real_commit(*a, **k)))
    [report] = rebuild(domain)
    assert len(commits) == 1  # readers see the old table or the new one, never a half-built one
    assert totals(domain) == {"ada": 5, "bob": 7}
    assert (report.events, report.rows_before, report.rows_after) == (2, 2, 2)
    assert domain.store.rows(table)["bob"]["total"] == 7
    with pytest.raises(IncorrectUsageError, match="did you mean CustomerTotal"):
        rebuild(domain, "CustomerTotals")


def test_subscribers_get_raw_dicts_with_retries_dead_letters_and_handle_error():
    domain = shop("async")
    domain.publish("crm-updates", {"customer": "ada"})
    domain.publish("crm-updates", {"bad": True})
    engine = Engine(domain)
    with domain.domain_context():
        engine.process_until_idle()
    assert domain.received[0] == {"customer": "ada"}
    assert domain.received.count(("error", "dict")) == 2  # handle_error gets the raw dict, per attempt
    assert ("$all", "dict") not in domain.received  # $all handlers never see broker messages
    [letter] = list_dead_letters(engine, handler="CrmUpdates")
    assert letter.attempts == 2 and letter.error == "bad payload"


def test_subscribers_run_inline_in_sync_domains():
    domain = shop("sync")
    domain.publish("crm-updates", {"customer": "ada"})
    assert domain.received == [{"customer": "ada"}]
    with pytest.raises(HandlerError, match="CrmUpdates.__call__"):
        domain.publish("crm-updates", {"bad": True})


def test_registration_errors_name_the_problem():
    domain = Domain(name="Bad")

    @domain.aggregate
    class Order:
        pass

    @domain.event(part_of=Order)
    class Placed:
        pass

    @domain.projection
    class View:
        pass

    with pytest.raises(IncorrectUsageError, match="Projector `P` needs to be associated with a Projection"):
        domain.projector(type("P", (), {}), aggregates=[Order])
    with pytest.raises(IncorrectUsageError, match="at least one Aggregate or Stream Category"):
        domain.projector(type("P", (), {}), projector_for=View)
    with pytest.raises(IncorrectUsageError, match="Subscriber `S` needs to be associated with a stream"):
        domain.subscriber(type("S", (), {"__call__": lambda self, p: None}))
    with pytest.raises(IncorrectUsageError, match="must define `__call__"):
        domain.subscriber(type("S", (), {}), stream="x")
    with pytest.raises(IncorrectUsageError, match="Query `Q` needs to be associated with a projection"):
        domain.query(type("Q", (), {}))

    @domain.query(part_of=View)
    class Find:
        pass

    @domain.query_handler(part_of=View)
    class Wrong:
        @handle(Find)
        def find(self, query):
            return []

    with pytest.raises(IncorrectUsageError, match="decorated with `@handle`, which wraps execution in a UnitOfWork"):
        domain.init()


def test_projector_for_an_unknown_projection():
    domain = Domain(name="Bad2")

    @domain.aggregate
    class Order:
        pass

    @domain.projector(projector_for="Nope", aggregates=[Order])
    class P:
        pass

    with pytest.raises(ConfigurationError, match="not a registered projection"):
        domain.init()


def test_protean_projector_files_load(tmp_path):
    from workbench.core.loader import load_domain

    path = tmp_path / "readside.py"
    path.write_text(
        "from protean import Domain, read\nfrom protean.core.projector import on\n"
        "from protean.fields import Identifier, Integer\n"
        "domain = Domain(name='RS')\n"
        "@domain.aggregate\nclass Order:\n    n = Integer()\n"
        "@domain.event(part_of=Order)\nclass Placed:\n    n = Integer()\n"
        "@domain.projection\nclass View:\n    key = Identifier(identifier=True)\n    n = Integer()\n"
        "@domain.projector(projector_for=View, aggregates=[Order])\nclass P:\n"
        "    @on(Placed)\n    def placed(self, e):\n        pass\n"
        "@domain.query(part_of=View)\nclass All:\n    pass\n"
        "@domain.query_handler(part_of=View)\nclass QH:\n    @read(All)\n    def all(self, q):\n        return 42\n"
    )
    domain = load_domain(str(path), store=open_store(None))
    assert domain.dispatch(domain.registry.queries["All"]()) == 42


def test_a_rebuild_never_shows_its_scratch_store_to_other_threads():
    import threading

    domain = shop()
    place(domain, "ada", 5)
    real = domain.store
    seen = []

    def progress(done, total):
        def look():
            seen.append((domain.store is real, totals(domain)))

        thread = threading.Thread(target=look)
        thread.start()
        thread.join()
        seen.append(domain.store is real)  # the rebuilding thread works on its own store

    rebuild(domain, "CustomerTotal", dry_run=True, progress=progress)
    assert seen == [(True, {"ada": 5}), False]
    assert domain.store is real
