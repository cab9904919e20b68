"""The storage port's contract on a real PostgreSQL server, and how bad URLs fail."""

from __future__ import annotations

import itertools

import pytest
from workbench.core.exceptions import StoreError
from workbench.core.store import open_store
from workbench.core.store.contract import StorageContract
from workbench.core.store.port import StoragePort

pytestmark = pytest.mark.postgres
_schemas = itertools.count(1)


class TestPostgresStore(StorageContract):
    @pytest.fixture(autouse=True)
    def _server(self, postgres_server) -> None:
        self.server = postgres_server

    def make_store(self) -> StoragePort:
        # A schema of its own per test: a fresh, empty store on the shared server.
        self.url = f"{self.server.url}?schema=contract_{next(_schemas)}"
        return open_store(self.url)

    def open_again(self, store: StoragePort) -> StoragePort:
        return open_store(self.url)


def test_a_postgres_store_is_a_storage_port(postgres_server) -> None:
    store = open_store(f"{postgres_server.url}?schema=port_check")
    try:
        assert isinstance(store, StoragePort)
        assert store.location == f"{postgres_server.url}?schema=port_check"
    finally:
        store.close()


def test_a_server_that_is_down_is_one_clear_error(postgres_server) -> None:
    from workbench.throwaway_servers import free_port

    url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(StoreError, match=r"cannot open the PostgreSQL store at postgresql://postgres@127\.0\.0\.1"):
        open_store(url)


def test_the_password_never_shows_in_errors(postgres_server) -> None:
    url = postgres_server.url.replace("postgres@", "postgres:hunter2@").replace("/postgres", "/no_such_db")
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert "hunter2" not in str(caught.value)
    assert "no_such_db" in str(caught.value)
