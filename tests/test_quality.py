"""The code stays lint-clean and type-checked, and the engine never imports its face."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT

SOURCES = ("core", "cli", "workbench")


def test_ruff_is_clean():
    # Through `python -m`, so a missing ruff fails here instead of skipping silently.
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *SOURCES, "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _installed_layout(view: Path) -> Path:
    """A folder laid out as the package installs (workbench/{core,cli}), made of symlinks.

    mypy maps file paths to module names and cannot follow setuptools' package-dir
    mapping, so it checks this view of the same files instead.
    """
    package = view / "workbench"
    package.mkdir(parents=True, exist_ok=True)
    for name in ("core", "cli"):
        link = package / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name, target_is_directory=True)
    for source in (ROOT / "workbench").iterdir():
        link = package / source.name
        if source.suffix in (".py", ".typed") and not link.is_symlink():
            link.symlink_to(source)
    return view


def test_mypy_is_clean():
    pytest.importorskip("mypy")
    # A fixed place (ignored by git) keeps mypy's cache warm between runs.
    view = _installed_layout(ROOT / ".mypy_cache" / "installed-layout")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "-p", "workbench"],
        cwd=view,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def _python_files(*folders: str) -> list[Path]:
    return [path for folder in folders for path in (ROOT / folder).rglob("*.py")]


def test_core_does_not_import_the_cli_layer():
    pattern = re.compile(r"^\s*(import|from)\s+(typer|rich|prompt_toolkit|click|workbench\.cli)\b", re.M)
    offenders = [str(p) for p in _python_files("core") if pattern.search(p.read_text())]
    assert offenders == []


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_nothing_imports_the_repository_folders_as_top_level_packages():
    # `core` and `cli` only exist as workbench.core and workbench.cli once installed.
    offenders = [
        f"{p}: {name}"
        for p in _python_files(*SOURCES, "tests", "benchmarks", "samples")
        for name in _imported_modules(p)
        if name.split(".")[0] in ("core", "cli")
    ]
    assert offenders == []


def test_every_subpackage_is_listed_for_installation():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {"workbench"} | {
        "workbench." + ".".join(init.parent.relative_to(ROOT).parts)
        for folder in ("core", "cli")
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert found == listed
