"""The workbench's commands on a PostgreSQL store: the shop demo, then reads from new processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parent.parent


def _workbench(*args: str, store: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WORKBENCH_STORE": store, "WORKBENCH_DOMAIN": str(ROOT / "samples/shop/domain.py")}
    env.pop("WORKBENCH_BROKER", None)
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_the_shop_demo_runs_on_postgres_and_other_processes_read_it(postgres_server) -> None:
    store = f"{postgres_server.url}?schema=cli_demo"
    demo = _workbench("script", "--store", store, "samples/shop/demo.wb", store=store)
    assert demo.returncode == 0, demo.stderr
    streams = _workbench("streams", "--json", store=store)
    assert streams.returncode == 0, streams.stderr
    counts = {row["category"]: row["events"] for row in json.loads(streams.stdout)["data"]["categories"]}
    assert counts["order"] == 3, counts
    read = _workbench("events", "read", "order", "--ids", store=store)
    assert read.returncode == 0, read.stderr
    assert read.stdout.count("000000-") >= 3
    status = _workbench("subscriptions", "status", store=store)
    assert status.returncode == 0 and "ManageInventory" in status.stdout, status.stderr
    replay = _workbench("replay", "order", "--dry-run", store=store)
    # A dry run replays on an in-memory copy: it shows the change and leaves the server's data alone.
    assert replay.returncode == 0 and '"from":95,"to":90' in replay.stdout, replay.stdout + replay.stderr
    again = _workbench("show", "Inventory", "--json", store=store)
    assert again.returncode == 0 and '"in_stock": 95' in again.stdout, again.stdout + again.stderr


def test_a_postgres_server_that_is_down_is_one_line_and_a_failure(postgres_server) -> None:
    from workbench.throwaway_servers import free_port

    result = _workbench("streams", store=f"postgresql://postgres@127.0.0.1:{free_port()}/postgres")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    (line,) = [one for one in result.stderr.splitlines() if one.strip()]
    assert "cannot open the PostgreSQL store at postgresql://postgres@127.0.0.1:" in line
