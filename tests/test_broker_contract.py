"""The broker contract suite on the embedded broker and on a real Redis server."""

from __future__ import annotations

import pytest
from workbench.core.broker import EmbeddedBroker, open_broker
from workbench.core.broker.contract import BrokerContract


class TestEmbeddedBroker(BrokerContract):
    def make_broker(self):
        return EmbeddedBroker()


@pytest.mark.redis
class TestRedisStreamsBroker(BrokerContract):
    @pytest.fixture(autouse=True)
    def _server(self, redis_server) -> None:
        self.url = redis_server.url

    def make_broker(self):
        return open_broker(self.url)

    def open_again(self, broker):
        return open_broker(self.url)


def test_a_broker_url_with_an_unknown_scheme_is_refused_by_name() -> None:
    from workbench.core.broker import BrokerError

    with pytest.raises(BrokerError, match=r"unknown broker 'kafka://x'"):
        open_broker("kafka://x")


@pytest.mark.redis
def test_a_redis_that_is_down_is_one_clear_error(redis_server) -> None:
    from workbench.core.broker import BrokerError

    from workbench.throwaway_servers import free_port

    with pytest.raises(BrokerError, match=r"cannot reach Redis at redis://127\.0\.0\.1:\d+/0") as caught:
        open_broker(f"redis://127.0.0.1:{free_port()}/0")
    assert "\n" not in str(caught.value)


@pytest.mark.redis
def test_wrong_redis_credentials_are_named_without_the_password(redis_server) -> None:
    from workbench.core.broker import BrokerError

    url = redis_server.url.replace("redis://", "redis://someone:secret@")
    with pytest.raises(BrokerError) as caught:
        open_broker(url)
    assert "secret" not in str(caught.value)
    assert "someone@127.0.0.1" in str(caught.value)
