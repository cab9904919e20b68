"""Redis as the broker for every kind of consumer: subscribers, `$all` and multi-category handlers (process waits for retries pending on Redis)."""

from __future__ import annotations

import pytest
from test_consumers import place, shop, totals
from workbench.core.broker.feed import BrokerFeed
from workbench.core.engine import Engine
from workbench.core.store import open_store

pytestmark = pytest.mark.redis


def test_subscribers_go_through_redis_and_all_and_multi_category_handlers_keep_the_store(tmp_path, broker) -> None:
    domain = shop("async", store=open_store(tmp_path / "store"))
    place(domain, "ada", 5)
    place(domain, "bob", 7)
    Refund = domain.registry.aggregates["Refund"]
    refund = Refund(order_id="x")
    refund.raise_(domain.registry.events["Refunded"](order_id="x", amount=2))
    with domain.domain_context():
        domain.repository_for(Refund).add(refund)
        domain.publish("crm-updates", {"customer": "ada"})
        domain.publish("crm-updates", {"bad": True})
    engine = Engine(domain)
    feed = BrokerFeed(domain, broker, consumer="w1", claim_after_ms=50)
    engine.use_broker(feed)
    assert [s.name for s in feed.subscriptions] == ["CrmUpdates"]  # the one single-category stream consumer
    with domain.domain_context():
        engine.process_until_idle(max_wait_seconds=20)
    # The subscriber got its raw dicts from Redis; the bad one was retried, then dead-lettered on `<stream>:dlq`.
    client = broker._client  # type: ignore[attr-defined]
    assert client.xlen("$broker:crm-updates") == 2
    assert domain.received.count({"customer": "ada"}) == 1
    assert domain.received.count(("error", "dict")) == 2  # handle_error per attempt, as on the embedded broker
    (letter,) = broker.dead_letters("$broker:crm-updates")
    assert letter.payload["data"] == {"bad": True} and letter.info["consumer_group"] == "CrmUpdates"
    assert broker.summary("$broker:crm-updates", "CrmUpdates").pending == {}
    # `$all` and the two-category projector read the store: every event once, broker messages never.
    assert sorted(r[1] for r in domain.received if isinstance(r, tuple) and r[0] == "$all") == ["Placed", "Placed", "Refunded"]
    assert totals(domain) == {"ada": 3, "bob": 5}
    assert not client.exists("order") and not client.exists("refund")
    domain.close()
