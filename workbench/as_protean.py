"""``import workbench.as_protean`` makes ``import protean`` resolve to the workbench's engine.

The ``workbench`` command does this itself while it loads a domain file. Plain Python and
pytest do not, so a domain file written for Protean (``from protean import Domain``)
fails there with ``ModuleNotFoundError: No module named 'protean'``. One line before
importing it fixes that (in a test suite: at the top of ``conftest.py``)::

    import workbench.as_protean  # noqa: F401  -- `protean` now means the workbench
    from shop.domain import domain

Nothing is replaced when the real Protean is already imported.
"""

from __future__ import annotations

import sys

if "protean" not in sys.modules:
    from workbench.core import _protean_alias

    _protean_alias.install()
