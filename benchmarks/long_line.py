"""Long command lines: splitting and running one script/shell line of 0.6 MB and 2 MB.

Prints the median of --runs runs of:

* splitting the line into words (``workbench.cli.words.split_words``), beside ``shlex.split``
  for the 0.6 MB line (the old splitter; quadratic on one long token);
* running the whole line through the interpreter (``new Inventory book_id=<long> in_stock=1``
  on a shell session over a store on disk).

    python benchmarks/long_line.py
    python benchmarks/long_line.py --runs 3 --no-shlex
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from workbench.cli import session as sessions  # noqa: E402
from workbench.cli.interpreter import Interpreter  # noqa: E402
from workbench.cli.words import split_words  # noqa: E402

SHOP = HERE.parent / "samples" / "shop" / "domain.py"


def median_seconds(runs: int, work) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-shlex", action="store_true", help="skip the slow shlex figure")
    args = parser.parse_args()
    for megabytes in (0.6, 2.0):
        value = "x" * int(megabytes * 1_000_000)
        line = f"new Inventory book_id='{value}' in_stock=1"
        split = median_seconds(args.runs, lambda line=line: split_words(line))
        print(f"split_words, {megabytes} MB line: {split * 1000:.1f} ms (median of {args.runs})")
        if megabytes < 1 and not args.no_shlex:
            old = median_seconds(1, lambda line=line: shlex.split(line))
            print(f"shlex.split, {megabytes} MB line: {old * 1000:.1f} ms (one run)")
        with tempfile.TemporaryDirectory() as folder:
            session = sessions.Session(sessions.Settings(domain=str(SHOP), store=str(Path(folder) / "s")))
            session.load(write=True)
            shell = Interpreter(session)
            try:
                # The saved aggregate's table would print 2 MB: measure the work, not the terminal.
                with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                    ran = median_seconds(args.runs, lambda line=line, shell=shell: shell.execute(line))
            finally:
                shell.close()
        what = f"interpreter.execute, {megabytes} MB line (split, parse, save)"
        print(f"{what}: {ran * 1000:.1f} ms (median of {args.runs})")


if __name__ == "__main__":
    main()
