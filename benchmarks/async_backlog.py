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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from backlog_domain import build_domain, fill
from workbench.core.engine import Engine
from workbench.core.store import open_store
from workbench.core.tuning import tune_gc


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
