"""One table of a snapshot in one file, read whole on first use or one document at a time.

The file is TinyDB's layout, ``{table: {doc_id: document}}``. A large table also gets
two files beside it, so that a command asking for one document by key (``show Order ID``,
a handler loading one aggregate) reads that document only::

    <n>.<seq>.json.keys    "\\n", then one JSON-encoded key per line, in file order
    <n>.<seq>.json.spans   int64 start and end of each document's bytes in the table file
"""

from __future__ import annotations

import os
from array import array
from itertools import accumulate
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from workbench.core.exceptions import StoreCorruptError, StoreError
from workbench.core.store._files import dumps_kept, write_atomically

KEYED_FROM = 50_000  # tables this large get the key files (a smaller one loads in a blink)
SIDE_FILES = (".keys", ".spans")
UNINDEXED = object()  # lookup() without key files: load the table instead


class TableFile:
    """A table file opened by a snapshot (kept open: a later compaction may remove it)."""

    def __init__(self, handle: BinaryIO, path: Path, table: str, key_field: str) -> None:
        self.handle, self.path, self.table, self.key_field = handle, path, table, key_field
        self._keys: bytes | None = None
        self._spans: array[int] | None = None
        self._indexed = True
        self.lookups = 0

    def _open(self) -> BinaryIO:
        """The file, opened again by name when its store was closed before it was read."""
        if self.handle.closed:
            try:
                self.handle = open(self.path, "rb")  # noqa: SIM115 - closed by load() or close()
            except FileNotFoundError:
                raise StoreError(
                    f"table file {self.path} is gone (the store was closed and compacted since); open the store again"
                ) from None
        return self.handle

    def close(self) -> None:
        """Give the file back (a later read opens it again by name)."""
        self.handle.close()

    def load(self) -> dict[Any, dict[str, Any]]:
        """Every document by key; closes the file."""
        try:
            with self._open():
                self.handle.seek(0)
                data = orjson.loads(self.handle.read())
            return {doc[self.key_field]: doc for doc in data[self.table].values()}
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise StoreCorruptError(
                f"table file {self.path} is damaged ({exc!r}); the store was left untouched"
            ) from None

    def lookup(self, key: Any) -> dict[str, Any] | object | None:
        """The document under ``key`` (None when absent), or :data:`UNINDEXED`."""
        self.lookups += 1
        if not self._open_side_files():
            return UNINDEXED
        assert self._keys is not None and self._spans is not None
        try:
            needle = b"\n" + orjson.dumps(key) + b"\n"
        except orjson.JSONEncodeError:
            return None
        at = self._keys.find(needle)
        if at < 0:
            return None
        line = self._keys.count(b"\n", 0, at)
        start, end = self._spans[2 * line], self._spans[2 * line + 1]
        try:
            doc: dict[str, Any] = orjson.loads(os.pread(self._open().fileno(), end - start, start))
        except orjson.JSONDecodeError as exc:
            raise StoreCorruptError(
                f"table file {self.path} is damaged ({exc}); the store was left untouched"
            ) from None
        return doc

    def _open_side_files(self) -> bool:
        if self._keys is None and self._indexed:
            try:
                keys = Path(str(self.path) + ".keys").read_bytes()
                spans = array("q")
                spans.frombytes(Path(str(self.path) + ".spans").read_bytes())
            except (FileNotFoundError, ValueError):
                # A small table, or another compaction removed them: read the table whole.
                self._indexed = False
                return False
            self._keys, self._spans = keys, spans
        return self._indexed


def write(path: Path, table: str, rows: dict[Any, dict[str, Any]]) -> None:
    """Write ``rows`` as TinyDB's layout (key files first for a large table), each file atomically."""
    if len(rows) < KEYED_FROM:
        write_atomically(path, orjson.dumps({table: {str(i + 1): doc for i, doc in enumerate(rows.values())}}))
        return
    dumps = orjson.dumps
    head = b"{" + dumps(table) + b":{"
    # List comprehensions and accumulate rather than one loop: this runs over every
    # document of a large table at each compaction that changed it.
    bodies = [dumps_kept(doc) for doc in rows.values()]
    prefixes = [b'"%d":' % (i + 1) for i in range(len(bodies))]
    sizes = [len(p) + len(d) + 1 for p, d in zip(prefixes, bodies, strict=True)]  # + the comma
    starts = [len(head) + before + len(p) for before, p in zip(accumulate(sizes, initial=0), prefixes, strict=False)]
    spans = array("q", [edge for at, body in zip(starts, bodies, strict=True) for edge in (at, at + len(body))])
    parts = [head, b",".join([p + d for p, d in zip(prefixes, bodies, strict=True)]), b"}}"]
    keys = [b"", *(dumps_kept(key) for key in rows)]
    write_atomically(Path(str(path) + ".keys"), b"\n".join(keys) + b"\n")
    write_atomically(Path(str(path) + ".spans"), spans.tobytes())
    write_atomically(path, b"".join(parts))
