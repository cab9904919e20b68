"""Benchmark of the handler checks: `check idempotency` and `check determinism` on the loyalty sample.

Builds a store of N ``OrderPlaced`` events (processed by the three loyalty handlers), then
prints the median of --runs runs of each check, in messages per second per handler
(each check delivers every message to each of the three handlers: twice for
idempotency, twice over the history for determinism).

    python benchmarks/checks.py
    python benchmarks/checks.py --events 2000 --runs 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from workbench.core.engine import Engine  # noqa: E402
from workbench.core.idempotency import check_determinism, check_idempotency  # noqa: E402
from workbench.core.loader import load_domain  # noqa: E402
from workbench.core.store import open_store  # noqa: E402
from workbench.core.tuning import tune_gc  # noqa: E402

LOYALTY = HERE.parent / "samples" / "loyalty" / "domain.py"


def build(path: Path, events: int) -> None:
    domain = load_domain(str(LOYALTY), store=open_store(path))
    with domain.domain_context():
        placed = domain.registry.events["OrderPlaced"]
        for n in range(events):
            domain.event_store.append(
                placed(order_id=f"o-{n}", customer=f"c-{n % 100}", total=n), aggregate_id=f"o-{n}"
            )
        Engine(domain).process_until_idle()
    domain.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tune_gc()
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "store"
        build(store, args.events)
        domain = load_domain(str(LOYALTY), store=open_store(store, read_only=True))
        for name, check in (("check idempotency", check_idempotency), ("check determinism", check_determinism)):
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                reports = check(domain)
                times.append(time.perf_counter() - start)
            median = statistics.median(times)
            checked = sum(r.checked for r in reports)
            print(
                f"{name}: {args.events:,} events x {len(reports)} handlers, {checked:,} messages checked "
                f"in {median:.2f} s (median of {args.runs}): {checked / median:,.0f} messages/s"
            )
        domain.close()


if __name__ == "__main__":
    main()
