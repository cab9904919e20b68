"""In-process persistence: the default for a plain ``Domain()``, as in Protean."""

from __future__ import annotations

import threading

import orjson
from workbench.core.store.durability import LoadReport
from workbench.core.store.state import Op, StoreState
from workbench.core.store.storable import unstorable_value


class MemoryPersistence:
    """Keeps commits in a list, so a store reopened on the same object sees them."""

    read_only = False

    def __init__(self, *, base_seq: int = 0) -> None:
        self.location = ":memory:"
        # Commit base_seq + 1 + i is _commits[i]: a store copied at seq N starts at N.
        self._base_seq = base_seq
        self._commits: list[list[Op]] = []
        self._writer = threading.Lock()

    def load(self, state: StoreState) -> LoadReport:
        """Replay the commits kept so far into ``state``."""
        self.catch_up(state, locked=False)
        return LoadReport(replayed_commits=len(self._commits))

    def lock(self) -> None:
        """Serialize commits of every store sharing this object."""
        self._writer.acquire()

    def unlock(self) -> None:
        """Let the next commit in."""
        self._writer.release()

    def begin_commit(self, state: StoreState) -> StoreState:
        """Take the lock and apply what other stores sharing this object committed."""
        self._writer.acquire()
        if state.seq - self._base_seq != len(self._commits):
            self.catch_up(state, locked=True)
        return state

    def catch_up(self, state: StoreState, *, locked: bool) -> StoreState:
        """Apply the commits other stores sharing this object made since ``state`` was read."""
        commits = self._commits
        for index in range(max(state.seq - self._base_seq, 0), len(commits)):
            state.apply(commits[index])
            state.seq = self._base_seq + index + 1
        return state

    def append(self, seq: int, ops: list[Op]) -> None:
        """Keep the commit (documents are never mutated after commit, so no copy).

        Raises:
            ValidationError: a value JSON cannot hold, refused as the disk store would.
        """
        try:
            orjson.dumps(ops)
        except orjson.JSONEncodeError as exc:
            raise unstorable_value(ops, exc) from None
        self._commits.append(ops)

    def wants_compaction(self, *, closing: bool) -> bool:
        """Never: there is nothing on disk to shrink."""
        return False

    def compact(self, state: StoreState) -> None:
        """Nothing to do in memory."""

    def close(self) -> None:
        """Nothing to release."""
