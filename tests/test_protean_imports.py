"""Every Protean 0.18 import a domain file writes either works or stops the load with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from workbench.core.loader import load_domain
from workbench.core.store import open_store

IMPORTS = """\
from protean import Domain, handle, invariant, apply, atomic_change, current_uow, g, Q, F
from protean.fields import (
    Decimal, Status, Custom, HasMany, HasOne, Reference, ValueObject, ValueObjectList, Method, Nested,
    Integer, String,
)
from protean.exceptions import InvalidDataError, InvalidOperationError, InvalidStateError, SendError
from protean.utils import fqn, utcnow_func, DomainObjects
from protean.utils.query import Q as QueryQ
from protean.utils.globals import g as globals_g, current_uow as globals_uow
from protean.core.entity import BaseEntity
from protean.core.value_object import BaseValueObject
from protean.core.command import BaseCommand
from protean.core.command_handler import BaseCommandHandler
from protean.core.repository import BaseRepository
from protean.core.domain_service import BaseDomainService
from protean.core.application_service import BaseApplicationService
"""

WORKING_DOMAIN = (
    IMPORTS
    + """
domain = Domain(name="Shelf")
domain.config["event_processing"] = "sync"

@domain.event(part_of="Book")
class Shelved:
    book_id = String()
    copies = Integer()

@domain.aggregate
class Book:
    title = String()
    copies = Integer(default=0)
    sold = Integer(default=0)

    def shelve(self, n):
        with atomic_change(self):
            self.copies += n
        self.raise_(Shelved(book_id=self.id, copies=n))

@domain.event_handler(part_of=Book)
class Audit:
    @handle(Shelved)
    def seen(self, event):
        assert current_uow and current_uow.in_progress
        g.audited = g.get("audited", 0) + 1
        assert QueryQ is Q and globals_g is g and globals_uow is current_uow
        assert fqn(Book).endswith(".Book") and utcnow_func().tzinfo is not None
        assert DomainObjects.AGGREGATE.value == "AGGREGATE"
        repo = domain.repository_for(Book)
        if not repo.query.filter(Q(copies__gt=F("sold"))).count():
            raise InvalidStateError("no copies")
"""
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shelf.py"
    path.write_text(text)
    return path


def test_the_imports_load_and_the_supported_ones_work(tmp_path):
    domain = load_domain(str(write(tmp_path, WORKING_DOMAIN)), store=open_store(tmp_path / "store"))
    book_cls = next(iter(domain.registry.aggregates.values()))
    with domain.domain_context():
        book = book_cls(title="Dune")
        book.shelve(3)
        domain.repository_for(book_cls).add(book)
        from protean import g

        assert g.audited == 1
    domain.close()


def failed_info(path: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`workbench info` on a domain file that must fail to load: the result and its non-blank lines."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("workbench")), "--domain", str(path), "--store", str(tmp_path / "s"), "info"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    return result, [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ("@domain.aggregate\nclass A:\n    price = Decimal(max_digits=5)\n", "`A.price`: the `Decimal` field"),
        ("class Repo(BaseRepository):\n    pass\n", "custom repositories"),
        ("@domain.process_manager\nclass P:\n    pass\n", "process managers"),
        ("@domain.aggregate\nclass A:\n    state = Status(['a'])\n", "`A.state`: the `Status` field"),
    ],
)
def test_using_a_feature_not_supported_yet_fails_at_load_with_one_line(tmp_path, usage, expected):
    path = write(tmp_path, IMPORTS + "domain = Domain(name='Shelf')\n" + usage)
    result, lines = failed_info(path, tmp_path)
    assert len(lines) == 1, lines
    assert expected in lines[0] and "not supported yet" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_name_protean_does_not_have_is_still_an_import_error(tmp_path):
    path = write(tmp_path, "from protean.fields import Integr\n")
    with pytest.raises(Exception, match="cannot import name 'Integr'"):
        load_domain(str(path))


def test_tools_probing_a_stand_in_with_hasattr_get_false_not_a_crash():
    from workbench.core import _protean_alias

    _protean_alias.install()
    from protean.core.repository import BaseRepository

    assert not hasattr(BaseRepository, "get_all")
    assert "not supported yet" in repr(BaseRepository)


def test_a_misspelt_annotation_is_one_line_from_the_cli(tmp_path):
    path = tmp_path / "parcels.py"
    path.write_text(
        "from __future__ import annotations\n"
        "from protean import Domain\n"
        "from protean.fields import Integer\n"
        "domain = Domain(name='Parcels')\n"
        "@domain.aggregate\n"
        "class Parcel:\n"
        "    weight: Integr(min_value=0)\n"
    )
    result, lines = failed_info(path, tmp_path)
    assert len(lines) == 1, lines
    assert "`Parcel.weight`: unknown name `Integr`" in lines[0]
