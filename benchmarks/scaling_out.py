"""Scaling out: ship cycles/s on PostgreSQL vs the embedded store; Redis deliveries/s with
one and two workers.

Ship cycles (``benchmarks/ship_cycle.py``'s: create and save an Order, ``ship_order()``, save
again, the sync handler finds the Inventory by ``book_id`` and saves it) run N times on a
fresh embedded store folder and on a fresh throwaway PostgreSQL database (started by
``workbench.throwaway_servers`` like the tests' one: fsync off, as the embedded store does
not fsync by default either); the median of --runs runs of each.

It starts its own throwaway Redis server (``workbench.throwaway_servers``, the code the
tests use) and stops it at the end. N shipped orders (the domain of
``benchmarks/ship_cycle.py``) are relayed to Redis through the outbox, then handled by the
``ManageInventory`` handler in one or two worker *processes* consuming one group, on one
embedded JSON store folder (each delivery: receipt check, handler, receipt and effects in
one commit, XACK). Median of --runs runs.

That work is tiny (a fraction of a millisecond of CPU) and every commit takes the embedded
store's one writer lock, so a second worker process adds contention (the lock, the other
worker's optimistic-concurrency rejections, two processes plus redis-server on the
machine's cores) and little capacity: two workers are barely faster than one, or slower
(0.67x to 1.15x measured on a 2-core machine). The benchmark
therefore also runs each delivery with --io-wait-ms of waiting first (default 2 ms, as a
handler that calls a service or a database would wait), where the second worker overlaps
its waits with the first's and the group's throughput scales.

    python benchmarks/scaling_out.py                  # N = 2,000 ship cycles, 2,000 deliveries
    python benchmarks/scaling_out.py --cycles 500 --deliveries 500 --runs 3 --io-wait-ms 2
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ship_cycle import build_domain
from workbench.core.broker import open_broker
from workbench.core.broker.delivery import BrokerSubscription
from workbench.core.broker.outbox import OutboxRelay
from workbench.core.store import open_store
from workbench.core.subscription_config import resolve

from workbench.throwaway_servers import running_postgres, running_redis


def _async_domain(store_url: str):
    domain, order_cls, inventory_cls = build_domain()
    domain.config["event_processing"] = "async"
    domain.bind_store(open_store(store_url))
    return domain, order_cls, inventory_cls


def _prepare_deliveries(store_url: str, broker_url: str, n: int) -> None:
    domain, order_cls, inventory_cls = _async_domain(store_url)
    with domain.domain_context():
        # One book per ten orders, as in ship_cycle.py: two workers rarely update one row at once
        # (when they do, optimistic concurrency rejects one and its delivery is retried).
        books = max(n // 10, 1)
        for i in range(books):
            domain.repository_for(inventory_cls).add(inventory_cls(book_id=f"book-{i}", in_stock=10**9))
        orders = domain.repository_for(order_cls)
        for i in range(n):
            order = order_cls(book_id=f"book-{i % books}", quantity=1, total_amount=10)
            order.ship_order()
            orders.add(order)
    broker = open_broker(broker_url)
    OutboxRelay(domain.store, broker, categories={"order"}).relay()
    broker.close()
    domain.close()


def _worker(store_url: str, broker_url: str, consumer: str, start_at: float, io_wait_ms: float) -> None:
    domain, _order, _inventory = _async_domain(store_url)
    broker = open_broker(broker_url)
    handler = domain.registry.event_handlers["ManageInventory"]
    with domain.domain_context():
        # A delivery that lost an optimistic-concurrency race is retried after the claim timeout.
        subscription = BrokerSubscription(
            domain, handler, resolve(domain, handler), broker, consumer=consumer, claim_after_ms=100
        )
        if io_wait_ms:
            handle = subscription.worker.handler

            def waiting_then_handling(delivery, handle=handle):
                time.sleep(io_wait_ms / 1000)  # the I/O a realistic handler waits on per delivery
                handle(delivery)

            subscription.worker.handler = waiting_then_handling
        while time.time() < start_at:
            time.sleep(0.001)
        while True:
            if subscription.step(block_ms=20) == 0:
                summary = broker.summary("order", subscription.name)
                if summary.lag == 0 and not summary.pending:
                    break
    broker.close()
    domain.close()


def deliveries_per_second(
    folder: Path, redis_url: str, n: int, workers: int, run: int, io_wait_ms: float = 0.0
) -> float:
    """Deliveries/s of ``n`` relayed events handled by ``workers`` processes on a store in ``folder``.

    With ``io_wait_ms``, each delivery first waits that long (a handler's I/O).
    """
    store_url = str(folder / f"store-{workers}-{run}-{io_wait_ms}")
    broker_url = redis_url.rsplit("/", 1)[0] + f"/{(workers * 7 + run) % 16}"
    flush = open_broker(broker_url)
    flush._client.flushdb()  # type: ignore[attr-defined]
    flush.close()
    _prepare_deliveries(store_url, broker_url, n)
    start_at = time.time() + 1.0  # every worker process is up and connected before the clock starts
    processes = [
        multiprocessing.Process(target=_worker, args=(store_url, broker_url, f"w{i}", start_at, io_wait_ms))
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    elapsed = time.time() - start_at
    check = open_store(store_url)
    handled = check.count("broker_receipts")
    check.close()
    dead = len(open_broker(broker_url).dead_letters("order"))
    if handled + dead != n:
        raise SystemExit(f"expected {n} deliveries, the store holds {handled} receipts and {dead} dead letters")
    if dead:
        print(f"  ({dead} of {n} deliveries were dead-lettered after losing every retry to the other worker)")
    return n / elapsed


def ship_cycles_per_second(location: str, n: int) -> float:
    """Ship cycles/s for ``n`` cycles on the empty store at ``location`` (a folder or a URL)."""
    domain, order_cls, inventory_cls = build_domain()
    domain.bind_store(open_store(location))
    orders, inventories = domain.repository_for(order_cls), domain.repository_for(inventory_cls)
    books = max(n // 10, 1)
    try:
        with domain.domain_context():
            for i in range(books):
                inventories.add(inventory_cls(book_id=f"book-{i}", in_stock=10**9))
            start = time.perf_counter()
            for i in range(n):
                order = order_cls(book_id=f"book-{i % books}", quantity=1, total_amount=10)
                orders.add(order)
                order.ship_order()
                orders.add(order)
            return n / (time.perf_counter() - start)
    finally:
        domain.close()


def ship_cycles_on_postgres(url: str, n: int) -> float:
    """Ship cycles/s on the PostgreSQL server at ``url``, in a database of its own."""
    import psycopg

    database = f"ship_{time.time_ns()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    return ship_cycles_per_second(url.rsplit("/", 1)[0] + f"/{database}", n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=2000)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--io-wait-ms", type=float, default=2.0, help="per-delivery wait of the second variant")
    args = parser.parse_args()
    with running_postgres() as postgres_server, tempfile.TemporaryDirectory() as folder:
        embedded = [ship_cycles_per_second(f"{folder}/store-{run}", args.cycles) for run in range(args.runs)]
        on_postgres = [ship_cycles_on_postgres(postgres_server.url, args.cycles) for _ in range(args.runs)]
        for label, rates in (("the embedded store", embedded), ("PostgreSQL", on_postgres)):
            print(
                f"ship cycles/s on {label}, N={args.cycles}, median of {args.runs}: {statistics.median(rates):8.0f}"
            )
    with running_redis() as redis_server, tempfile.TemporaryDirectory() as folder:
        variants = ((0.0, "no I/O wait"), (args.io_wait_ms, f"{args.io_wait_ms:g} ms I/O wait per delivery"))
        for io_wait_ms, what in variants:
            medians = []
            for workers in (1, 2):
                rates = [
                    deliveries_per_second(Path(folder), redis_server.url, args.deliveries, workers, run, io_wait_ms)
                    for run in range(args.runs)
                ]
                medians.append(statistics.median(rates))
                label = f"Redis deliveries/s, {workers} worker process{'es' if workers > 1 else ''}, {what}"
                print(f"{label}, N={args.deliveries}, median of {args.runs}: {medians[-1]:8.0f}")
            print(f"  two workers / one: {medians[1] / medians[0]:.2f}x")
        print(
            "  (without I/O wait a delivery is a fraction of a millisecond of CPU and every commit takes the embedded"
            " store's one writer lock, so a second worker adds contention more than capacity; with I/O wait the"
            " workers overlap their waits and throughput scales)"
        )

if __name__ == "__main__":
    main()
