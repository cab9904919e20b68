"""benchmarks/scaling_out.py still runs end to end (its figures are printed, never asserted)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.redis
@pytest.mark.postgres
def test_scaling_out_prints_deliveries_for_one_and_two_workers(redis_server, postgres_server) -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/scaling_out.py", "--cycles", "30", "--deliveries", "60", "--runs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "ship cycles/s on the embedded store, N=30," in result.stdout
    assert "ship cycles/s on PostgreSQL, N=30," in result.stdout
    assert "Redis deliveries/s, 1 worker process," in result.stdout
    assert "Redis deliveries/s, 2 worker processes," in result.stdout
