"""Rebuilding projections from the event log, swapped in atomically.

Unlike Protean, which truncates the table first (readers see it empty mid-rebuild), the
rebuild runs on an in-memory copy of the store with the projection's table emptied,
replays every event of its projectors' categories in global order (projectors
interleaved), and then writes the differences to the real table in one commit. Readers
see the old table until that commit and the new one after it. A dry run reports the
differences and writes nothing.

The same commit moves every async subscription of the rebuilt projectors to the end of
the log (and drops their pending retries and parked messages, which the rebuild already
delivered), so the next ``process`` does not apply those events a second time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.core._naming import suggestion
from workbench.core.dispatch import call_handle_error
from workbench.core.exceptions import IncorrectUsageError
from workbench.core.message import Message
from workbench.core.store import Change
from workbench.core.store.names import ALL
from workbench.core.subscription import Tally

if TYPE_CHECKING:
    from workbench.core.domain import Domain


@dataclass
class RebuildReport:
    """What rebuilding one projection did (or would do)."""

    projection: str
    projectors: list[str]
    events: int = 0
    rows_before: int = 0
    rows_after: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    changes: list[dict[str, Any]] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)

    @property
    def errors(self) -> int:
        """Deliveries that raised (logged and skipped, the rebuild goes on)."""
        return self.tally.failed


def projections_named(domain: Domain, name: str | None) -> list[Any]:
    """Every projection, or the one called ``name`` (with a suggestion when it is misspelt)."""
    projections = domain.registry.projections
    if name is None:
        return list(projections.values())
    if name in projections:
        return [projections[name]]
    hint = suggestion(name, list(projections), known=f" (known: {', '.join(projections) or 'none'})")
    raise IncorrectUsageError(f"unknown projection `{name}`{hint}")


def rebuild(
    domain: Domain,
    name: str | None = None,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[RebuildReport]:
    """Rebuild one projection (or all) from the stored events."""
    return [_rebuild_one(domain, projection, dry_run, progress) for projection in projections_named(domain, name)]


def _rebuild_one(
    domain: Domain, projection: Any, dry_run: bool, progress: Callable[[int, int], None] | None
) -> RebuildReport:
    from workbench.core.engine import Engine

    projectors = [p for p in domain.registry.projectors.values() if p.meta_.part_of is projection]
    table = projection.meta_.options["table"]  # type: ignore[attr-defined]
    key_field = projection.meta_.id_field  # type: ignore[attr-defined]
    original = domain.store
    report = RebuildReport(projection.__name__, [p.__name__ for p in projectors], dry_run=dry_run)
    report.rows_before = len(original.rows(table))
    scratch = original.scratch_copy()
    scratch.commit([Change(table, key_field, key, None) for key in list(scratch.rows(table))])
    categories = {c for p in projectors for c in p.meta_.stream_categories}
    end = original.last_position()
    if "$all" in categories:
        records = list(original.category_records(ALL, position=1, limit=end))
    else:
        # Global order across the categories, as live dispatch delivered them.
        records = sorted(
            (r for c in categories for r in original.category_records(c, position=1) if r["global_position"] <= end),
            key=lambda r: r["global_position"],
        )
    began = time.perf_counter()
    # The rebuild's own store, seen by this thread only: the domain stays bound to the real one.
    with domain.using_store(scratch):
        engine = Engine(domain)
        subscriptions = [s for s in engine.subscriptions if s.handler in projectors]
        for done, record in enumerate(records, 1):
            message = Message(record)
            for subscription in subscriptions:
                if subscription.category not in (record["stream_category"], "$all"):
                    continue
                if not subscription.handler.methods_for(message.type):  # type: ignore[attr-defined]
                    continue
                error = subscription.attempt(message, [], replaying=True)
                if error is None:
                    report.tally.count(subscription.name, "delivered")
                else:
                    call_handle_error(subscription.handler, error, message)
                    report.tally.count(subscription.name, "failed")
            if progress is not None and (done % 500 == 0 or done == len(records)):
                progress(done, len(records))
    report.events = len(records)
    rebuilt = scratch.rows(table)
    report.rows_after = len(rebuilt)
    before = original.rows(table)
    changes: list[Change] = []
    for key, doc in rebuilt.items():
        old = before.get(key)
        if old is None or {k: v for k, v in old.items() if k != "_version"} != {
            k: v for k, v in doc.items() if k != "_version"
        }:
            fields = (
                doc
                if old is None
                else {k: {"from": old.get(k), "to": v} for k, v in doc.items() if k != "_version" and old.get(k) != v}
            )
            report.changes.append({"id": key, "change": "created" if old is None else "updated", "fields": fields})
            changes.append(Change(table, key_field, key, doc))
    for key in before.keys() - rebuilt.keys():
        report.changes.append({"id": key, "change": "deleted", "fields": {}})
        changes.append(Change(table, key_field, key, None))
    if not dry_run:
        # Everything up to the newest event is in the rebuilt table: the cursors move with the swap.
        for subscription in Engine(domain).subscriptions:
            if subscription.handler in projectors:
                changes.extend(subscription.caught_up_to(end))
    if changes and not dry_run:
        original.commit(changes)  # the swap: one commit, so readers see old or new, never half
    report.seconds = time.perf_counter() - began
    return report


def status(domain: Domain) -> list[dict[str, Any]]:
    """Per projection: projectors, rows, lag behind the event log and when it was last updated."""
    from workbench.core.engine import Engine
    from workbench.core.subscription import CURSORS

    rows = []
    engine = Engine(domain)
    for name, projection in domain.registry.projections.items():
        subscriptions = [s for s in engine.subscriptions if s.handler.meta_.part_of is projection]  # type: ignore[attr-defined]
        store = domain.store
        if domain.config.get("event_processing") == "async":
            positions = [(store.get(CURSORS, s.name) or {}).get("position", 0) for s in subscriptions]
        else:  # sync projectors are up to date with the newest event of their categories
            lasts = [store.last_in_category(s.category) for s in subscriptions]
            positions = [last.global_position or 0 for last in lasts if last is not None]
        times = [
            record["time"] for p in positions if p > 0 for record in store.category_records(ALL, position=p, limit=1)
        ]
        rows.append(
            {
                "projection": name,
                "projectors": sorted({s.handler.__name__ for s in subscriptions}),
                "rows": domain.store.count(projection.meta_.options["table"]),
                # Sync projectors run inline, so only async ones can lag.
                "lag": sum(s.lag() for s in subscriptions) if domain.config.get("event_processing") == "async" else 0,
                "last_updated": max(times, default=None),
            }
        )
    return rows
