"""The session's throwaway servers answer real clients on loopback ports."""

from __future__ import annotations

import pytest


@pytest.mark.postgres
def test_postgres_server_answers_sql(postgres_server) -> None:
    import psycopg

    with psycopg.connect(postgres_server.url) as conn:
        assert conn.execute("select 1 + 1").fetchone() == (2,)
    assert postgres_server.url.startswith("postgresql://postgres@127.0.0.1:")


@pytest.mark.redis
def test_redis_server_answers_commands(redis_server) -> None:
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.set("greeting", "hello")
    assert client.get("greeting") == b"hello"
    assert client.config_get("appendonly") == {"appendonly": "no"}
    client.close()
