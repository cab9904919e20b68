"""Scaling-out benchmark: ship cycles/s on PostgreSQL vs the embedded store, and Redis
Streams deliveries/s with one and two consumers in a group.

The servers are started exactly as the tests start them (``tests/servers.py``): a
throwaway PostgreSQL cluster on a loopback port with fsync and synchronous_commit off
(the embedded store does not fsync by default either) and a redis-server without
persistence. They are stopped at the end.

One ship cycle is :mod:`ship_cycle`'s: create and save an Order, ``ship_order()``, save
again; the sync handler finds the Inventory by ``book_id`` and saves it (four commits).
A Redis delivery is XREADGROUP of a batch of 100 plus one XACK per batch, by consumer
threads of one process, each with its own connection (the engine does not use the broker
yet: this measures the broker adapter alone).

    python benchmarks/scaling_out.py                 # N = 2,000 cycles, 20,000 messages
    python benchmarks/scaling_out.py --cycles 500 --messages 5000 --runs 1
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the servers the tests start

from servers import PostgresServer, RedisServer
from ship_cycle import build_domain
from workbench.core.broker import open_broker
from workbench.core.store import open_store
from workbench.core.tuning import tune_gc


def ship_cycles(location: str, n: int) -> float:
    """Ship cycles/s for ``n`` cycles on the (empty) store at ``location``."""
    domain, order_cls, inventory_cls = build_domain()
    domain.bind_store(open_store(location))
    orders = domain.repository_for(order_cls)
    inventories = domain.repository_for(inventory_cls)
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


def empty_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS messages, documents; DROP SEQUENCE IF EXISTS documents_seq")


def redis_deliveries(url: str, n: int, workers: int, run: int) -> float:
    """Deliveries/s of ``n`` messages shared by ``workers`` consumers of one group."""
    stream, group = f"bench{workers}-{run}", "g"
    publisher = open_broker(url)
    publisher.ensure_group(stream, group)
    for i in range(n):
        publisher.publish(stream, {"i": i, "type": "Shop.OrderShipped.v1", "data": {"quantity": 1}})
    counts = [0] * workers

    def consume(k: int) -> None:
        broker = open_broker(url)
        try:
            while True:
                batch = broker.consume(stream, group, f"c{k}", count=100)
                if not batch:
                    return
                broker.ack(stream, group, [d.id for d in batch])
                counts[k] += len(batch)
        finally:
            broker.close()

    threads = [threading.Thread(target=consume, args=(k,)) for k in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    publisher.close()
    assert sum(counts) == n, counts
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=2_000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tune_gc()  # as the workbench CLI does

    workdir = Path(tempfile.mkdtemp(prefix="wb-scale-"))
    postgres = PostgresServer.start()
    redis = RedisServer.start()
    try:
        embedded = [ship_cycles(str(workdir / f"r{run}"), args.cycles) for run in range(args.runs)]
        on_postgres = []
        for _ in range(args.runs):
            empty_postgres(postgres.url)
            on_postgres.append(ship_cycles(postgres.url, args.cycles))
        print(f"ship cycles/s, N={args.cycles:,} (median of {args.runs}):")
        print(f"  embedded store  {statistics.median(embedded):>8,.0f}")
        print(f"  PostgreSQL      {statistics.median(on_postgres):>8,.0f}")
        print(f"Redis Streams deliveries/s, {args.messages:,} messages, batches of 100 (median of {args.runs}):")
        for workers in (1, 2):
            rates = [redis_deliveries(redis.url, args.messages, workers, run) for run in range(args.runs)]
            print(f"  {workers} consumer{'s' if workers > 1 else ' '}     {statistics.median(rates):>8,.0f}")
    finally:
        postgres.stop()
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
