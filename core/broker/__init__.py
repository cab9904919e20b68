"""Brokers: message streams shared by groups of consumers across processes and machines.

Importing this package does not import any client library; the Redis adapter imports
redis-py only when a ``redis://`` broker is opened.
"""

from __future__ import annotations

from typing import Any

from workbench.core.broker.port import (
    DLQ_SUFFIX,
    BrokerPort,
    Delivery,
    dlq_stream,
    open_broker,
    register_broker,
)

__all__ = ["DLQ_SUFFIX", "BrokerPort", "Delivery", "dlq_stream", "open_broker", "register_broker"]


def _open_redis(url: str, **options: Any) -> BrokerPort:
    try:
        from workbench.core.broker.redis_streams import RedisBroker
    except ImportError:
        from workbench.core.exceptions import StoreError

        raise StoreError("a redis:// broker needs redis-py: pip install 'workbench[redis]' (redis>=5)") from None
    return RedisBroker(url, **options)


for _scheme in ("redis", "rediss"):
    register_broker(_scheme, _open_redis)
