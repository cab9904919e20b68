"""The workbench command as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT, SHOP
from typer.testing import CliRunner
from workbench.cli.main import app

runner = CliRunner()


def test_info_shows_the_domain_map(tmp_path):
    result = runner.invoke(app, ["info", "--domain", str(SHOP), "--store", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert "ManageInventory" in result.stdout and "reduce_stock_level <- Domain.OrderShipped.v1" in result.stdout
    assert "in_stock: Integer(required)" in result.stdout
    assert "'in_stock': 90" not in result.stdout  # the file's own prints go to stderr


def test_missing_domain_is_one_line_and_exit_2(tmp_path):
    result = runner.invoke(app, ["info", "--domain", str(tmp_path / "nope.py")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: domain file {tmp_path / 'nope.py'} does not exist"]


def test_no_domain_given(monkeypatch):
    monkeypatch.delenv("WORKBENCH_DOMAIN", raising=False)
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 2 and "no domain given" in result.stderr


def test_broken_domain_without_and_with_debug(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("from protean import Domain\ndomain = Domain(\n")
    result = runner.invoke(app, ["info", "--domain", str(bad)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"syntax error in {bad}:2" in result.stderr
    debug = runner.invoke(app, ["--debug", "info", "--domain", str(bad)])
    assert debug.exit_code != 0 and debug.exception is not None


def test_console_script_runs_as_a_module(tmp_path):
    env = {**os.environ, "WORKBENCH_DOMAIN": str(SHOP), "WORKBENCH_STORE": str(tmp_path / "s")}
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "info"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Order" in result.stdout
