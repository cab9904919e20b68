"""What ``show``, ``call`` and ``events history`` do for event-sourced aggregates.

Their state lives in their streams, so listing, finding by id prefix and going back to
an earlier version all replay (from a snapshot when one is usable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.core.event_sourced_repository import EventSourcedRepository
from workbench.core.exceptions import IncorrectUsageError, ObjectNotFoundError

if TYPE_CHECKING:
    from workbench.cli.command import Run


def _repository(domain: Any, cls: Any) -> EventSourcedRepository:
    repository = domain.repository_for(cls)
    assert isinstance(repository, EventSourcedRepository)
    return repository


def find_event_sourced(domain: Any, cls: Any, identifier: str, *, at_version: int | None = None) -> Any:
    """The aggregate with this id or unique id prefix, replayed (up to ``at_version``).

    Raises:
        ObjectNotFoundError: no stream of this aggregate has that id.
        IncorrectUsageError: the prefix matches several ids, or the version is past the stream.
    """
    repo = _repository(domain, cls)
    ids = repo.ids()
    if identifier not in ids:
        matches = [i for i in ids if i.startswith(identifier)]
        if len(matches) > 1:
            raise IncorrectUsageError(f"`{identifier}` matches {len(matches)} {cls.__name__} ids; give more of it")
        if not matches:
            raise ObjectNotFoundError(f"`{cls.__name__}` object with identifier {identifier} does not exist.")
        identifier = matches[0]
    if at_version is None:
        return repo.get(identifier)
    head = domain.event_store.stream_version(f"{cls.meta_.stream_category}-{identifier}")
    if at_version > head:
        raise IncorrectUsageError(
            f"{cls.__name__} {identifier} has versions 0 to {head}; there is no version {at_version}"
        )
    return repo.load(identifier, at_version=at_version)


def show_event_sourced(run: Run, cls: Any, identifier: str | None, version: int | None, limit: int) -> int:
    """``show`` for an event-sourced aggregate: one (at a version) or all, replayed."""
    from workbench.cli.render import table

    domain = run.domain
    if identifier is None:
        if version is not None:
            raise IncorrectUsageError("--version needs an ID: `show AGGREGATE ID --version N`")
        repo = _repository(domain, cls)
        ids = repo.ids()
        docs = [repo.get(key).to_dict() for key in ids[:limit]]
        if run.json_mode:
            run.envelope("show", {"aggregate": cls.__name__, "total": len(ids), "items": docs})
            return 0
        columns = [*cls.meta_.fields, "_version"]
        run.out.print(table(f"{cls.__name__} ({len(ids)})", columns, [[d.get(c) for c in columns] for d in docs]))
        if len(ids) > limit:
            run.say(f"{len(ids) - limit} more; use --limit")
        return 0
    aggregate = find_event_sourced(domain, cls, identifier, at_version=version)
    doc = aggregate.to_dict()
    head = domain.event_store.stream_version(aggregate.stream_name())
    if run.json_mode:
        run.envelope(
            "show", {"aggregate": cls.__name__, "total": 1, "items": [doc], "version": doc["_version"], "latest": head}
        )
        return 0
    run.out.print(table(f"{cls.__name__} {aggregate.id_value}", ["field", "value"], [[k, v] for k, v in doc.items()]))
    if version is not None:
        run.say(
            f"as it was after version {version} (versions 0 to {head}; "
            f"`events history {cls.__name__} ID --states` shows each)"
        )
    return 0


def snapshot_note(run: Run, cls: Any, stream: str) -> int | None:
    """Say (on stderr) which version the latest snapshot of ``stream``'s aggregate holds; return it."""
    from workbench.core import snapshot

    key = stream[len(cls.meta_.stream_category) + 1 :]
    saved = snapshot.latest(run.domain, cls, key)
    version = saved["_version"] if saved is not None else None
    if not run.json_mode:
        none = "no snapshot yet (a load replays every event)"
        run.say(f"latest snapshot: version {version}" if version is not None else none)
    return version


def history_states(run: Run, cls: Any, identifier: str, data: bool) -> int:
    """``events history --states``: every event of one aggregate with the state after it."""
    import json

    from workbench.cli.render import plural, short_json, short_type, table
    from workbench.core.event_sourcing import is_event_sourced

    if not is_event_sourced(cls):
        raise IncorrectUsageError(
            f"--states replays an event-sourced aggregate; `{cls.__name__}` is state-based (its events do not "
            "rebuild it): `show` prints its state"
        )
    aggregate = find_event_sourced(run.domain, cls, identifier, at_version=0)
    steps = list(_repository(run.domain, cls).states(aggregate.id_value))
    stream = aggregate.stream_name()
    if run.json_mode:
        items = [{"message": m.to_dict(), "state": state} for m, state in steps]
        run.envelope("events history", {"stream": stream, "states": items})
        return 0

    def shown(value: dict[str, Any]) -> str:
        return json.dumps(value, default=str, separators=(",", ":")) if data else short_json(value, 60)

    rows = []
    previous: dict[str, Any] = {}
    for message, state in steps:
        # Without --data, only what the event changed: a whole state per row is unreadable.
        after = state if data else {k: v for k, v in state.items() if previous.get(k, object()) != v}
        rows.append(
            [message.global_position, message.position, short_type(message.type), shown(message.data), shown(after)]
        )
        previous = state
    what = "state after each" if data else "fields each event changed; --data for whole states"
    title = f"{stream} ({len(steps)} {plural(len(steps), 'event')}, {what})"
    run.out.print(table(title, ["#", "version", "type", "event", "state after"], rows))
    return 0
