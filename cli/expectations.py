"""``expect``: assertions about the store, for scripted demos and the shell.

Forms (values are JSON when they parse, or Python's ``True``/``False``/``None``, else text;
operators ``== != >= <= > <``)::

    expect Inventory[book_id=book-1].in_stock == 90     an aggregate's field
    expect Order.count == 3                             how many aggregates
    expect events order == 4                            events in a stream, category or $all
    expect dlq == 1          expect dlq PostToLedger == 0      dead letters (of a handler)
    expect status PostToLedger == ok                    ok | lagging | retrying | failing
    expect lag PostToLedger == 0                        messages behind
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workbench.core._naming import suggestion
from workbench.core.exceptions import IncorrectUsageError

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_SPLIT = re.compile(r"\s(==|!=|>=|<=|>|<)\s")
_FIELD = re.compile(r"^(\w+)\[(\w+)=([^\]]*)\]\.(\w+)$")


@dataclass
class Outcome:
    """The result of one expectation."""

    held: bool
    subject: str
    op: str
    expected: Any
    actual: Any

    def explain(self) -> str:
        """A readable diff of what was expected and what is."""
        return (
            f"expected {self.subject} {self.op} {json.dumps(self.expected, default=str)}\n"
            f"  expected: {json.dumps(self.expected, default=str)}\n"
            f"  actual:   {json.dumps(self.actual, default=str)}"
        )


_PYTHON_CONSTANTS = {"True": True, "False": False, "None": None}


def _value(text: str) -> Any:
    """JSON when it parses (``true``, ``3``, ``"a b"``), Python's ``True``/``False``/``None``, else the text."""
    if text in _PYTHON_CONSTANTS:
        return _PYTHON_CONSTANTS[text]
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def evaluate(text: str, domain: Any, engine: Any) -> Outcome:
    """Check one expectation (the text after ``expect``).

    Raises:
        IncorrectUsageError: the expectation is not in one of the known forms.
    """
    parts = _SPLIT.split(text.strip(), maxsplit=1)
    if len(parts) != 3:
        raise IncorrectUsageError(f"expect needs `SUBJECT OP VALUE` with OP one of {' '.join(OPERATORS)}: `{text}`")
    subject, op, raw = parts[0].strip(), parts[1], parts[2].strip()
    actual = _actual(subject, domain, engine)
    expected = _value(raw)
    try:
        held = OPERATORS[op](actual, expected)
    except TypeError:
        held = False
    return Outcome(held, subject, op, expected, actual)


def _actual(subject: str, domain: Any, engine: Any) -> Any:
    from workbench.cli._lookup import stored_class as aggregate_class

    words = subject.split()
    match = _FIELD.match(subject)
    if match:
        name, key, value, field = match.groups()
        cls = aggregate_class(domain, name)
        found = domain.repository_for(cls).filter(**{key: value})
        if len(found) != 1:
            raise IncorrectUsageError(f"{subject}: {len(found)} {cls.__name__} match {key}={value}, expected one")
        return found[0].to_dict().get(field)
    if len(words) == 1 and subject.endswith(".count"):
        cls = aggregate_class(domain, subject[: -len(".count")])
        return domain.repository_for(cls).count()
    if words[0] == "events" and len(words) == 2:
        from workbench.cli._lookup import category_name

        # A misspelt category is an error; a stream with no events yet counts 0.
        stream = words[1] if "-" in domain.normalize_category(words[1]) else category_name(domain, words[1])
        return sum(1 for _ in domain.event_store.read_all(stream))
    if words[0] == "dlq" and len(words) in (1, 2):
        from workbench.cli._lookup import pick
        from workbench.core.dead_letters import list_dead_letters

        handler = None
        if len(words) == 2:
            handler = pick("handler", words[1], {c.__name__: c for c in domain.registry.consumers}).__name__
        return len(list_dead_letters(engine, handler=handler))
    if words[0] in ("status", "lag") and len(words) == 2:
        for row in engine.status():
            if row.handler == words[1]:
                return row.state if words[0] == "status" else row.lag
        known = [row.handler for row in engine.status()]
        hint = suggestion(words[1], known, known=f" (known: {', '.join(known) or 'none'})")
        raise IncorrectUsageError(f"no event handler named `{words[1]}`{hint}")
    raise IncorrectUsageError(f"cannot expect `{subject}`; see `help expect`")
