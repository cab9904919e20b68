"""Ship-cycle benchmark: the spec's example run N times on the durable store.

One cycle: create and save an Order, ``ship_order()``, save again; the sync handler
finds the Inventory by ``book_id``, reduces its stock and saves it.

Prints cycles/s for each N (median of --runs runs), the growth factor between the
smallest and largest N, the time to reopen the largest store and read one stream,
and the same cycle with fsync on every commit.

Next to each N it runs the *floor* in the same process: the same cycle with plain
dicts (an order dict, an inventory dict indexed by ``book_id``) and one JSON line
appended per commit (three per cycle, one ``write()`` each, no fsync), and prints the
ratio real/floor (issue 14 asks for >= 0.30 at N=10,000).

    python benchmarks/ship_cycle.py                 # N = 10,000 and 100,000
    python benchmarks/ship_cycle.py --sizes 1000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.core import Domain, handle
from workbench.core.fields import Identifier, Integer, String
from workbench.core.store import open_store
from workbench.core.tuning import tune_gc


def build_domain(*, dead_letter_source: bool = False) -> tuple[Domain, type, type]:
    """The spec's Shop domain (sync processing).

    Args:
        dead_letter_source: also register an ``Audit`` aggregate whose ``AuditFlagged``
            event an always-failing async handler turns into dead letters
            (``benchmarks/million.py`` needs a few so ``dlq list`` has rows). It lives in
            its own category so replaying ``order`` never touches it.
    """
    domain = Domain(name="Shop")
    domain.config["event_processing"] = "sync"

    @domain.event(part_of="Order")
    class OrderShipped:
        order_id: Identifier(required=True)
        book_id: Identifier(required=True)
        quantity: Integer(required=True)
        total_amount: Integer(required=True)

    @domain.aggregate
    class Order:
        book_id: Identifier(required=True)
        quantity: Integer(required=True)
        total_amount: Integer(required=True)
        status: String(choices=["PENDING", "SHIPPED", "DELIVERED"], default="PENDING")

        def ship_order(self):
            self.status = "SHIPPED"
            self.raise_(
                OrderShipped(
                    order_id=self.id,
                    book_id=self.book_id,
                    quantity=self.quantity,
                    total_amount=self.total_amount,
                )
            )

    @domain.aggregate
    class Inventory:
        book_id: Identifier(required=True)
        in_stock: Integer(required=True)

        def reduce_stock(self, quantity: int) -> None:
            self.in_stock -= quantity

    @domain.event_handler(part_of=Order)
    class ManageInventory:
        @handle(OrderShipped)
        def reduce_stock_level(self, event):
            repo = domain.repository_for(Inventory)
            inventory = repo.find_by(book_id=event.book_id)
            inventory.reduce_stock(event.quantity)
            repo.add(inventory)

    if dead_letter_source:

        @domain.event(part_of="Audit")
        class AuditFlagged:
            audit_id: Identifier(required=True)
            reason: String(required=True)

        @domain.aggregate
        class Audit:
            reason: String(required=True)

            def flag(self) -> None:
                self.raise_(AuditFlagged(audit_id=self.id, reason=self.reason))

        # "fast": no delay between retries, so building the dead letters takes no time.
        @domain.event_handler(part_of=Audit, subscription_profile="fast")
        class AuditHandler:
            @handle(AuditFlagged)
            def audit(self, event):
                raise ValueError(f"synthetic failure: {event.reason}")

    domain.init()
    return domain, Order, Inventory


def run_cycles(path: Path, n: int, *, fsync: bool = False) -> tuple[float, str]:
    """Seconds for n ship cycles on a fresh store at path; returns a stream name too."""
    domain, order_cls, inventory_cls = build_domain()
    domain.bind_store(open_store(path, fsync=fsync))
    orders = domain.repository_for(order_cls)
    inventories = domain.repository_for(inventory_cls)
    books = max(n // 10, 1)
    with domain.domain_context():
        for i in range(books):
            inventories.add(inventory_cls(book_id=f"book-{i}", in_stock=10**9))
        start = time.perf_counter()
        for i in range(n):
            order = order_cls(book_id=f"book-{i % books}", quantity=1, total_amount=10)
            orders.add(order)
            order.ship_order()
            orders.add(order)
        elapsed = time.perf_counter() - start
    stream = order.stream_name()
    domain.close()
    return elapsed, stream


def floor_cycles(path: Path, n: int) -> float:
    """Seconds for n ship cycles done with plain dicts and a JSON-lines journal at path.

    The least a durable ship cycle can cost in Python: the same three commits (save the
    new order; save it shipped with its event; the handler's inventory save), each one
    JSON line handed to the OS by one ``write()`` (no fsync, as the real run), ids from
    uuid4 and an aware timestamp per record as the engine makes them. No validation,
    versions, CRC or unit of work: that is the gap the ratio measures.
    """
    orders: dict[str, dict[str, object]] = {}
    inventory: dict[str, dict[str, object]] = {}
    by_book: dict[str, str] = {}  # the book_id index the handler's find_by uses
    books = max(n // 10, 1)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def commit(record: dict[str, object]) -> None:
        os.write(fd, (json.dumps(record, separators=(",", ":")) + "\n").encode())

    try:
        for i in range(books):
            doc: dict[str, object] = {"id": str(uuid.uuid4()), "book_id": f"book-{i}", "in_stock": 10**9, "_version": 0}
            inventory[doc["id"]] = doc  # type: ignore[index]
            by_book[doc["book_id"]] = doc["id"]  # type: ignore[index]
            commit({"changes": [["inventory", doc]]})
        start = time.perf_counter()
        for i in range(n):
            order: dict[str, object] = {
                "id": str(uuid.uuid4()),
                "book_id": f"book-{i % books}",
                "quantity": 1,
                "total_amount": 10,
                "status": "PENDING",
                "_version": 0,
            }
            orders[order["id"]] = order  # type: ignore[index]
            commit({"changes": [["orders", order]]})
            order["status"] = "SHIPPED"
            order["_version"] = 1
            event = {
                "id": str(uuid.uuid4()),
                "type": "Shop.OrderShipped.v1",
                "stream_name": f"order-{order['id']}",
                "time": datetime.now(UTC).isoformat(),
                "data": {k: order[k] for k in ("book_id", "quantity", "total_amount")} | {"order_id": order["id"]},
            }
            commit({"changes": [["orders", order]], "events": [event]})
            # The handler: find the inventory by book_id, reduce its stock, save it.
            stock = inventory[by_book[event["data"]["book_id"]]]  # type: ignore[index]
            stock["in_stock"] -= event["data"]["quantity"]  # type: ignore[index, operator]
            stock["_version"] += 1  # type: ignore[operator]
            commit({"changes": [["inventory", stock]]})
        return time.perf_counter() - start
    finally:
        os.close(fd)


def reopen_and_read(path: Path, stream: str) -> tuple[float, int]:
    start = time.perf_counter()
    domain, _, _ = build_domain()
    domain.bind_store(open_store(path, read_only=True))
    messages = domain.event_store.read(stream)
    elapsed = time.perf_counter() - start
    return elapsed, domain.store.event_count() if messages else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fsync-n", type=int, default=300)
    args = parser.parse_args()
    tune_gc()  # as the workbench CLI does

    rates: dict[int, float] = {}
    times: dict[int, float] = {}
    workdir = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    try:
        last_path, last_stream = workdir / "none", ""
        for n in args.sizes:
            samples, floor = [], []
            for run in range(args.runs):
                path = workdir / f"n{n}-r{run}"
                elapsed, last_stream = run_cycles(path, n)
                samples.append(elapsed)
                last_path = path
                # Each floor run right after its real run: on a shared machine the load drifts
                # within seconds, and pairing keeps both sides of the ratio under the same load.
                floor.append(floor_cycles(workdir / f"floor-n{n}-r{run}.jsonl", n))
            times[n] = statistics.median(samples)
            rates[n] = n / times[n]
            print(
                f"N={n:>7}: {rates[n]:>9,.0f} ship cycles/s  (median of {args.runs}: "
                f"{', '.join(f'{s:.2f}s' for s in samples)})"
            )
            floor_rate = n / statistics.median(floor)
            print(
                f"N={n:>7}: {floor_rate:>9,.0f} floor cycles/s (plain dicts + JSON lines); "
                f"real/floor = {rates[n] / floor_rate:.2f} (target >= 0.30 at N=10,000); "
                f"per run: {', '.join(f'{f / r:.2f}' for r, f in zip(samples, floor, strict=True))}"
            )
        if len(args.sizes) > 1:
            small, large = min(args.sizes), max(args.sizes)
            print(
                f"time ratio N={large}/N={small}: {times[large] / times[small]:.1f}x for {large / small:.0f}x the work"
            )
        reopen = [reopen_and_read(last_path, last_stream) for _ in range(args.runs)]
        print(
            f"open store of {reopen[0][1]:,} events and read one stream: "
            f"{statistics.median(r[0] for r in reopen):.2f}s (median of {args.runs})"
        )
        fsync_samples = [run_cycles(workdir / f"fsync-{r}", args.fsync_n, fsync=True)[0] for r in range(args.runs)]
        print(
            f"with fsync per commit, N={args.fsync_n}: "
            f"{args.fsync_n / statistics.median(fsync_samples):,.0f} ship cycles/s"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
