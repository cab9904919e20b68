"""Completion that knows the domain and the store, as plain functions plus a thin adapter.

Every suggestion comes from in-memory indexes (the registry, the store's tables and a
sorted list of stream names rebuilt only when the event count changes), so completing
stays instant on a store of 100,000 events.
"""

from __future__ import annotations

import bisect
import inspect
from collections.abc import Iterable, Iterator
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from workbench.cli._lookup import aggregate_methods
from workbench.cli.words import UnbalancedQuoteError, split_words

SHELL_COMMANDS = ("help", "py", "reload", "watch", "expect", "debug", "exit", "quit")
LIMIT = 50


class StoreIndex:
    """Sorted stream names, cached until the store changes."""

    def __init__(self) -> None:
        self._count = -1
        self._streams: list[str] = []

    def streams(self, domain: Any) -> list[str]:
        """Every stream name, sorted."""
        count = domain.store.event_count()
        if count != self._count:
            self._streams = sorted(domain.store.streams())
            self._count = count
        return self._streams


def _prefixed(sorted_names: list[str], prefix: str) -> list[str]:
    start = bisect.bisect_left(sorted_names, prefix)
    found: list[str] = []
    for name in sorted_names[start:]:
        if not name.startswith(prefix) or len(found) >= LIMIT:
            break
        found.append(name)
    return found


def command_tree(click_group: Any) -> dict[str, Any]:
    """``{name: click command}`` for top-level commands, with groups as nested dicts."""
    tree: dict[str, Any] = {}
    for name, command in click_group.commands.items():
        sub = getattr(command, "commands", None)
        tree[name] = command_tree(command) if sub is not None else command
    return tree


def _options(command: Any) -> list[str]:
    return [opt for p in command.params if p.param_type_name == "option" for opt in p.opts if opt.startswith("--")]


def suggestions(text: str, tree: dict[str, Any], domain: Any, index: StoreIndex) -> list[str]:
    """What could complete the last word of ``text`` (the line up to the cursor)."""
    try:
        words = split_words(text)
    except UnbalancedQuoteError:
        words = text.split()
    if text.endswith(" ") or not words:
        words.append("")
    current, before = words[-1], words[:-1]
    if not before:
        return sorted(n for n in (*tree, *SHELL_COMMANDS) if n.startswith(current))
    head = before[0]
    if head == "help":
        return sorted(n for n in tree if n.startswith(current))
    node = tree.get(head)
    args = before[1:]
    if isinstance(node, dict):
        if not args:
            return sorted(n for n in node if n.startswith(current))
        node = node.get(args[0])
        args = args[1:]
        head = f"{head} {before[1]}"
    if node is None:
        return []
    previous = before[-1]
    value_for = _option_values(previous, domain)
    if value_for is not None:
        return [v for v in value_for if v.startswith(current)]
    if current.startswith("-"):
        return [o for o in _options(node) if o.startswith(current)]
    positional = [a for i, a in enumerate(args) if not a.startswith("-") and not _is_option_value(args, i)]
    return [s for s in _positional(head, positional, current, domain, index) if s.startswith(current)]


def _is_option_value(args: list[str], i: int) -> bool:
    return i > 0 and args[i - 1] in (
        "--handler",
        "--category",
        "--id",
        "--from",
        "--to",
        "--limit",
        "--type",
        "--origin-stream",
        "--correlation-id",
        "--domain",
        "-d",
        "--store",
    )


def _option_values(option: str, domain: Any) -> list[str] | None:
    if option == "--handler":
        return list(domain.registry.event_handlers)
    if option == "--category":
        return sorted(domain.store.categories())
    return None


def _nested(field: Any) -> Any:
    """The class whose fields ``name.`` reaches (value objects and ``HasOne`` entities), or None."""
    from workbench.core.fields import HasOne, ValueObject

    if not isinstance(field, (ValueObject, HasOne)):
        return None
    try:
        return field.nested_cls
    except Exception:  # an unresolved name: nothing to offer, never a crash while typing
        return None


def _fields(element: Any, current: str, domain: Any = None) -> list[str]:
    name, sep, value = current.partition("=")
    fields = element.meta_.fields
    path, dot, rest = name.partition(".")
    if dot:
        # `address.ci` completes inside the value object (or entity) that `address` holds.
        inner = _nested(fields[path]) if path in fields else None
        if inner is None:
            return []
        return [f"{path}.{s}" for s in _fields(inner, rest + sep + value, domain)]
    if sep and name in fields and fields[name].choices:
        return [f"{name}={choice}" for choice in fields[name].choices]
    if sep and name in fields and domain is not None and (name.endswith("_id") or name == "id"):
        return [f"{name}={i}" for i in _referenced_ids(domain, name, value)]
    messages = ("EVENT", "COMMAND")  # a message's identifier is data the user gives
    names = [f"{field}=" for field in fields if field != element.meta_.id_field or element.meta_.kind in messages]
    names += [f"{field}." for field, spec in fields.items() if _nested(spec) is not None]
    return names


def _ids(domain: Any, aggregate: str, current: str) -> list[str]:
    cls = domain.registry.aggregates.get(aggregate) or domain.registry.projections.get(aggregate)
    if cls is None:
        return []
    return [str(k) for k in _limited(k for k in _stored_ids(domain, cls) if str(k).startswith(current))]


def _stored_ids(domain: Any, cls: Any) -> Any:
    """The ids saved for an aggregate class (an event-sourced one's are its streams)."""
    repository = domain.repository_for(cls)
    ids = getattr(repository, "ids", None)
    return ids() if ids is not None else domain.store.rows(repository.table)


def _referenced_ids(domain: Any, field: str, prefix: str) -> list[str]:
    """Ids for a ``*_id`` field: of the aggregate it names (``order_id`` -> Order), else of every aggregate."""
    wanted = field[: -len("_id")].replace("_", "").lower()
    aggregates = domain.registry.aggregates
    chosen = [c for n, c in aggregates.items() if n.lower() == wanted] or list(aggregates.values())
    found: list[str] = []
    for cls in chosen:
        found.extend(str(k) for k in _limited(k for k in _stored_ids(domain, cls) if str(k).startswith(prefix)))
    return found[:LIMIT]


def describe(head: str, args: list[str], suggestion: str, domain: Any) -> str:
    """A short note shown beside a suggestion: a method's signature, an event id's type and stream."""
    registry = domain.registry
    if head == "call" and len(args) == 2:
        cls = registry.aggregates.get(args[0])
        method = getattr(cls, suggestion, None) if cls is not None else None
        if method is not None:
            return f"{suggestion}{_signature(method)}"
    if head == "events trace":
        message = domain.event_store.get_message(suggestion)
        if message is not None:
            return f"#{message.global_position} {message.type.split('.')[-2]} {message.stream_name}"
    return ""


def _signature(method: Any) -> str:
    try:
        parameters = list(inspect.signature(method).parameters.values())[1:]  # not `self`
    except (TypeError, ValueError):
        return "(...)"
    return f"({', '.join(str(p) for p in parameters)})"


def _limited(items: Iterable[Any]) -> Iterator[Any]:
    for count, item in enumerate(items):
        if count >= LIMIT:
            return
        yield item


def _positional(head: str, args: list[str], current: str, domain: Any, index: StoreIndex) -> list[str]:
    registry = domain.registry
    position = len(args)
    if head == "raise":
        if position == 0:
            return list(registry.events)
        event = registry.events.get(args[0])
        return _fields(event, current, domain) if event is not None else []
    if head == "send":
        if position == 0:
            return list(registry.commands)
        command = registry.commands.get(args[0])
        return _fields(command, current, domain) if command is not None else []
    if head == "new":
        if position == 0:
            return list(registry.aggregates)
        cls = registry.aggregates.get(args[0])
        return _fields(cls, current, domain) if cls is not None else []
    if head in ("show", "call", "events history"):
        if position == 0:
            return [*registry.aggregates, *registry.projections] if head == "show" else list(registry.aggregates)
        if position == 1:
            return _ids(domain, args[0], current)
        if head == "call" and position == 2:
            cls = registry.aggregates.get(args[0])
            return list(aggregate_methods(cls)) if cls else []
        if head == "call" and position >= 3:  # the method's parameters, as keywords
            cls = registry.aggregates.get(args[0])
            method = getattr(cls, args[2], None) if cls is not None else None
            if method is None:
                return []
            try:
                parameters = list(inspect.signature(method).parameters)[1:]
            except (TypeError, ValueError):
                return []
            return [f"{p}=" for p in parameters if not any(a.startswith(f"{p}=") for a in args[3:])]
        return []
    if head == "query":
        if position == 0:
            return list(registry.queries)
        query = registry.queries.get(args[0])
        return _fields(query, current) if query is not None else []
    if head == "publish" and position == 0:
        return sorted({s.meta_.options["stream"] for s in registry.subscribers.values()})
    if head == "projection rebuild" and position == 0:
        return list(registry.projections)
    if head in ("events read", "streams", "replay") and position == 0:
        names = ["all", *sorted(domain.store.categories())] if head != "streams" else sorted(domain.store.categories())
        if head == "events read" and "-" in current:
            names = _prefixed(index.streams(domain), current)
        return names
    if head == "events trace" and position == 0:
        return [m.id for m in domain.event_store.read("$all", position=max(domain.store.event_count() - 20, 1))]
    if head in ("dlq inspect", "dlq replay", "dlq skip") and position == 0:
        return [str(k) for k in _limited(domain.store.rows("dead_letters"))]
    return []


class WorkbenchCompleter(Completer):
    """prompt_toolkit adapter over :func:`suggestions`."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.index = StoreIndex()

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        domain = self.shell.domain
        if domain is None or self.shell.python_mode:
            return
        text = document.text_before_cursor
        word = "" if text.endswith(" ") else (text.split()[-1] if text.split() else "")
        words = text.split()
        if text.endswith(" "):
            words.append("")
        head, args = _head_and_args(words, self.shell.commands)
        for suggestion in suggestions(text, self.shell.commands, domain, self.index):
            meta = describe(head, args, suggestion, domain) if head else ""
            yield Completion(suggestion, start_position=-len(word), display_meta=meta or None)


def _head_and_args(words: list[str], tree: dict[str, Any]) -> tuple[str, list[str]]:
    """The command (``events trace``) and the positional words before the one being completed."""
    if len(words) < 2:
        return "", []
    head, rest = words[0], words[1:-1]
    if isinstance(tree.get(head), dict) and rest:
        head, rest = f"{head} {rest[0]}", rest[1:]
    return head, [w for w in rest if not w.startswith("-")]
