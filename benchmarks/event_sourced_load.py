"""Loading an event-sourced aggregate with a long stream, with and without snapshots.

Builds one `Account` (``is_event_sourced=True``) whose stream holds N events (default
10,000), written through the aggregate in commits of --batch events on the durable
store, then reopens the store read-only and times ``repository.get(id)``: the load
replays from the latest snapshot (``snapshot_threshold``, default 10). For comparison,
the same stream in a domain whose threshold is never reached (a full replay), and the
state at a version half-way (``load(id, at_version=N // 2)``).

    python benchmarks/event_sourced_load.py                  # N = 10,000
    python benchmarks/event_sourced_load.py --events 100000 --runs 5
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

from workbench.core import Domain, apply
from workbench.core.fields import Float, Identifier, String
from workbench.core.store import open_store
from workbench.core.tuning import tune_gc


def build_domain(threshold: int) -> tuple[Domain, type]:
    domain = Domain(name="Bank")
    domain.config["event_processing"] = "sync"
    domain.config["snapshot_threshold"] = threshold

    @domain.event(part_of="Account")
    class Opened:
        account_id: Identifier(required=True)
        holder: String(required=True)

    @domain.event(part_of="Account")
    class Deposited:
        account_id: Identifier(required=True)
        amount: Float(required=True)

    @domain.aggregate(is_event_sourced=True)
    class Account:
        account_id: Identifier(identifier=True)
        holder: String()
        balance: Float()

        @apply
        def opened(self, event: Opened) -> None:
            self.account_id = event.account_id
            self.holder = event.holder
            self.balance = 0.0

        @apply
        def deposited(self, event: Deposited) -> None:
            self.balance += event.amount

    domain.init()
    account_cls = Account
    account_cls.Opened = Opened  # type: ignore[attr-defined]
    account_cls.Deposited = Deposited  # type: ignore[attr-defined]
    return domain, account_cls


def write_stream(path: Path, events: int, batch: int, threshold: int) -> float:
    """Seconds to write one account with ``events`` events (commits of ``batch``)."""
    domain, account_cls = build_domain(threshold)
    domain.bind_store(open_store(path))
    repo = domain.repository_for(account_cls)
    start = time.perf_counter()
    with domain.domain_context():
        account = account_cls(account_id="acc-1", holder="Ann")
        account.raise_(account_cls.Opened(account_id="acc-1", holder="Ann"))  # type: ignore[attr-defined]
        written = 1
        while written < events:
            for _ in range(min(batch, events - written)):
                account.raise_(account_cls.Deposited(account_id="acc-1", amount=1.0))  # type: ignore[attr-defined]
                written += 1
            repo.add(account)
    elapsed = time.perf_counter() - start
    domain.close()
    return elapsed


def load_times(path: Path, threshold: int, runs: int, at_version: int | None = None) -> list[float]:
    """Seconds per load of the account from a read-only reopened store (the store's opening excluded)."""
    domain, account_cls = build_domain(threshold)
    domain.bind_store(open_store(path, read_only=True))
    repo = domain.repository_for(account_cls)
    samples = []
    with domain.domain_context():
        for _ in range(runs):
            start = time.perf_counter()
            account = repo.load("acc-1", at_version=at_version)  # type: ignore[attr-defined]
            samples.append(time.perf_counter() - start)
    assert account is not None and account.holder == "Ann"
    domain.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument(
        "--batch", type=int, default=7, help="events per commit while writing (7: the last snapshot lags the head)"
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tune_gc()  # as the workbench CLI does

    workdir = Path(tempfile.mkdtemp(prefix="wb-es-bench-"))
    try:
        with_snapshots, without = workdir / "snapshots", workdir / "full"
        seconds = write_stream(with_snapshots, args.events, args.batch, threshold=10)
        print(f"wrote {args.events:,} events in commits of {args.batch}: {seconds:.2f}s")
        store = open_store(with_snapshots, read_only=True)
        snapshot = store.get("snapshot:account", "acc-1")
        store.close()
        at = snapshot["_version"] if snapshot else -1
        print(f"latest snapshot at version {at:,} of {args.events - 1:,}: a load replays {args.events - 1 - at} events")
        write_stream(without, args.events, args.batch, threshold=10**9)

        def report(label: str, samples: list[float]) -> None:
            shown = ", ".join(f"{s * 1000:.2f}" for s in samples)
            print(f"{label}: {statistics.median(samples) * 1000:.2f} ms (median of {len(samples)}: {shown} ms)")

        snapshots = load_times(with_snapshots, 10, args.runs)
        report(f"load with snapshots (every 10 events), {args.events:,} events", snapshots)
        report(f"load by full replay (no snapshot), {args.events:,} events", load_times(without, 10**9, args.runs))
        half = args.events // 2
        report(f"state at version {half:,} (replay to it)", load_times(with_snapshots, 10, args.runs, at_version=half))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
