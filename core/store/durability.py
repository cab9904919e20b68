"""The embedded store's durability interface: how a :class:`~workbench.core.store.store.Store` keeps its commits.

Adapters: :class:`~workbench.core.store.memory.MemoryPersistence` (nothing leaves the process)
and :class:`~workbench.core.store.json_file.JsonFilePersistence` (journal plus TinyDB-format
snapshot on disk). ``tests/test_store_contract.py`` runs the same contract against both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from workbench.core.store.state import Op, StoreState


@dataclass
class LoadReport:
    """What opening a store found."""

    snapshot_seq: int = 0
    replayed_commits: int = 0
    notes: list[str] = field(default_factory=list)


class Persistence(Protocol):
    """Durable home of a store's commits."""

    location: str
    read_only: bool

    def load(self, state: StoreState) -> LoadReport:
        """Fill an empty ``state`` with everything committed so far."""
        ...

    def lock(self) -> None:
        """Take the lock that serializes commits of every process and instance."""
        ...

    def unlock(self) -> None:
        """Release it."""
        ...

    def begin_commit(self, state: StoreState) -> StoreState:
        """:meth:`lock`, then :meth:`catch_up` (releasing the lock if that fails)."""
        ...

    def catch_up(self, state: StoreState, *, locked: bool) -> StoreState:
        """Apply what others committed since ``state`` was read; may return a fresh state.

        ``locked`` says the caller holds :meth:`lock` (so repairs may be written)."""
        ...

    def append(self, seq: int, ops: list[Op]) -> None:
        """Make one commit durable; it must be whole or absent after any crash."""
        ...

    def wants_compaction(self, *, closing: bool) -> bool:
        """True when rewriting the snapshot would pay for itself (now, or at close)."""
        ...

    def compact(self, state: StoreState) -> None:
        """Replace the persisted history with a snapshot of ``state``."""
        ...

    def close(self) -> None:
        """Release files and locks (idempotent)."""
        ...
