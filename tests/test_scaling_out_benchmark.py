"""benchmarks/scaling_out.py still runs end to end (its figures are printed, never asserted)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.redis
def test_scaling_out_prints_deliveries_for_one_and_two_workers(redis_server) -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/scaling_out.py", "--deliveries", "60", "--runs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Redis deliveries/s, 1 worker process," in result.stdout
    assert "Redis deliveries/s, 2 worker processes," in result.stdout
