"""Loading domain files: every way it can go wrong gets one clear message."""

from __future__ import annotations

import pytest
from workbench.core.exceptions import DomainLoadError
from workbench.core.loader import load_domain
from workbench.core.store import open_store


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_missing_file(tmp_path):
    with pytest.raises(DomainLoadError, match=r"domain file .*nope.py does not exist"):
        load_domain(str(tmp_path / "nope.py"))


def test_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "broken_syntax.py", "from protean import Domain\n\ndomain = Domain(\n")
    with pytest.raises(DomainLoadError, match=r"syntax error in .*broken_syntax.py:3"):
        load_domain(path)


def test_import_error_in_user_code_keeps_their_traceback_only(tmp_path):
    path = write(tmp_path, "bad_import.py", "from protean import Domain\nimport not_a_real_module_xyz\n")
    with pytest.raises(DomainLoadError) as info:
        load_domain(path)
    assert "bad_import.py:2" in str(info.value)
    assert "ModuleNotFoundError: No module named 'not_a_real_module_xyz'" in str(info.value)
    assert "bad_import.py" in info.value.details and "core/loader.py" not in info.value.details


def test_no_domain(tmp_path):
    path = write(tmp_path, "empty_domain.py", "x = 1\n")
    with pytest.raises(DomainLoadError, match="no Domain found in"):
        load_domain(path)


def test_several_domains_and_choosing_one(tmp_path):
    path = write(
        tmp_path,
        "two_domains.py",
        "from protean import Domain\nfirst = Domain(name='One')\nsecond = Domain(name='Two')\n",
    )
    with pytest.raises(DomainLoadError, match=r"several Domains .*\(first, second\)"):
        load_domain(path)
    assert load_domain(f"{path}:second").name == "Two"
    with pytest.raises(DomainLoadError, match="has no Domain named `third`"):
        load_domain(f"{path}:third")


def test_init_errors_become_load_errors(tmp_path):
    path = write(
        tmp_path,
        "bad_handler.py",
        "from protean import Domain, handle\n"
        "domain = Domain(name='B')\n"
        "@domain.aggregate\nclass A:\n    pass\n"
        "@domain.event_handler(part_of=A)\nclass H:\n    @handle(int)\n    def m(self, e):\n        pass\n",
    )
    with pytest.raises(DomainLoadError, match="`H.m` handles `int`"):
        load_domain(path)


def test_module_spec_and_env_store_ignored_during_import(tmp_path, monkeypatch):
    package = tmp_path / "shoppkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "model.py").write_text(
        "from protean import Domain\nfrom protean.fields import Integer\n"
        "domain = Domain(name='Pkg')\n"
        "@domain.aggregate\nclass Cart:\n    n = Integer()\n"
        "domain.init()\n"
        "domain.repository_for(Cart).add(Cart(n=1))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "env-store"))
    domain = load_domain("shoppkg.model", store=open_store(tmp_path / "real"))
    assert domain.store.location == str(tmp_path / "real")
    assert domain.store.rows("aggregate:cart") == {}
    assert not (tmp_path / "env-store").exists()
    with pytest.raises(DomainLoadError, match="domain module shoppkg.nothing was not found"):
        load_domain("shoppkg.nothing")
