"""PostgreSQL as the store: the storage port on a server many processes share.

Importing this package does not import psycopg; :func:`open_postgres` does, so the core
runs without the ``postgres`` extra until a ``postgresql://`` URL is opened.
"""

from __future__ import annotations

from typing import Any

from workbench.core.store.port import StoragePort, register_adapter

__all__ = ["open_postgres"]


def open_postgres(url: str, *, read_only: bool = False, **_options: Any) -> StoragePort:
    """Open the store in the PostgreSQL database at ``url`` (creating its tables if missing).

    Args:
        url: ``postgresql://user:password@host:port/database``.
        read_only: refuse commits.

    Raises:
        StoreError: the ``postgres`` extra is missing, or the server cannot be reached or
            refuses the credentials (one line naming the server).
    """
    try:
        from workbench.core.store.postgres.store import PostgresStore
    except ImportError:
        from workbench.core.exceptions import StoreError

        raise StoreError(
            "a postgresql:// store needs psycopg: pip install 'workbench[postgres]' (psycopg[binary]>=3)"
        ) from None
    return PostgresStore(url, read_only=read_only)  # type: ignore[return-value]


for _scheme in ("postgresql", "postgres"):
    register_adapter(_scheme, open_postgres)
