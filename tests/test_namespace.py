"""Installed, the workbench is one package, `workbench`, that lives beside a user's own `core` and `cli`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, build_shop
from workbench.core.store import open_store


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_") and k not in ("COLUMNS", "PYTHONPATH")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (found,) = out.glob("workbench-*.whl")
    return found


def test_the_wheel_installs_one_top_level_name_and_is_typed(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
        assert archive.read(top_level).decode().split() == ["workbench"]
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert "workbench = workbench.cli.main:main" in archive.read(entry_points).decode()
        assert "[pytest11]\nworkbench = workbench.pytest_plugin" in archive.read(entry_points).decode()
    roots = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert roots == {"workbench"}
    assert "workbench/py.typed" in names
    assert {"workbench/core/domain.py", "workbench/core/store/json_file.py", "workbench/cli/main.py"} <= set(names)
    assert {"workbench/pytest_plugin.py", "workbench/testing.py", "workbench/core/idempotency.py"} <= set(names)


def test_a_non_editable_install_runs_the_shop_demo_as_transcribed(wheel, tmp_path):
    # The venv sees the test machine's packages (typer, rich, ...) but gets its own,
    # non-editable workbench from the wheel, which comes first on its path.
    target = tmp_path / "venv"
    venv.create(target, system_site_packages=True, with_pip=True)
    python = target / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--quiet", "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    where = subprocess.run(
        [str(python), "-c", "import workbench.core; print(workbench.core.__file__)"],
        capture_output=True, text=True, cwd=tmp_path, env=clean_env(), check=True,
    ).stdout.strip()
    assert where.startswith(str(target)), where
    result = subprocess.run(
        [str(target / "bin" / "workbench"), "script", str(ROOT / "samples" / "shop" / "demo.wb")],
        capture_output=True, text=True, cwd=tmp_path, env=clean_env(), timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "samples" / "shop" / "demo.out").read_text()


def test_a_project_with_its_own_core_and_cli_packages_imports_both(tmp_path):
    project = tmp_path / "project"
    for package, module, text in (
        ("core", "models.py", "DEFAULT_STOCK = 42\n"),
        ("cli", "commands.py", "NAME = 'theirs'\n"),
    ):
        (project / package).mkdir(parents=True)
        (project / package / "__init__.py").write_text("")
        (project / package / module).write_text(text)
    (project / "domain.py").write_text(
        textwrap.dedent(
            """
            from core.models import DEFAULT_STOCK
            from cli.commands import NAME
            from protean import Domain
            from protean.fields import Identifier, Integer

            domain = Domain(name="Theirs")
            domain.config["event_processing"] = "sync"

            @domain.aggregate
            class Shelf:
                book_id = Identifier(required=True)
                in_stock = Integer(default=DEFAULT_STOCK)
            """
        )
    )
    console_script = str(Path(sys.executable).parent / "workbench")
    for command in ([console_script], [sys.executable, "-m", "workbench"]):
        result = subprocess.run(
            [*command, "new", "Shelf", "book_id=b1", "--domain", "domain.py", "--json"],
            capture_output=True, text=True, cwd=project, env=clean_env(), timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert '"in_stock": 42' in result.stdout
    both = subprocess.run(
        [sys.executable, "-c", "import core.models, cli.commands, workbench.core.domain, workbench.cli.main; "
         "print(core.models.DEFAULT_STOCK, cli.commands.NAME, workbench.core.domain.Domain.__name__)"],
        capture_output=True, text=True, cwd=project, env=clean_env(), timeout=60,
    )
    assert both.stdout.split() == ["42", "theirs", "Domain"], both.stderr


def test_open_tinydb_queries_the_whole_current_state(store_dir):
    from tinydb import Query

    from workbench import open_tinydb

    domain = build_shop(store=open_store(store_dir))
    Order, Inventory = domain.registry.aggregates.values()
    with domain.domain_context():
        repo = domain.repository_for(Inventory)
        repo.add(Inventory(book_id="b", in_stock=100))
        domain.store.compact()  # the snapshot on disk now holds the inventory ...
        order = Order(book_id="b", quantity=3)
        domain.repository_for(Order).add(order)
        order.ship_order()
        domain.repository_for(Order).add(order)  # ... and only the journal holds these
        with open_tinydb(store_dir) as db:
            shipped = db.table("events").search(Query().type.test(lambda t: t.endswith("OrderShipped.v1")))
            assert [event["data"]["quantity"] for event in shipped] == [3]
            assert db.table("aggregate:inventory").search(Query().book_id == "b")[0]["in_stock"] == 97
            db.table("aggregate:inventory").truncate()  # in memory only: the store is never written
    domain.close()
    with open_store(store_dir, read_only=True) as store:
        assert len(store.rows("aggregate:inventory")) == 1


def test_open_tinydb_names_a_missing_store(tmp_path):
    from workbench.core.exceptions import StoreError

    from workbench import open_tinydb

    with pytest.raises(StoreError, match="no store at"):
        open_tinydb(tmp_path / "nope")


def test_every_public_name_of_the_engine_is_importable_from_workbench():
    import workbench.core

    import workbench

    assert set(workbench.core.__all__) <= set(workbench.__all__)
    for name in workbench.__all__:
        assert getattr(workbench, name) is not None
