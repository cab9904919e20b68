"""The composition root: a domain file plus a store make a ready :class:`Domain`."""

from __future__ import annotations

import os
from pathlib import Path

from workbench.core.domain import Domain
from workbench.core.loader import load_domain
from workbench.core.store import Store, open_store

DEFAULT_STORE = ".workbench"


def store_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the workbench keeps its store: the argument, ``WORKBENCH_STORE``, or
    ``.workbench`` in the working folder."""
    return Path(explicit or os.environ.get("WORKBENCH_STORE") or DEFAULT_STORE)


def bootstrap(
    domain_spec: str,
    *,
    store: Store | None = None,
    store_location: str | os.PathLike[str] | None = None,
    read_only: bool = False,
) -> Domain:
    """Load ``domain_spec`` and bind it to a store.

    Args:
        domain_spec: a domain file or module (see :func:`workbench.core.loader.load_domain`).
        store: an already open store (tests pass an in-memory one); wins over the rest.
        store_location: the store folder (default: :func:`store_path`).
        read_only: open the store without taking the writer lock.
    """
    domain = load_domain(domain_spec)
    if store is None:
        location = store_location or os.environ.get("WORKBENCH_STORE") or DEFAULT_STORE
        # A server URL (postgresql://...) goes to its adapter as written: a Path would fold its `//`.
        target = location if "://" in str(location) else store_path(location)
        store = open_store(target, read_only=read_only)
    domain.bind_store(store)
    return domain
