"""Subscription settings of async handlers: profiles, defaults and their priority.

Priority, lowest first: built-in defaults; the domain config's server defaults
(``config["server"]``, including ``default_subscription_profile``); the per-handler
entry ``config["server"]["subscriptions"][HandlerName]`` (its ``profile`` first, then its
keys); the handler's ``subscription_profile``; the handler's own ``subscription_type``,
``subscription_config`` and ``source_stream``. Unlike Protean, a server-level default
profile really applies (Protean's always-present server defaults overwrite it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from workbench.core.exceptions import ConfigurationError

if TYPE_CHECKING:
    from workbench.core.domain import Domain

STREAM = "stream"
EVENT_STORE = "event_store"
TYPES = (STREAM, EVENT_STORE)
ORDERINGS = ("independent", "sequenced")

PROFILES: dict[str, dict[str, Any]] = {
    "production": {
        "subscription_type": STREAM,
        "messages_per_tick": 100,
        "blocking_timeout_ms": 5000,
        "max_retries": 3,
        "retry_delay_seconds": 1,
        "enable_dlq": True,
        "position_update_interval": 10,
    },
    "fast": {
        "subscription_type": STREAM,
        "messages_per_tick": 10,
        "blocking_timeout_ms": 100,
        "max_retries": 2,
        "retry_delay_seconds": 0,
        "enable_dlq": True,
        "position_update_interval": 5,
    },
    "batch": {
        "subscription_type": STREAM,
        "messages_per_tick": 500,
        "blocking_timeout_ms": 10000,
        "max_retries": 5,
        "retry_delay_seconds": 2,
        "enable_dlq": True,
        "position_update_interval": 50,
    },
    "debug": {
        "subscription_type": STREAM,
        "messages_per_tick": 1,
        "blocking_timeout_ms": 1000,
        "max_retries": 1,
        "retry_delay_seconds": 0,
        "enable_dlq": False,
        "position_update_interval": 1,
    },
    "projection": {
        "subscription_type": EVENT_STORE,
        "messages_per_tick": 100,
        "blocking_timeout_ms": 5000,
        "max_retries": 3,
        "retry_delay_seconds": 1,
        "enable_dlq": False,
        "position_update_interval": 10,
    },
}

DEFAULTS: dict[str, Any] = {
    "subscription_type": EVENT_STORE,
    "messages_per_tick": 100,
    "blocking_timeout_ms": 100,
    "max_retries": 3,
    "retry_delay_seconds": 1,
    "enable_dlq": True,
    "position_update_interval": 10,
    "dlq_ordering": "independent",
    "origin_stream": None,
}

# Keys a subscription_config (or a server entry) may set.
CONFIG_KEYS = tuple(k for k in DEFAULTS if k not in ("subscription_type", "origin_stream"))
_POSITIVE = ("messages_per_tick", "blocking_timeout_ms", "position_update_interval", "max_retries")


@dataclass(frozen=True)
class SubscriptionConfig:
    """The resolved settings of one handler's subscription."""

    subscription_type: str
    messages_per_tick: int
    blocking_timeout_ms: int
    max_retries: int
    retry_delay_seconds: float
    enable_dlq: bool
    position_update_interval: int
    dlq_ordering: str
    origin_stream: str | None

    @property
    def sequenced(self) -> bool:
        """True when a dead letter holds back later messages of its stream."""
        return self.dlq_ordering == "sequenced"

    def retry_delay(self, failed_attempts: int) -> float:
        """Seconds before the next attempt: exponential backoff from ``retry_delay_seconds``."""
        return float(self.retry_delay_seconds) * (2 ** max(failed_attempts - 1, 0))

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (for ``workbench info`` and ``--json``)."""
        return asdict(self)


def _profile(name: Any, where: str) -> dict[str, Any]:
    if name not in PROFILES:
        raise ConfigurationError(
            f"{where}: unknown subscription profile {name!r}; valid profiles: {', '.join(PROFILES)}"
        )
    return PROFILES[name]


def _keys(values: dict[str, Any], where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown subscription setting(s) {', '.join(unknown)}; valid settings: {', '.join(allowed)}"
        )
    return {k: v for k, v in values.items() if v is not None}


def resolve(domain: Domain, handler: type) -> SubscriptionConfig:
    """The subscription settings of ``handler`` after every layer is applied.

    Raises:
        ConfigurationError: an unknown profile, type, setting or a bad value, naming
            where it was written.
    """
    name = handler.__name__
    options = handler.meta_.options  # type: ignore[attr-defined]
    server = dict(domain.config.get("server") or {})
    per_handler = dict((server.pop("subscriptions", None) or {}).get(name) or {})
    settings = dict(DEFAULTS)

    where = "config['server']"
    if server.get("default_subscription_profile"):
        settings.update(_profile(server["default_subscription_profile"], where))
    server_keys = {k: v for k, v in server.items() if k not in ("default_subscription_profile",)}
    if "default_subscription_type" in server_keys:
        server_keys["subscription_type"] = server_keys.pop("default_subscription_type")
    settings.update(_keys(server_keys, where, ("subscription_type", *CONFIG_KEYS)))

    where = f"config['server']['subscriptions']['{name}']"
    if per_handler.get("profile"):
        settings.update(_profile(per_handler.pop("profile"), where))
    settings.update(_keys(per_handler, where, ("subscription_type", *CONFIG_KEYS)))

    where = f"event handler `{name}`"
    if options.get("subscription_profile"):
        settings.update(_profile(options["subscription_profile"], where))
    if options.get("subscription_type"):
        settings["subscription_type"] = options["subscription_type"]
    settings.update(_keys(dict(options.get("subscription_config") or {}), where, CONFIG_KEYS))
    if options.get("source_stream"):
        settings["origin_stream"] = domain.normalize_category(options["source_stream"])

    if settings["subscription_type"] not in TYPES:
        raise ConfigurationError(
            f"{where}: unknown subscription type {settings['subscription_type']!r}; valid types: {', '.join(TYPES)}"
        )
    if settings["dlq_ordering"] not in ORDERINGS:
        raise ConfigurationError(
            f"{where}: unknown dlq_ordering {settings['dlq_ordering']!r}; valid orderings: {', '.join(ORDERINGS)}"
        )
    for key in _POSITIVE:
        if not isinstance(settings[key], int) or isinstance(settings[key], bool) or settings[key] < 1:
            raise ConfigurationError(f"{where}: {key} must be a positive whole number, not {settings[key]!r}")
    if settings["subscription_type"] == EVENT_STORE:
        settings["enable_dlq"] = False  # event-store subscriptions have no DLQ, as in Protean
    return SubscriptionConfig(**settings)
