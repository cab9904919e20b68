"""The benchmark scripts still run (their figures are printed, never asserted: the machine is noisy)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def _run(tmp_path: Path, *args: str) -> str:
    # A private cache, so the test never reuses (or leaves) a store in ~/.cache.
    env = {**os.environ, "WORKBENCH_BENCH_CACHE": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def test_million_runs_and_prints_its_table(tmp_path: Path) -> None:
    # --quick as a user runs it (5,000 events, 1 run): only that the script works end to end.
    out = _run(tmp_path, "benchmarks/million.py", "--quick")
    for heading in ("command", "median s", "peak MiB", "target", "result"):
        assert heading in out
    for row in ("streams", "events read", "events trace", "dlq list", "writer", "replay order"):
        assert row in out
    assert "on disk" in out


def test_ship_cycle_runs_with_its_floor(tmp_path: Path) -> None:
    out = _run(tmp_path, "benchmarks/ship_cycle.py", "--sizes", "200", "--runs", "1", "--fsync-n", "20")
    assert "ship cycles/s" in out
    assert "floor cycles/s" in out and "real/floor" in out
