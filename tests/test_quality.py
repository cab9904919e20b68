"""The code stays lint-clean and type-checked, and the engine never imports its face."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is installed with the test extras")
def test_ruff_is_clean():
    result = subprocess.run(
        ["ruff", "check", "core", "cli", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_mypy_is_clean():
    pytest.importorskip("mypy")
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_core_does_not_import_the_cli_layer():
    pattern = re.compile(r"^\s*(import|from)\s+(typer|rich|prompt_toolkit|cli)\b", re.M)
    offenders = [str(p) for p in (ROOT / "core").rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
