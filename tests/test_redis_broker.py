"""The broker port's contract on a real Redis server, and how its failures read."""

from __future__ import annotations

import pytest
from servers import RedisServer, free_port
from workbench.core.broker import BrokerPort, open_broker
from workbench.core.broker.contract import BrokerContract
from workbench.core.exceptions import StoreError

pytest.importorskip("redis")

pytestmark = pytest.mark.redis


class TestRedisBroker(BrokerContract):
    @pytest.fixture(autouse=True)
    def _server(self, redis_server: RedisServer) -> None:
        self.url = redis_server.url

    def make_broker(self) -> BrokerPort:
        return open_broker(self.url)


def test_the_adapter_is_a_broker_port(redis_server: RedisServer) -> None:
    broker = open_broker(redis_server.url)
    try:
        assert isinstance(broker, BrokerPort) and broker.location == redis_server.url
    finally:
        broker.close()


def test_a_server_that_is_down_is_one_line_naming_it() -> None:
    url = f"redis://:secret@127.0.0.1:{free_port()}/0"
    with pytest.raises(StoreError) as caught:
        open_broker(url)
    message = str(caught.value)
    assert "\n" not in message and "secret" not in message
    assert message.startswith(f"cannot reach Redis at redis://127.0.0.1:{url.split(':')[3].split('/')[0]}/0")


def test_an_unknown_scheme_names_the_known_ones() -> None:
    with pytest.raises(StoreError, match=r"no broker adapter for 'kafka://x' \(known: redis://, rediss://\)"):
        open_broker("kafka://x")
