"""Subscribers: consume raw dict messages from a broker stream (an anti-corruption layer).

The embedded default broker keeps published messages in the store, under the category
``$broker:<stream>``; subscribers get the same retries, dead letters and ``handle_error``
as stream subscriptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from workbench.core._model import ElementMeta, derive_class
from workbench.core.context import current_message
from workbench.core.exceptions import ConfigurationError, IncorrectUsageError
from workbench.core.message import Message, checksum
from workbench.core.subscription_config import resolve as resolve_subscription

if TYPE_CHECKING:
    from workbench.core.domain import Domain

BROKER = "$broker"
SUBSCRIBER_OPTIONS = frozenset(
    {"stream", "broker", "subscription_type", "subscription_profile", "subscription_config", "suppress_checks"}
)


def broker_category(stream: str) -> str:
    """Where a broker stream's messages are kept: ``$broker:<stream>``."""
    return f"{BROKER}:{stream}"


class BaseSubscriber:
    """Base of every subscriber class: implement ``__call__(self, payload: dict)``."""

    meta_: ClassVar[ElementMeta]

    @classmethod
    def handle_error(cls, exc: Exception, message: Any) -> None:
        """Called after a failed delivery with the exception and the raw message dict."""

    @classmethod
    def methods_for(cls, type_string: str) -> list[str]:
        """Every broker message goes to ``__call__``."""
        return ["__call__"] if type_string == BROKER else []

    _handlers: ClassVar[dict[str, list[str]]] = {BROKER: ["__call__"]}


def register_subscriber(domain: Domain, cls: type, given: dict[str, Any]) -> type[BaseSubscriber]:
    """Derive and describe a subscriber."""
    unknown = set(given) - SUBSCRIBER_OPTIONS
    if unknown:
        raise ConfigurationError(
            f"Unknown option(s) {', '.join(sorted(unknown))} for subscriber `{cls.__name__}`; "
            f"valid options: {', '.join(sorted(SUBSCRIBER_OPTIONS))}"
        )
    if not given.get("stream"):
        raise IncorrectUsageError(f"Subscriber `{cls.__name__}` needs to be associated with a stream")
    if "__call__" not in vars(cls) and not any("__call__" in vars(b) for b in cls.__mro__[1:-1]):
        raise IncorrectUsageError(f"Subscriber `{cls.__name__}` must define `__call__(self, payload)`")
    options = {"subscription_type": "stream", **given}
    new_cls = derive_class(cls, BaseSubscriber)
    meta = ElementMeta(kind="SUBSCRIBER", domain=domain, options=options)
    meta.stream_category = broker_category(given["stream"])
    meta.stream_categories = [meta.stream_category]
    new_cls.meta_ = meta  # type: ignore[attr-defined]
    meta.subscription = resolve_subscription(domain, new_cls)
    return new_cls  # type: ignore[return-value]


def publish(domain: Domain, stream: str, payload: dict[str, Any]) -> Message:
    """Put a raw message on a broker stream; subscribers receive it like an event."""
    from workbench.core.unit_of_work import UnitOfWork

    if not isinstance(payload, dict):
        raise IncorrectUsageError(f"a broker message must be a JSON object, not {type(payload).__name__}")
    message_id = domain.new_message_id()
    parent = current_message()
    category = broker_category(stream)
    record = {
        "id": message_id,
        "type": BROKER,
        "kind": "BROKER",
        "stream_name": category,
        "stream_category": category,
        "position": None,
        "global_position": None,
        "time": domain.now_iso(),
        "data": payload,
        "metadata": {
            "correlation_id": parent.correlation_id if parent is not None else message_id,
            "causation_id": parent.id if parent is not None else None,
            "origin_stream": None,
            "asynchronous": domain.config.get("event_processing") == "async",
            "expected_version": None,
            "checksum": checksum(payload),
        },
    }
    with UnitOfWork(domain) as uow:
        uow.record_event(record)
    return Message(record)
