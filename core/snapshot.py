"""Snapshots of event-sourced aggregates, so loading a long stream stays cheap.

A snapshot is an ordinary document in the ``snapshot:<aggregate>`` table, keyed by the
aggregate's id: ``{"id", "aggregate", "_version", "state"}``, the state after the event
at stream position ``_version``. It is written in the same commit as the events that
take the aggregate ``snapshot_threshold`` (Protean's setting, default 10) or more events
past the previous snapshot, so a snapshot never runs ahead of its stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.core._naming import underscore
from workbench.core.store import Change

if TYPE_CHECKING:
    from workbench.core.aggregate import BaseAggregate
    from workbench.core.domain import Domain

DEFAULT_THRESHOLD = 10


def snapshot_table(aggregate_cls: type) -> str:
    """The table holding an aggregate class's snapshots."""
    return f"snapshot:{underscore(aggregate_cls.__name__)}"


def threshold(domain: Domain) -> int:
    """Events between snapshots (``config["snapshot_threshold"]``)."""
    value = domain.config.get("snapshot_threshold", DEFAULT_THRESHOLD)
    return value if isinstance(value, int) and value > 0 else DEFAULT_THRESHOLD


def latest(domain: Domain, aggregate_cls: type, key: Any) -> dict[str, Any] | None:
    """The stored snapshot of one aggregate, or None."""
    return domain.store.get(snapshot_table(aggregate_cls), key)


def snapshot_doc(aggregate: BaseAggregate) -> dict[str, Any]:
    """The snapshot document of ``aggregate`` as it is now."""
    return {
        "id": aggregate.id_value,
        "aggregate": type(aggregate).__name__,
        "_version": aggregate.__dict__["_version"],
        "state": aggregate._fields_json(),
    }


def due(domain: Domain, aggregate: BaseAggregate) -> bool:
    """True when ``aggregate`` is ``snapshot_threshold`` or more events past its last snapshot."""
    previous = latest(domain, type(aggregate), aggregate.id_value)
    last = previous["_version"] if previous is not None else -1
    return bool(aggregate.__dict__["_version"] - last >= threshold(domain))


def snapshot_change(domain: Domain, aggregate: BaseAggregate) -> Change | None:
    """The write of a new snapshot when one is due, else None."""
    if not due(domain, aggregate):
        return None
    return Change(snapshot_table(type(aggregate)), "id", aggregate.id_value, snapshot_doc(aggregate))


def create_snapshot(domain: Domain, aggregate_cls: type, identifier: Any) -> bool:
    """Write a snapshot of one event-sourced aggregate now (Protean's ``domain.create_snapshot``).

    Returns:
        True when a snapshot was written (False when the latest one is already current).

    Raises:
        IncorrectUsageError: the aggregate is not registered here or not event-sourced.
        ObjectNotFoundError: the aggregate has no events.
    """
    from workbench.core.exceptions import ObjectNotFoundError

    repository = _sourced_repository(domain, aggregate_cls)
    aggregate = repository.load(repository._clean(repository.id_field, identifier), snapshot=False)
    if aggregate is None:
        raise ObjectNotFoundError(f"`{aggregate_cls.__name__}` object with identifier {identifier} does not exist.")
    previous = latest(domain, aggregate_cls, aggregate.id_value)
    if previous is not None and previous["_version"] == aggregate.__dict__["_version"]:
        return False
    doc = snapshot_doc(aggregate)
    domain.store.commit([Change(snapshot_table(aggregate_cls), "id", aggregate.id_value, doc)])
    return True


def create_snapshots(domain: Domain, aggregate_cls: type) -> int:
    """Write a current snapshot of every instance of an event-sourced aggregate; returns how many."""
    repository = _sourced_repository(domain, aggregate_cls)
    return sum(create_snapshot(domain, aggregate_cls, key) for key in repository.ids())


def _sourced_repository(domain: Domain, aggregate_cls: type) -> Any:
    from workbench.core.exceptions import IncorrectUsageError

    if domain.registry.aggregates.get(aggregate_cls.__name__) is not aggregate_cls:
        raise IncorrectUsageError(f"`{aggregate_cls.__name__}` is not registered in domain {domain.name}")
    if not getattr(aggregate_cls, "_event_sourced", False):
        raise IncorrectUsageError(f"`{aggregate_cls.__name__}` is not an event-sourced aggregate: it has no snapshots")
    return domain.repository_for(aggregate_cls)
