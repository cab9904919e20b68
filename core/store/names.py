"""Stream and category names, parsed in one place.

A stream is named ``<category>-<id>``; a category may itself hold dashes
(``order-lines``), so the category of ``order-lines-7`` is the longest known category
it starts with, and only without one the part before the first dash. A name given to a
read is ``$all``, a category the store (or the caller) knows, or else a stream.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Literal

ALL = "$all"

ReadKind = Literal["all", "category", "stream"]


def category_of(stream_name: str, known: Iterable[str] = ()) -> str:
    """The category of ``stream_name``: the longest of ``known`` it starts with (then a dash),
    else the part before its first dash."""
    best = ""
    for category in known:
        if (
            len(category) > len(best)
            and stream_name.startswith(category)
            and stream_name[len(category) : len(category) + 1] == "-"
        ):
            best = category
    return best or stream_name.partition("-")[0]


def read_kind(name: str, categories: Collection[str]) -> ReadKind:
    """What a read of ``name`` means: every event, one category, or one stream.

    A name with no dash is a category; a name with a dash is a category when ``categories``
    holds it (``order-lines``), else a stream (``order-42``).
    """
    if name == ALL:
        return "all"
    if "-" not in name or name in categories:
        return "category"
    return "stream"
