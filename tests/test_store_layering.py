"""Nothing outside the store package reaches into the store's internals.

The engine and the CLI see a store only through the storage port
(``workbench.core.store.port``) and the package's public names, so that another adapter
(a database server) can stand in for the embedded JSON store.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Modules of the store package others may import; the rest are its internals.
PUBLIC = {
    "workbench.core.store",
    "workbench.core.store.port",
    "workbench.core.store.names",
    "workbench.core.store.contract",
    "workbench.core.store.maintenance",  # `store check` / `store repair` of a store folder
    "workbench.core.store.tinydb_view",  # the read-only TinyDB view of a store folder
}
# Attributes of the embedded store that only the store package may touch.
INTERNAL_ATTRIBUTES = {"state", "persistence", "_commit_locked", "_lock", "load_report"}
INTERNAL_NAMES = {"StoreState", "JsonFilePersistence", "MemoryPersistence", "Persistence", "LoadReport"}


def _outside_the_store() -> list[Path]:
    files = [p for folder in ("core", "cli", "workbench") for p in (ROOT / folder).rglob("*.py")]
    return [p for p in files if (ROOT / "core" / "store") not in p.parents]


def _store_reaches(path: Path) -> list[str]:
    found = []
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("workbench.core.store"):
            if node.module not in PUBLIC:
                found.append(f"imports {node.module}")
            found += [f"imports {alias.name}" for alias in node.names if alias.name in INTERNAL_NAMES]
        elif isinstance(node, ast.Import):
            found += [
                f"imports {alias.name}"
                for alias in node.names
                if alias.name.startswith("workbench.core.store.") and alias.name not in PUBLIC
            ]
        elif isinstance(node, ast.Attribute) and node.attr in INTERNAL_ATTRIBUTES:
            owner = node.value
            # `store.state`, `domain.store.state`, `self.store.persistence`, ...
            if (isinstance(owner, ast.Name) and owner.id == "store") or (
                isinstance(owner, ast.Attribute) and owner.attr in ("store", "_store")
            ):
                found.append(f"line {node.lineno}: .{node.attr}")
    return found


def test_nothing_outside_the_store_package_touches_its_internals():
    offenders = {str(p.relative_to(ROOT)): reaches for p in _outside_the_store() if (reaches := _store_reaches(p))}
    assert offenders == {}


def test_the_check_finds_a_reach_into_the_store(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from workbench.core.store.state import StoreState\n"
        "from workbench.core.store import JsonFilePersistence\n"
        "def f(domain, store):\n"
        "    return domain.store.state.events, store.persistence\n"
    )
    assert sorted(_store_reaches(sample)) == [
        "imports JsonFilePersistence",
        "imports StoreState",
        "imports workbench.core.store.state",
        "line 4: .persistence",
        "line 4: .state",
    ]
