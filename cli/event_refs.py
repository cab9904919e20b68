"""How people name events and streams on the command line, resolved against the store.

* An event: its id, a unique prefix of it (4+ characters), or its global position
  (``#6``, or ``6`` when no id starts with it) -- the ``#`` column of every event table.
* A stream or category: ``order-42``, a unique prefix of a stream's id
  (``order-0000``), ``order``, ``shop::order``, or ``all``/``$all`` (a POSIX shell
  expands ``$all`` to nothing, so ``all`` is accepted too).
"""

from __future__ import annotations

from typing import Any

from workbench.core._naming import suggestion
from workbench.core.exceptions import IncorrectUsageError, ObjectNotFoundError
from workbench.core.message import stream_category
from workbench.core.store.names import read_kind

MIN_PREFIX = 4


def event_id(domain: Any, text: str) -> str | None:
    """The id of the event ``text`` names, or None when it names none (it may be a correlation id).

    Raises:
        IncorrectUsageError: a prefix matches several events, or ``#N`` is past the end.
    """
    store = domain.store
    number = text[1:] if text.startswith("#") else text
    # `#6` is always a position; a bare `6` too, unless it starts an id (deterministic ids are digits).
    bare_prefix = not text.startswith("#") and len(text) >= MIN_PREFIX and bool(store.find_event_ids(text, limit=1))
    if number.isdigit() and not bare_prefix:
        position = int(number)
        last = store.last_position()
        if not 1 <= position <= last:
            raise IncorrectUsageError(f"no event at global position {position} (the store has {last})")
        return str(store.read_all(position=position, limit=1)[0].id)
    if store.get_event(text) is not None:
        return text
    if len(text) < MIN_PREFIX:
        return None
    matches = store.find_event_ids(text, limit=2)
    if len(matches) > 1:
        count = len(store.find_event_ids(text))
        raise IncorrectUsageError(f"`{text}` is the start of {count} event ids; give more of it (or #N)")
    return str(matches[0]) if matches else None


def command_id(domain: Any, text: str) -> str | None:
    """The id of the command stored in stream ``text`` (``manage_order-42``), or None.

    A command's stream holds that one command, so naming the stream names the command
    (``workbench send`` prints the stream, not the id).
    """
    name = domain.normalize_category(text)
    if "-" not in name:
        return None  # a category, not a stream
    first = domain.event_store.read(name, no_of_messages=1)
    return str(first[0].id) if first and first[0].kind == "COMMAND" else None


def stream_name(domain: Any, text: str) -> str:
    """A stream, a category or ``$all``, as typed, checked against the store.

    Raises:
        IncorrectUsageError: an unknown category, or a prefix matching several streams.
        ObjectNotFoundError: a stream of a known category that holds no events.
    """
    from workbench.cli._lookup import category_name

    if text in ("all", "$all"):
        return "$all"
    name = domain.normalize_category(text)
    store = domain.store
    categories = store.categories()
    if read_kind(name, categories) == "category":
        return category_name(domain, name)
    if store.stream_version(name) >= 0:
        return str(name)
    category = category_name(domain, stream_category(name, categories), allow_all=False)
    all_streams = store.streams()
    matches = [s for s in all_streams if s.startswith(name)]
    if len(matches) == 1:
        return str(matches[0])
    if len(matches) > 1:
        raise IncorrectUsageError(f"`{text}` is the start of {len(matches)} streams; give more of it")
    streams = list(store.streams(category))
    hint = suggestion(name, streams, known=f" (`workbench streams {category}` lists its {len(streams)} streams)")
    raise ObjectNotFoundError(f"stream `{name}` has no events{hint}")
