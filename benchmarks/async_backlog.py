"""Async backlog benchmark: 3 handlers on the `order` category work through stored events.

Each handler does what the spec's handler does: a find_by and a save. Prints handler
deliveries per second while processing the backlog until idle (median of --runs runs)
for each backlog size, so the per-message cost can be compared across sizes.

    python benchmarks/async_backlog.py                   # 10,000 and 100,000 events
    python benchmarks/async_backlog.py --sizes 20000 --runs 1
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import Domain, handle
from core.engine import Engine
from core.fields import Identifier, Integer
from core.store import open_store
from core.tuning import tune_gc

BOOKS = 1000


def build_domain() -> Domain:
    domain = Domain(name="Backlog")
    domain.config["event_processing"] = "async"

    @domain.aggregate
    class Order:
        book_id = Identifier(required=True)

    @domain.event(part_of=Order)
    class OrderShipped:
        book_id = Identifier(required=True)
        quantity = Integer(required=True)

    for name in ["Stock", "Sales", "Audit"]:
        fields = {"book_id": Identifier(required=True), "total": Integer(default=0)}
        aggregate = domain.aggregate(type(name, (), fields))
        domain.event_handler(_handler_for(domain, aggregate, OrderShipped), part_of=aggregate, stream_category="order")
    domain.init()
    return domain


def _handler_for(domain: Domain, aggregate: type, event_cls: type) -> type:
    class Handler:
        @handle(event_cls)
        def on_shipped(self, event):
            repo = domain.repository_for(aggregate)
            row = repo.find_by(book_id=event.book_id)
            row.total += event.quantity
            repo.add(row)

    Handler.__name__ = Handler.__qualname__ = f"{aggregate.__name__}Handler"
    return Handler


def fill(domain: Domain, n: int) -> None:
    Order = domain.registry.aggregates["Order"]
    OrderShipped = domain.registry.events["OrderShipped"]
    with domain.domain_context():
        for name in ["Stock", "Sales", "Audit"]:
            repo = domain.repository_for(name)
            for b in range(BOOKS):
                repo.add(domain.registry.aggregates[name](book_id=f"book-{b}"))
        for i in range(n):
            order = Order(book_id=f"book-{i % BOOKS}")
            order.raise_(OrderShipped(book_id=order.book_id, quantity=1))
            domain.repository_for(Order).add(order)


def run(workdir: Path, n: int) -> float:
    path = workdir / f"backlog-{n}"
    if not path.exists():
        domain = build_domain()
        domain.bind_store(open_store(path))
        fill(domain, n)
        domain.close()
        shutil.copytree(path, workdir / f"pristine-{n}")
    else:
        shutil.rmtree(path)
        shutil.copytree(workdir / f"pristine-{n}", path)
    domain = build_domain()
    domain.bind_store(open_store(path))
    engine = Engine(domain)
    with domain.domain_context():
        start = time.perf_counter()
        tally = engine.process_until_idle()
        elapsed = time.perf_counter() - start
    assert tally.delivered == 3 * n, tally
    total = sum(r.total for r in domain.repository_for("Stock").all())
    assert total == n, total
    domain.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tune_gc()  # as the workbench CLI does
    workdir = Path(tempfile.mkdtemp(prefix="wb-async-"))
    try:
        for n in args.sizes:
            samples = [run(workdir, n) for _ in range(args.runs)]
            median = statistics.median(samples)
            print(
                f"backlog {n:>7} events x 3 handlers: {3 * n / median:>9,.0f} deliveries/s, "
                f"{median / (3 * n) * 1e6:.1f} us each (median of {args.runs}: "
                f"{', '.join(f'{s:.2f}s' for s in samples)})"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
