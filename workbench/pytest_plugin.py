"""The workbench's pytest plugin (registered through the ``pytest11`` entry point).

Installing the workbench is enough; tests then use these fixtures:

``workbench``
    A factory: ``workbench.load("domain.py", processing="async")`` returns a
    :class:`~workbench.testing.DomainHarness` on a fresh store in the test's temporary
    folder, with deterministic ids and a virtual clock. Paths are relative to the test
    file's folder, then to the project root.
``workbench_domain``
    The harness of the domain named by ``@pytest.mark.workbench(domain=..., processing=...)``
    on the test (or its module/class), or by the ``workbench_domain`` ini option.
``workbench_engine``
    ``workbench_domain``'s async engine.

Every harness opened by a test is closed when the test ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.testing import DomainHarness, resolve_domain_file


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``workbench_domain`` and ``workbench_processing`` ini options."""
    parser.addini("workbench_domain", "Domain file or module the workbench_domain fixture loads.", default="")
    parser.addini(
        "workbench_processing", "Override the domain's event_processing (sync or async) in fixtures.", default=""
    )


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``workbench`` marker."""
    config.addinivalue_line(
        "markers", "workbench(domain=None, processing=None): the domain (and mode) the workbench_domain fixture loads"
    )


class Workbench:
    """Opens domains for one test, each on its own store under the test's temporary folder."""

    def __init__(self, tmp_path: Path, search: list[Path], processing: str | None) -> None:
        self._tmp_path = tmp_path
        self._search = search
        self._processing = processing
        self.opened: list[DomainHarness] = []

    def load(
        self, domain: str | os.PathLike[str], *, processing: str | None = None, deterministic: bool = True
    ) -> DomainHarness:
        """Load ``domain`` on a fresh store (see :meth:`DomainHarness.open`)."""
        store = self._tmp_path / f"store-{len(self.opened) + 1}"
        harness = DomainHarness.open(
            resolve_domain_file(domain, relative_to=self._search),
            store,
            processing=processing or self._processing,
            deterministic=deterministic,
        )
        self.opened.append(harness)
        return harness

    def close(self) -> None:
        """Close every harness this test opened."""
        for harness in self.opened:
            harness.close()
        self.opened.clear()


@pytest.fixture
def workbench(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workbench]:
    """A factory of domain harnesses on fresh stores: ``workbench.load("domain.py")``."""
    search = [Path(str(request.path)).parent, Path(str(request.config.rootpath))]
    processing = str(request.config.getini("workbench_processing") or "") or None
    factory = Workbench(tmp_path, search, processing)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def workbench_domain(request: pytest.FixtureRequest, workbench: Workbench) -> DomainHarness:
    """The domain named by the ``workbench`` marker or the ``workbench_domain`` ini option."""
    marker = request.node.get_closest_marker("workbench")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    if marker is not None and marker.args:
        options.setdefault("domain", marker.args[0])
    domain = options.pop("domain", None) or request.config.getini("workbench_domain")
    if not domain:
        raise pytest.UsageError(
            "workbench_domain needs a domain: @pytest.mark.workbench(domain='domain.py') "
            "or the workbench_domain ini option"
        )
    return workbench.load(domain, **options)


@pytest.fixture
def workbench_engine(workbench_domain: DomainHarness) -> Any:
    """The async engine of :func:`workbench_domain`."""
    return workbench_domain.engine
