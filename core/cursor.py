"""A subscription's cursor: where it is, the version that is based on, and moving it.

The cursor is the document ``cursors/<handler>`` (``position``, ``updated_at``,
``last_error``, ``_version``). Several engines may deliver from one store at once (two
``workbench run``, ``run`` and ``process``), so every move carries the ``_version`` this
process last saw as its expected version, in the same commit as the delivery it
acknowledges. The engine that loses a race gets :class:`ExpectedVersionError` for the
whole commit (nothing of it is written), re-reads the cursor with :meth:`Cursor.reread`
and carries on from where the winner left it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.core.exceptions import ExpectedVersionError
from workbench.core.store import Change

if TYPE_CHECKING:
    from workbench.core.domain import Domain

CURSORS = "cursors"


def version_of(doc: dict[str, Any] | None) -> int:
    """A stored row's ``_version`` as the store checks it (-1: no row; 0: saved without one)."""
    return -1 if doc is None else int(doc.get("_version", 0))


class Cursor:
    """One subscription's position in its category, and the stored version it is based on.

    Attributes:
        position: the global position of the last message dealt with (saved or not).
        saved_position: the position last saved (or read).
        version: the stored cursor's ``_version`` that ``saved_position`` is from (-1: none).
        unsaved: messages skipped since the last save (they write nothing).
    """

    __slots__ = ("category", "domain", "name", "position", "saved_position", "unsaved", "version")

    def __init__(self, domain: Domain, name: str, category: str) -> None:
        self.domain = domain
        self.name = name
        self.category = category
        self.position = self.saved_position = 0
        self.version = -1
        self.unsaved = 0
        self.adopt(domain.store.get(CURSORS, name))

    def change(self, position: int, error: BaseException | None = None) -> Change:
        """The cursor at ``position`` (noting ``error``), expected to be where it was last seen."""
        previous = self.domain.store.get(CURSORS, self.name)
        last_error = previous.get("last_error") if previous else None
        if error is not None:
            last_error = {"type": type(error).__name__, "message": str(error), "at": self.domain.now_iso()}
        doc = {
            "id": self.name,
            "handler": self.name,
            "category": self.category,
            "position": position,
            "updated_at": self.domain.now_iso(),
            "last_error": last_error,
            "_version": self.version + 1,
        }
        return Change(CURSORS, "id", self.name, doc, expected_version=self.version)

    def saved(self, change: Change) -> None:
        """Note that ``change`` (from :meth:`change`) was committed."""
        assert change.doc is not None
        self.position = self.saved_position = change.doc["position"]
        self.version = change.doc["_version"]
        self.unsaved = 0

    def adopt(self, doc: dict[str, Any] | None) -> None:
        """Continue from the stored cursor ``doc`` (None: from the start)."""
        self.position = self.saved_position = doc["position"] if doc else 0
        self.version = version_of(doc)
        self.unsaved = 0

    def adopt_saved(self) -> None:
        """Adopt the stored cursor when another writer (a rebuild, another engine) moved it."""
        doc = self.domain.store.get(CURSORS, self.name)
        if doc is not None and version_of(doc) != self.version:
            self.adopt(doc)

    def reread(self) -> None:
        """Catch up on other processes' commits and continue from the stored cursor."""
        self.domain.store.refresh()
        self.adopt(self.domain.store.get(CURSORS, self.name))

    def lost(self, guards: list[Change]) -> bool:
        """After an ExpectedVersionError: True (and the cursor re-read) when a row among
        ``guards`` (the cursor, a retry or parked entry) moved on, i.e. another engine
        took the message; False when the conflict was the handler's own."""
        store = self.domain.store
        store.refresh()
        for change in guards:
            if change.expected_version is None or change.table not in GUARDED:
                continue
            if version_of(store.get(change.table, change.key)) != change.expected_version:
                self.adopt(store.get(CURSORS, self.name))
                return True
        return False

    def commit_guarded(self, changes: list[Change]) -> bool:
        """Commit bookkeeping alone; False (cursor re-read) when another engine got there first."""
        try:
            self.domain.store.commit(changes)
        except ExpectedVersionError:
            self.reread()
            return False
        return True

    def flush(self) -> bool:
        """Save the position if it moved since it was last saved; False when another
        engine moved the cursor meanwhile (this one then continues from there)."""
        if self.position == self.saved_position:
            return True
        change = self.change(self.position)
        if not self.commit_guarded([change]):
            return False
        self.saved(change)
        return True


GUARDED = (CURSORS, "pending", "parked")
"""Tables whose rows' versions decide which engine owns a delivery."""
