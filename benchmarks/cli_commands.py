"""CLI benchmark: start-up time, and commands on a store of 100,000 events.

Prints the median of --runs runs of each command, run as a real subprocess:

* ``workbench --help`` (start-up);
* ``streams``, ``events read <one stream>``, ``dlq list`` and ``dlq list --group`` on the big store
  (which also holds 1,000 dead letters);
* ``replay order --handler StockHandler`` (one find-by-and-save handler), as events/s.

    python benchmarks/cli_commands.py
    python benchmarks/cli_commands.py --events 20000 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from backlog_domain import build_domain, fill  # noqa: E402
from workbench.core.store import Change, open_store  # noqa: E402
from workbench.core.tuning import tune_gc  # noqa: E402

# A traceback through the engine into user code, so `dlq list --group` has frames to fingerprint.
TRACEBACK = (
    "Traceback (most recent call last):\n"
    f'  File "{HERE.parent / "core" / "subscription.py"}", line 200, in attempt\n'
    "    getattr(self.handler(), name)(event)\n"
    f'  File "{HERE / "backlog_domain.py"}", line 40, in audit\n'
    '    raise ValueError("synthetic")\n'
    "ValueError: synthetic\n"
)


def workbench(env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "workbench", *args], env=env, check=True, capture_output=True, cwd=HERE.parent
    )
    return time.perf_counter() - start


def replay_seconds(env: dict[str, str]) -> tuple[float, float]:
    """(whole command, the replay itself as the command reports it) in seconds."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "replay", "order", "--handler", "StockHandler", "--json"],
        env=env,
        check=True,
        capture_output=True,
        cwd=HERE.parent,
        text=True,
    )
    return time.perf_counter() - start, json.loads(result.stdout)["data"]["seconds"]


def build_store(path: Path, events: int) -> str:
    domain = build_domain()
    domain.bind_store(open_store(path))
    fill(domain, events)
    # Synthetic dead letters pointing at real messages, so `dlq list` has something to list.
    changes = []
    for message in domain.event_store.read("order", no_of_messages=1000):
        doc = {
            "id": f"dl-{message.global_position}",
            "handler": "AuditHandler",
            "category": "order",
            "subscription": "order:dlq",
            "message_id": message.id,
            "message_type": message.type,
            "global_position": message.global_position,
            "stream_name": message.stream_name,
            "error_type": "ValueError",
            "error": "synthetic",
            "traceback": TRACEBACK,
            "attempts": 3,
            "first_failed_at": message.time,
            "last_failed_at": message.time,
            "sequenced": False,
            "block_key": f"AuditHandler|{message.stream_name}",
        }
        changes.append(Change("dead_letters", "id", doc["id"], doc))
    domain.store.commit(changes)
    stream = message.stream_name
    domain.close()
    return stream


def median_of(runs: int, fn, *args) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    samples = [fn(*args) for _ in range(runs)]
    return statistics.median(samples), samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tune_gc()
    workdir = Path(tempfile.mkdtemp(prefix="wb-cli-"))
    try:
        store = workdir / "store"
        stream = build_store(store, args.events)
        env = {**os.environ, "WORKBENCH_DOMAIN": str(HERE / "backlog_domain.py"), "WORKBENCH_STORE": str(store)}
        help_time, samples = median_of(max(args.runs, 5), workbench, env, "--help")
        print(f"workbench --help: {help_time:.2f}s (median of {len(samples)})")
        for label, command in [
            ("streams", ["streams"]),
            ("events read <stream>", ["events", "read", stream]),
            ("dlq list", ["dlq", "list"]),
            ("dlq list --group (1,000 dead letters)", ["dlq", "list", "--group"]),
        ]:
            median, samples = median_of(args.runs, workbench, env, *command)
            print(f"{label} on {args.events:,} events: {median:.2f}s (median of {args.runs})")
        replays = []
        for _ in range(args.runs):
            copy = workdir / "replay-copy"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(store, copy)
            replays.append(replay_seconds({**env, "WORKBENCH_STORE": str(copy)}))
        whole = statistics.median(r[0] for r in replays)
        inner = statistics.median(r[1] for r in replays)
        print(
            f"replay order --handler StockHandler: {args.events / inner:,.0f} events/s while replaying "
            f"({inner:.2f}s); {args.events / whole:,.0f} events/s for the whole command with start-up and "
            f"load ({whole:.2f}s) (medians of {args.runs})"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
