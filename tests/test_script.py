"""Scripted demos: every sample's demo runs, and matches its checked-in transcript."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, check_golden

SAMPLES = sorted(p.parent for p in (ROOT / "samples").glob("*/demo.wb"))


def run_script(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_") and k != "COLUMNS"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_demo_matches_its_transcript(sample, tmp_path):
    result = run_script("script", str(sample / "demo.wb"), cwd=tmp_path)  # as the README runs it
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    transcript = sample / "demo.out"
    check_golden(transcript, result.stdout)
    assert not (tmp_path / ".workbench").exists()  # a fresh temporary store by default


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "domain.py").write_text((ROOT / "samples" / "shop" / "domain.py").read_text())
    script = tmp_path / "check.wb"
    script.write_text(text)
    return script


def test_a_failing_expect_stops_with_file_line_and_a_diff(tmp_path):
    script = write(
        tmp_path,
        "new Inventory book_id=b in_stock=5\n\n# comment\nexpect Inventory[book_id=b].in_stock == 6\n"
        "new Inventory book_id=c in_stock=1\n",
    )
    result = run_script("script", str(script))
    assert result.returncode == 1
    assert "expected Inventory[book_id=b].in_stock == 6\n  expected: 6\n  actual:   5" in result.stderr
    assert f"{script}:4: `expect Inventory[book_id=b].in_stock == 6` failed (exit 1)" in result.stderr
    assert "$ new Inventory book_id=c" not in result.stdout  # stopped at the failure


def test_keep_going_and_expected_failures(tmp_path):
    script = write(
        tmp_path,
        "! raise Nope\nexpect Inventory.count == 1\nnew Inventory book_id=b in_stock=5\n"
        "! expect Inventory.count == 3\nexpect Inventory.count == 1\n",
    )
    result = run_script("script", "--keep-going", str(script))
    assert result.returncode == 1
    assert f"{script}:2:" in result.stderr and f"{script}:5:" not in result.stderr
    assert "$ expect Inventory.count == 1" in result.stdout.splitlines()[-2]


def test_store_option_keeps_the_state(tmp_path):
    script = write(tmp_path, "new Inventory book_id=b in_stock=5\n")
    store = tmp_path / "kept"
    assert run_script("script", str(script), "--store", str(store)).returncode == 0
    assert run_script("script", str(script), "--store", str(store)).returncode == 0
    second = write(tmp_path, "expect Inventory.count == 2\n")
    assert run_script("script", str(second), "--store", str(store)).returncode == 0


def test_missing_script(tmp_path):
    result = run_script("script", str(tmp_path / "none.wb"))
    assert result.returncode == 2 and f"error: script {tmp_path / 'none.wb'} does not exist" in result.stderr
