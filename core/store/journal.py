"""The journal's line format: encoding, checking and scanning commit lines.

A journal is a header line, then one line per commit::

    {"workbench_store":2,"base_seq":B}
    {"seq":N,"crc":C,"ops":[...]}

Format 2 (written now): ``C`` is the CRC-32 of the seq's decimal digits followed by the
ops bytes, so an edited or flipped seq fails the check like edited ops do. Format 1
(older journals, still read): ``C`` covers the ops bytes only.

What may be cut: only a last line without its newline. A commit is one ``write()`` of a
line ending in ``\\n``, so an interrupted write leaves a prefix without the newline; a
complete line that fails its check is damage to an acknowledged commit, never "torn".
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from workbench.core.store.state import Op

JOURNAL_FORMAT = 2
READABLE_FORMATS = (1, 2)


def header_line(base_seq: int) -> bytes:
    """The first line of a journal that starts after commit ``base_seq``."""
    return orjson.dumps({"workbench_store": JOURNAL_FORMAT, "base_seq": base_seq}) + b"\n"


def encode_line(seq: int, ops_bytes: bytes) -> bytes:
    """One commit line in the current format (the CRC covers the seq and the ops)."""
    seq_bytes = str(seq).encode()
    crc = zlib.crc32(ops_bytes, zlib.crc32(seq_bytes))
    return b"".join((b'{"seq":', seq_bytes, b',"crc":', str(crc).encode(), b',"ops":', ops_bytes, b"}\n"))


_PREFIX = b'{"seq":'


def parse_line(line: bytes, version: int) -> tuple[int, list[Op]] | str:
    """``(seq, ops)`` of an intact commit line (with its newline), else what is wrong with it."""
    # Hand-rolled rather than a regex: this runs once per commit when a store opens.
    if not line.startswith(_PREFIX) or not line.endswith(b"}\n"):
        return "not a commit line"
    crc_at = line.find(b',"crc":', 7)
    ops_at = line.find(b',"ops":', crc_at + 7) if crc_at > 0 else -1
    if ops_at < 0:
        return "not a commit line"
    seq_bytes = line[7:crc_at]
    crc_bytes = line[crc_at + 7 : ops_at]
    ops_bytes = line[ops_at + 7 : -2]
    if not (seq_bytes.isdigit() and crc_bytes.isdigit()):
        return "not a commit line"
    expected = zlib.crc32(ops_bytes, zlib.crc32(seq_bytes)) if version >= 2 else zlib.crc32(ops_bytes)
    if expected != int(crc_bytes):
        return "checksum mismatch"
    try:
        ops = orjson.loads(ops_bytes)
    except orjson.JSONDecodeError:
        return "unreadable ops"
    if not isinstance(ops, list):
        return "unreadable ops"
    return int(seq_bytes), ops


@dataclass
class Header:
    """The journal's first line."""

    version: Any
    base_seq: int
    end: int  # byte offset of the first commit line


def read_header(raw: bytes) -> Header | None:
    """The header, or None when it is missing or unreadable (``raw`` not blank)."""
    header_end = raw.find(b"\n") + 1
    if not header_end:
        return None
    try:
        header = orjson.loads(raw[:header_end])
        return Header(header["workbench_store"], int(header["base_seq"]), header_end)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


@dataclass
class Damage:
    """A complete journal line that failed its check."""

    offset: int
    after_seq: int  # the last intact commit before it
    reason: str
    intact_after: int = 0  # intact-looking commit lines after the damage

    def describe(self, path: object) -> str:
        """One sentence for an error message."""
        later = f", with {self.intact_after} intact commit(s) after it" if self.intact_after else ""
        return f"journal {path} is damaged at byte {self.offset}, after seq {self.after_seq} ({self.reason}{later})"


class JournalDamaged(Exception):
    """Raised by :func:`scan` at the first damaged complete line."""

    def __init__(self, damage: Damage) -> None:
        super().__init__(damage.reason)
        self.damage = damage


@dataclass
class ScanEnd:
    """Where the intact commits end."""

    good_end: int = 0
    last_seq: int = 0
    torn_bytes: int = 0  # an incomplete last line (no newline), to be cut


def scan(raw: bytes, header: Header, end: ScanEnd) -> Any:
    """Yield ``(seq, ops, line_end)`` for every intact commit, in order.

    Fills ``end`` as it goes. Raises :class:`JournalDamaged` at a complete line that
    fails its check or breaks the sequence (the first commit must be ``base_seq + 1``).
    """
    version = header.version
    offset = end.good_end = header.end
    expected = end.last_seq = header.base_seq
    expected += 1
    size = len(raw)
    find = raw.find
    while offset < size:
        newline = find(b"\n", offset)
        if newline < 0:
            end.torn_bytes = size - offset
            return
        parsed = parse_line(raw[offset : newline + 1], version)
        if isinstance(parsed, str) or parsed[0] != expected:
            if not isinstance(parsed, str):
                parsed = f"seq {parsed[0]} where {expected} was expected"
            damage = Damage(offset, expected - 1, parsed, _intact_lines_after(raw, newline + 1, version))
            raise JournalDamaged(damage)
        yield parsed[0], parsed[1], newline + 1
        offset = end.good_end = newline + 1
        end.last_seq = expected
        expected += 1


def _intact_lines_after(raw: bytes, offset: int, version: int) -> int:
    count = 0
    while offset < len(raw):
        newline = raw.find(b"\n", offset)
        if newline < 0:
            break
        if not isinstance(parse_line(raw[offset : newline + 1], version), str):
            count += 1
        offset = newline + 1
    return count
