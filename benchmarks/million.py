"""Million-event benchmark: whole CLI commands on a store of N ship cycles (issue 14's targets).

Builds a store of N ship cycles (one ``OrderShipped`` event each, the domain of
``ship_cycle.py``) plus a few dead letters ONCE, and caches it under
``~/.cache/workbench-bench/million-<N>-<stamp>`` (``<stamp>`` hashes the store package's
source, so a store rewrite gets a fresh build instead of a stale format; ``--rebuild``
forces one). Then runs each command as a fresh ``workbench --domain ... --store ...``
subprocess and prints, per command, the median wall time of ``--runs`` runs and the
child's peak RSS (``os.wait4``), against the issue's targets:

* ``streams``, ``events read <stream>``, ``events trace <id>``, ``dlq list``: < 1 s, < 500 MiB;
* a writer opening the store and committing one change (``workbench new Inventory``): < 2 s;
* ``replay order`` on stores of 10k, 100k and N events: >= 40,000 events/s, flat.

Writers and replays run on a copy of the cached store, so it never changes.

    python benchmarks/million.py                    # 1,000,000 events, 3 runs
    python benchmarks/million.py --events 100000
    python benchmarks/million.py --quick            # smoke: 5,000 events, 1 run (about 15 s)
    python benchmarks/million.py --events 100000 --only replay   # replay figures only
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import inspect
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from ship_cycle import build_domain  # noqa: E402
from workbench.core.tuning import tune_gc  # noqa: E402

from workbench import open_store  # noqa: E402

CACHE = Path(os.environ.get("WORKBENCH_BENCH_CACHE", Path.home() / ".cache" / "workbench-bench"))
DEAD_LETTERS = 5
READ_SECONDS, READ_MIB, WRITER_SECONDS, REPLAY_RATE = 1.0, 500.0, 2.0, 40_000.0
PARTS = ("reads", "writer", "replay")

DOMAIN_FILE = """\
# Written by benchmarks/million.py: the ship-cycle domain, with the dead-letter source.
import sys

sys.path.insert(0, {benchmarks!r})

from ship_cycle import build_domain  # noqa: E402

domain, _, _ = build_domain(dead_letter_source=True)
"""


@functools.cache
def store_stamp() -> str:
    """A stamp of the store format: a hash of the store package's source and the domain builder's.

    The one place that knows about the format. Hashing the source means any change to
    the store code builds a fresh cache rather than reading an old format; a store with
    a public format version could return that instead. Cached: ``inspect.getsource``
    rereads the file, so a later edit would otherwise give a garbled stamp mid-run.
    """
    digest = hashlib.sha256(inspect.getsource(build_domain).encode())
    spec = importlib.util.find_spec("workbench.core.store")
    folder = Path(spec.origin).parent if spec and spec.origin else HERE
    for source in sorted(folder.rglob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:10]


def disk_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def build_store(folder: Path, events: int) -> dict[str, object]:
    """Write ``events`` ship cycles and a few dead letters through the Domain API.

    Dead letters first, while the store is empty: the async engine then has nothing
    else to deliver, so the build does not pay for a pass over N events. The cycles run
    on the normal sync engine (no bulk path in the public API), one commit per save.
    """
    from workbench.core.engine import Engine

    start = time.perf_counter()
    store_path = folder / "store"
    domain, order_cls, inventory_cls = build_domain(dead_letter_source=True)
    domain.bind_store(open_store(store_path))
    audit_cls = domain.registry.aggregates["Audit"]
    with domain.domain_context():
        domain.config["event_processing"] = "async"
        audits = domain.repository_for(audit_cls)
        for i in range(DEAD_LETTERS):
            audit = audit_cls(reason=f"dead letter {i}")
            audit.flag()
            audits.add(audit)
        Engine(domain).process_until_idle(max_wait_seconds=30)
        domain.config["event_processing"] = "sync"
        orders = domain.repository_for(order_cls)
        inventories = domain.repository_for(inventory_cls)
        books = max(events // 10, 1)
        for i in range(books):
            inventories.add(inventory_cls(book_id=f"book-{i}", in_stock=10**9))
        step = max(events // 20, 1)
        for i in range(events):
            order = order_cls(book_id=f"book-{i % books}", quantity=1, total_amount=10)
            orders.add(order)
            order.ship_order()
            orders.add(order)
            if events >= 100_000 and (i + 1) % step == 0:
                print(f"  built {i + 1:,} / {events:,} cycles ({time.perf_counter() - start:.0f}s)", flush=True)
    stream = order.stream_name()
    event_id = domain.event_store.read(stream)[-1].id
    domain.close()
    return {"events": events, "stream": stream, "event_id": event_id, "build_seconds": time.perf_counter() - start}


def cached_store(events: int, rebuild: bool) -> tuple[Path, dict[str, object]]:
    """The cache folder for N events (built when missing or on --rebuild) and its metadata."""
    folder = CACHE / f"million-{events}-{store_stamp()}"
    meta_file = folder / "meta.json"
    if rebuild or not meta_file.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        print(f"building a store of {events:,} ship cycles in {folder} ...", flush=True)
        # In a child process: a parent grown by the build would inflate every measured
        # child's peak RSS (a forked child starts with the parent's pages until it execs).
        subprocess.run([sys.executable, __file__, "--build-into", str(folder), "--events", str(events)], check=True)
        meta = json.loads(meta_file.read_text())
        print(f"built in {meta['build_seconds']:.0f}s (normal sync engine, one commit per save)")
    meta = json.loads(meta_file.read_text())
    # Rewritten every time: a cache built from another checkout points at its benchmarks/.
    (folder / "domain.py").write_text(DOMAIN_FILE.format(benchmarks=str(HERE)))
    print(
        f"store of {events:,} events: {folder / 'store'} ({disk_mib(folder / 'store'):,.0f} MiB on disk; "
        f"built in {meta['build_seconds']:.0f}s)"
    )
    return folder, meta


@dataclass
class Sample:
    seconds: float
    peak_mib: float
    stdout: str


def workbench(folder: Path, store: Path, *args: str) -> Sample:
    """Run one whole command in a fresh interpreter; wall time and the child's peak RSS."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "workbench", "--domain", str(folder / "domain.py"), "--store", str(store), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=folder,
            text=True,
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if child.returncode != 0:
        raise SystemExit(f"workbench {' '.join(args)} failed ({child.returncode}):\n{text[-2000:]}")
    return Sample(elapsed, usage.ru_maxrss / 1024, text)  # ru_maxrss is in KiB on Linux


def fresh_copy(folder: Path, scratch: Path) -> Path:
    copy = scratch / "store-copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(folder / "store", copy)
    return copy


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=None, help="ship cycles in the big store (1,000,000)")
    parser.add_argument("--runs", type=int, default=None, help="runs per command (3)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached stores")
    # Small enough that tests/test_benchmarks.py can run it as is on a loaded machine: the
    # time goes to interpreter start-up in seven child commands, not to the store.
    parser.add_argument("--quick", action="store_true", help="smoke run: 5,000 events, 1 run")
    parser.add_argument(
        "--only", choices=PARTS, action="append", help="measure only this part (repeatable; default: all)"
    )
    parser.add_argument("--build-into", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_into is not None:
        tune_gc()
        meta = build_store(args.build_into, args.events)
        (args.build_into / "meta.json").write_text(json.dumps(meta))
        return
    parts = set(args.only or PARTS)
    events = args.events or (5_000 if args.quick else 1_000_000)
    runs = args.runs or (1 if args.quick else 3)
    store_stamp()  # now, while ship_cycle.py on disk matches the imported build_domain
    tune_gc()  # as the workbench CLI does

    big, meta = cached_store(events, args.rebuild)
    rows: list[tuple[str, str, str, str, str]] = []

    def add(row: tuple[str, str, str, str, str]) -> None:
        # Printed as soon as measured: at 1M events on main a full run takes tens of
        # minutes, and an interrupted run should still leave its figures behind.
        rows.append(row)
        print(f"  {row[0]}: {row[1]} s, {row[2]} MiB, {row[4]}", flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="wb-million-"))
    try:
        reads = [
            ("streams", ["streams"]),
            ("events read <stream>", ["events", "read", str(meta["stream"])]),
            ("events trace <id>", ["events", "trace", str(meta["event_id"])]),
            ("dlq list", ["dlq", "list"]),
        ]
        for label, command in reads if "reads" in parts else []:
            samples = [workbench(big, big / "store", *command) for _ in range(runs)]
            seconds = statistics.median(s.seconds for s in samples)
            mib = max(s.peak_mib for s in samples)
            target = f"< {READ_SECONDS:.0f} s, < {READ_MIB:.0f} MiB"
            add(
                (label, f"{seconds:.2f}", f"{mib:,.0f}", target, verdict(seconds < READ_SECONDS and mib < READ_MIB))
            )

        # The writer commits to a copy, so the cached store stays as built.
        if "writer" in parts:
            copy = fresh_copy(big, scratch)
            samples = [
                workbench(big, copy, "new", "Inventory", f"book_id=bench-{run}", "in_stock=1") for run in range(runs)
            ]
            seconds = statistics.median(s.seconds for s in samples)
            mib = max(s.peak_mib for s in samples)
            add(
                (
                    "writer: new Inventory",
                    f"{seconds:.2f}",
                    f"{mib:,.0f}",
                    f"< {WRITER_SECONDS:.0f} s",
                    verdict(seconds < WRITER_SECONDS),
                )
            )

        # Replay on a fresh copy each run (the real delivery work: handlers save to the copy).
        sizes = sorted({n for n in (10_000, 100_000) if n < events} | {events}) if "replay" in parts else []
        for n in sizes:
            folder = big if n == events else cached_store(n, args.rebuild)[0]
            whole, inner, mib = [], [], 0.0
            for _ in range(runs):
                copy = fresh_copy(folder, scratch)
                sample = workbench(folder, copy, "replay", "order", "--json")
                whole.append(sample.seconds)
                inner.append(float(json.loads(sample.stdout)["data"]["seconds"]))
                mib = max(mib, sample.peak_mib)
            rate = n / statistics.median(inner)
            add(
                (
                    f"replay order, {n:,} events",
                    f"{statistics.median(whole):.2f}",
                    f"{mib:,.0f}",
                    f">= {REPLAY_RATE:,.0f} ev/s",
                    f"{verdict(rate >= REPLAY_RATE)} {rate:,.0f} ev/s",
                )
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print()
    print(f"{events:,} events; medians of {runs} run(s); peak = max RSS of the child (noisy shared machine)")
    headings = ("command", "median s", "peak MiB", "target", "result")
    widths = [max(len(str(r[i])) for r in [headings, *rows]) for i in range(5)]
    for row in [headings, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip())
    print("replay ev/s counts the replay itself (as --json reports it); median s is the whole command")
    print("the writer and each replay run on a fresh copy of the cached store (real delivery, not --dry-run)")


if __name__ == "__main__":
    main()
