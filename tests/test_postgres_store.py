"""The storage port's contract on a real PostgreSQL server, and how its failures read."""

from __future__ import annotations

import pytest
from workbench.core.exceptions import StoreError
from workbench.core.store import open_store
from workbench.core.store.contract import StorageContract, event
from workbench.core.store.port import StoragePort

from workbench.throwaway_servers import RunningServer, free_port

psycopg = pytest.importorskip("psycopg")

pytestmark = pytest.mark.postgres


def reset(server: RunningServer) -> None:
    """Drop the store's tables so the next open starts empty."""
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS messages, documents, store_info; DROP SEQUENCE IF EXISTS documents_seq")


class TestPostgresStore(StorageContract):
    @pytest.fixture(autouse=True)
    def _server(self, postgres_server: RunningServer) -> None:
        self.server = postgres_server
        reset(postgres_server)

    def make_store(self) -> StoragePort:
        return open_store(self.server.url)

    def open_again(self, store: StoragePort) -> StoragePort:
        return open_store(self.server.url)


def test_the_adapter_is_a_storage_port(postgres_server: RunningServer) -> None:
    reset(postgres_server)
    store = open_store(postgres_server.url)
    try:
        assert isinstance(store, StoragePort)
        assert store.location == postgres_server.url
        # Commits are numbered store-wide: a second connection sees the first one's count.
        store.commit([], [event("order-1", 0)])
        store.commit([], [])
        other = open_store(postgres_server.url)
        assert store.commit_count() == other.commit_count() == 1  # type: ignore[attr-defined]
        other.close()
    finally:
        store.close()


def test_streams_are_stored_in_the_message_store_layout(postgres_server: RunningServer) -> None:
    reset(postgres_server)
    store = open_store(postgres_server.url)
    try:
        store.commit([], [event("order-lines-7", 0)])
    finally:
        store.close()
    with psycopg.connect(postgres_server.url) as conn:
        row = conn.execute(
            "SELECT id, stream_name, stream_category, type, position, global_position, data, metadata->>'expected_version'"
            " FROM messages"
        ).fetchone()
    assert row == ("order-lines-7#0", "order-lines-7", "order-lines", "Test.Happened.v1", 0, 1, {"n": 0}, None)


def test_a_read_only_store_refuses_commits(postgres_server: RunningServer) -> None:
    reset(postgres_server)
    store = open_store(postgres_server.url, read_only=True)
    try:
        with pytest.raises(StoreError, match="read-only"):
            store.commit([], [event("order-1", 0)])
    finally:
        store.close()


def test_a_server_that_is_down_is_one_line_naming_it() -> None:
    url = f"postgresql://postgres:secret@127.0.0.1:{free_port()}/shop"
    with pytest.raises(StoreError) as caught:
        open_store(url)
    message = str(caught.value)
    assert "\n" not in message and "secret" not in message
    assert message.startswith(f"cannot connect to PostgreSQL at postgresql://postgres@127.0.0.1:{url.split(':')[3]}")


def test_an_unknown_database_is_one_line_naming_it(postgres_server: RunningServer) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(postgres_server.url.rsplit("/", 1)[0] + "/no_such_db")
    assert "\n" not in str(caught.value) and "no_such_db" in str(caught.value)


def test_a_scratch_copy_holds_everything_and_writes_stay_in_it(postgres_server: RunningServer) -> None:
    from workbench.core.store.port import DocumentChange

    reset(postgres_server)
    store = open_store(postgres_server.url)
    try:
        store.commit(
            [DocumentChange("aggregate:order", "order_id", "o1", {"order_id": "o1", "_version": 0}, -1)],
            [event("order-1", 0, expected=-1), event("order-lines-1", 0), event("order-1", 1, expected=0)],
        )
        scratch = store.scratch_copy()  # type: ignore[attr-defined]
        assert scratch.read_all() == store.read_all()
        assert scratch.find("aggregate:order", "order_id", "o1") == [{"order_id": "o1", "_version": 0}]
        scratch.commit([], [event("order-1", 2, expected=1)])
        assert scratch.stream_version("order-1") == 2 and store.stream_version("order-1") == 1
        assert store.last_position() == 3
    finally:
        store.close()


def test_concurrent_writers_on_separate_connections_stay_gapless(postgres_server: RunningServer) -> None:
    import threading

    from workbench.core.exceptions import ExpectedVersionError

    reset(postgres_server)
    stores = [open_store(postgres_server.url) for _ in range(4)]
    conflicts = [0] * 4

    def write(n: int) -> None:
        # Every writer appends to its own stream and races the others on a shared one.
        for i in range(25):
            stores[n].commit([], [event(f"own{n}-1", i)])
            shared = stores[n].stream_version("shared-1")
            try:
                stores[n].commit([], [event("shared-1", n * 100 + i, expected=shared)])
            except ExpectedVersionError:
                conflicts[n] += 1

    try:
        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        events = stores[0].read_all()
        assert [e.global_position for e in events] == list(range(1, len(events) + 1))
        assert len(events) == 100 + 100 - sum(conflicts)
        assert [e.position for e in stores[0].read_stream("shared-1")] == list(range(100 - sum(conflicts)))
    finally:
        for store in stores:
            store.close()


def test_rows_looks_up_keys_and_iterates_in_insertion_order(postgres_server: RunningServer) -> None:
    from workbench.core.store.port import DocumentChange

    reset(postgres_server)
    store = open_store(postgres_server.url)
    try:
        store.commit([DocumentChange("t", "id", k, {"id": k, "n": i}) for i, k in enumerate(["b", "a", 3])])
        rows = store.rows("t")  # type: ignore[attr-defined]
        assert rows["a"] == {"id": "a", "n": 1} and rows[3] == {"id": 3, "n": 2} and "zzz" not in rows
        assert list(rows) == ["b", "a", 3] and len(rows) == 3 and rows["b"]["n"] == 0
        assert store.keys_where("t", "n", 1) == ["a"]  # type: ignore[attr-defined]
    finally:
        store.close()


def _round_trips(store, action) -> int:
    """How many times the client waited for the server during ``action`` (Sync messages sent, in libpq's trace)."""
    import tempfile

    pgconn = store._conn.pgconn  # type: ignore[attr-defined]
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        try:
            action()
        finally:
            pgconn.untrace()
        trace.seek(0)
        # Lines read "[timestamp] F|B length Message ...": each Sync (extended protocol) or Query (simple) waits.
        sent = [line.split("\t") for line in trace]
        return sum(1 for f in sent if "F" in f[:2] and any(x.startswith(("Sync", "Query")) for x in f[1:4]))


def test_a_commit_takes_one_round_trip_however_many_documents_and_streams(postgres_server: RunningServer) -> None:
    from workbench.core.exceptions import ExpectedVersionError
    from workbench.core.store.port import DocumentChange

    reset(postgres_server)
    store = open_store(postgres_server.url)
    try:
        store.commit([DocumentChange("t", "id", "a", {"id": "a", "_version": 0}, -1)], [event("order-1", 0)])
        docs = [
            DocumentChange("t", "id", "a", {"id": "a", "_version": 1}, 0),
            DocumentChange("t", "id", "b", {"id": "b", "_version": 0}, -1),
            DocumentChange("t", "id", "b", {"id": "b", "_version": 1}, 0),  # checked against the write before it
        ]
        events = [event("order-1", 1, expected=0), event("order-2", 0), event("invoice-9", 0, expected=-1)]
        assert _round_trips(store, lambda: store.commit(docs, events)) == 1
        assert [e.global_position for e in events] == [2, 3, 4] and [e.position for e in events] == [1, 0, 0]
        stale = [DocumentChange("t", "id", "a", {"id": "a", "_version": 9}, 0, label="Thing")]
        with pytest.raises(ExpectedVersionError, match=r"Thing\(a\), Version: 1"):
            store.commit(stale, [event("order-3", 0)])
        assert store.get("t", "a") == {"id": "a", "_version": 1} and store.event_count() == 4  # nothing written
        store.commit([DocumentChange("t", "id", "a", {"id": "a", "_version": 2}, 1)])  # the connection goes on
    finally:
        store.close()
