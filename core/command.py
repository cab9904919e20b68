"""Commands: immutable requests to change one aggregate, stored in their own stream.

A command of ``Order`` is stored in ``order:command-<id>`` (Protean's
``<category>:command-<id>``), where ``<id>`` is the command's identifier field when it
has one, else the message id. ``@domain.command(stream_category="manage_order")`` (a
workbench extension) stores it in ``manage_order-<id>`` instead, so event handlers can
filter with ``source_stream="manage_order"`` on the events its handler raises.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from workbench.core._model import ElementMeta, collect_fields, derive_class
from workbench.core._stored_message import StoredMessageModel, fqn_of
from workbench.core.context import current_message
from workbench.core.exceptions import ConfigurationError, IncorrectUsageError
from workbench.core.message import checksum

if TYPE_CHECKING:
    from workbench.core.domain import Domain

COMMAND = "COMMAND"
COMMAND_OPTIONS = frozenset(
    {"abstract", "aggregate_cluster", "part_of", "published", "version", "stream_category", "suppress_checks"}
)


class BaseCommand(StoredMessageModel):
    """Base of every command class (``@domain.command`` derives plain classes from it)."""

    def __init__(self, *template: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*template, **kwargs)
        id_field = type(self).meta_.id_field
        if id_field and self.__dict__.get(id_field) is None:
            domain = type(self).meta_.domain
            assert domain is not None
            # An identifier without a value gets a fresh one, as in Protean.
            self.__dict__[id_field] = domain.new_id()


def register_command(domain: Domain, cls: type, given: dict[str, Any]) -> type[BaseCommand]:
    """Derive and describe a command class (``part_of`` is resolved at ``init``)."""
    from workbench.core._registry import _options

    opts = _options(cls, given, COMMAND_OPTIONS, "command")
    if not opts.get("part_of") and not opts.get("abstract"):
        raise IncorrectUsageError(f"Command `{cls.__name__}` needs to be associated with an aggregate (part_of=...)")
    declared = cls.__dict__.get("__version__")
    if declared is not None and "version" in given:
        raise IncorrectUsageError(f"`{cls.__name__}` declares its version twice (__version__ and version=)")
    version = int(given.get("version", declared or 1))
    new_cls = derive_class(cls, BaseCommand)
    fields = collect_fields(new_cls)
    id_fields = [name for name, f in fields.items() if f.identifier]
    if len(id_fields) > 1:
        raise IncorrectUsageError(
            f"command `{cls.__name__}` has more than one identifier field: {', '.join(id_fields)}"
        )
    meta = ElementMeta(
        kind=COMMAND,
        domain=domain,
        fields=fields,
        id_field=id_fields[0] if id_fields else None,
        part_of=opts.get("part_of"),
        abstract=bool(opts.get("abstract")),
        version=version,
        options=opts,
    )
    meta.finish()
    meta.fqn = fqn_of(cls)
    new_cls.meta_ = meta  # type: ignore[attr-defined]
    new_cls.__type__ = f"{domain.camel_case_name}.{cls.__name__}.v{version}"  # type: ignore[attr-defined]
    return new_cls  # type: ignore[return-value]


def resolve_command(domain: Domain, command: type[BaseCommand]) -> None:
    """Resolve ``part_of`` and the category the command's stream belongs to."""
    from workbench.core._registry import resolve_part_of

    meta = command.meta_
    meta.part_of = resolve_part_of(domain, command, meta.part_of)
    explicit = meta.options.get("stream_category")
    if explicit:
        category = domain.normalize_category(str(explicit))
        if "-" in category:
            raise ConfigurationError(
                f"command `{command.__name__}`: stream_category {explicit!r} must not contain `-` "
                "(the part before the first `-` of a stream is its category)"
            )
        meta.stream_category = category
    else:
        meta.stream_category = f"{meta.part_of.meta_.stream_category}:command"


def command_record(
    domain: Domain, command: BaseCommand, *, asynchronous: bool, correlation_id: str | None = None
) -> dict[str, Any]:
    """The store record of ``command`` issued now.

    A command issued while a message is handled is caused by it, shares its correlation
    and records its stream as ``origin_stream`` (as Protean does for commands issued
    from event handlers).
    """
    meta = type(command).meta_
    data = command._fields_json()
    message_id = domain.new_message_id()
    identity = data.get(meta.id_field) if meta.id_field else None
    category = meta.stream_category or ""
    parent = current_message()
    return {
        "id": message_id,
        "kind": COMMAND,
        "type": type(command).__type__,
        "stream_name": f"{category}-{identity if identity is not None else message_id}",
        "stream_category": category,
        "position": None,
        "global_position": None,
        "time": domain.now_iso(),
        "data": data,
        "metadata": {
            "correlation_id": correlation_id or (parent.correlation_id if parent is not None else message_id),
            "causation_id": parent.id if parent is not None else None,
            "origin_stream": parent.stream_name if parent is not None else None,
            "asynchronous": asynchronous,
            "expected_version": None,
            "checksum": checksum(data),
        },
    }


def is_command(record: dict[str, Any]) -> bool:
    """True for a stored command (not an event or a broker message)."""
    return record.get("kind") == COMMAND


def expired(domain: Domain, record: dict[str, Any]) -> bool:
    """True when a command's deadline (if it has one) has passed on the domain's clock."""
    deadline = record["metadata"].get("deadline")
    if deadline is None:
        return False
    return bool(domain.timestamp() >= _dt.datetime.fromisoformat(deadline).timestamp())


def resolve_deadline(domain: Domain, deadline: _dt.datetime | None, timeout: _dt.timedelta | None) -> str | None:
    """The absolute deadline (ISO 8601) from ``deadline`` or ``timeout`` (measured on the domain's clock).

    Raises:
        IncorrectUsageError: both were given.
    """
    if deadline is not None and timeout is not None:
        raise IncorrectUsageError("give a command either a deadline or a timeout, not both")
    if timeout is not None:
        deadline = _dt.datetime.fromtimestamp(domain.timestamp(), _dt.UTC) + timeout
    if deadline is None:
        return None
    if deadline.tzinfo is None:
        deadline = deadline.replace(tzinfo=_dt.UTC)  # a naive time is taken as UTC
    return deadline.isoformat()
