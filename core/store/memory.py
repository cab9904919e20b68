"""In-process persistence: the default for a plain ``Domain()``, as in Protean."""

from __future__ import annotations

import orjson
from workbench.core.store.durability import LoadReport
from workbench.core.store.json_file import unstorable_value
from workbench.core.store.state import Op, StoreState


class MemoryPersistence:
    """Keeps commits in a list, so a store reopened on the same object sees them."""

    read_only = False

    def __init__(self) -> None:
        self.location = ":memory:"
        self._commits: list[tuple[int, list[Op]]] = []

    def load(self, state: StoreState) -> LoadReport:
        """Replay the commits kept so far into ``state``."""
        for seq, ops in self._commits:
            state.apply(ops)
            state.seq = seq
        return LoadReport(replayed_commits=len(self._commits))

    def append(self, seq: int, ops: list[Op]) -> None:
        """Keep the commit (documents are never mutated after commit, so no copy).

        Raises:
            ValidationError: a value JSON cannot hold, refused as the disk store would.
        """
        try:
            orjson.dumps(ops)
        except orjson.JSONEncodeError as exc:
            raise unstorable_value(ops, exc) from None
        self._commits.append((seq, ops))

    def wants_compaction(self, *, closing: bool) -> bool:
        """Never: there is nothing on disk to shrink."""
        return False

    def compact(self, state: StoreState) -> None:
        """Nothing to do in memory."""

    def close(self) -> None:
        """Nothing to release."""
