"""A dead letter as a pytest regression test: the message, the handler, the state it read.

:func:`regression_test_source` writes a self-contained test module. It loads the domain
file on a fresh store (the workbench pytest plugin's ``workbench`` fixture), writes back
the aggregates and projections as the store holds them at export time, and delivers the
dead-lettered message to its handler the way the engine does. While the handler's bug is
there the test fails with the original exception; once the handler is fixed it passes,
and can stay in the suite.
"""

from __future__ import annotations

import os
import pprint
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core._naming import underscore as snake_case_name
from workbench.core.dead_letters import get_dead_letter
from workbench.core.exceptions import ObjectNotFoundError

if TYPE_CHECKING:
    from workbench.core.engine import Engine

STATE_PREFIXES = ("aggregate:", "projection:")


def stored_state(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every aggregate and projection document, by table (what a handler may read)."""
    store = engine.domain.store
    return {
        table: [dict(doc) for doc in store.scan(table)]
        for table in sorted(store.tables())
        if table.startswith(STATE_PREFIXES) and store.count(table)
    }


def domain_reference(domain_spec: str, test_file: Path) -> str:
    """Python source naming the domain for the test: a path relative to the test file when possible."""
    target, sep, attr = domain_spec.partition(":")
    path = Path(target)
    if not (target.endswith(".py") or path.exists()):
        return repr(domain_spec)  # a module name: importable wherever the test runs
    absolute = path.resolve()
    try:
        relative = os.path.relpath(absolute, test_file.resolve().parent)
    except ValueError:  # another drive
        return repr(str(absolute) + sep + attr)
    suffix = f" + {sep + attr!r}" if sep else ""
    return f"str(Path(__file__).resolve().parent / {relative!r}){suffix}"


def regression_test_source(engine: Engine, dlq_id: str, *, domain_spec: str, test_file: Path) -> str:
    """The source of a pytest module that replays dead letter ``dlq_id`` through its handler.

    Raises:
        ObjectNotFoundError: no such dead letter, or its message is not stored.
    """
    entry = get_dead_letter(engine, dlq_id)
    message = engine.domain.event_store.get_message(entry.message_id)
    if message is None:
        raise ObjectNotFoundError(f"dead letter {entry.id} refers to message {entry.message_id}, which is not stored")
    handler = engine.subscription(entry.handler).handler.__name__
    event = message.type.split(".")[-2] if message.type.count(".") >= 2 else message.type
    name = re.sub(r"\W+", "_", f"test_{snake_case_name(handler)}_handles_{snake_case_name(event)}_{entry.id[:8]}")
    name = re.sub(r"_+", "_", name).rstrip("_")
    error = _docstring_text(f"{entry.error_type}: {entry.error}")
    where = _docstring_text(f"{message.type} ({message.stream_name} #{message.global_position})")
    tables = stored_state(engine)
    state = pprint.pformat(tables, indent=1, width=100, sort_dicts=True)
    reference = domain_reference(domain_spec, test_file)
    imports = "from pathlib import Path\n\n" if "Path(" in reference else ""
    record = pprint.pformat(message.record, indent=1, width=100, sort_dicts=True)
    return f'''"""Regression test exported from dead letter {entry.id} by `workbench dlq export`.

{handler} failed on {where} after
{entry.attempts} attempt(s) with:

    {error}

The test loads the domain on a fresh store, writes back the aggregates and projections
as they were stored at export time, and delivers the same message to {handler}. It fails
while the bug is there and passes once the handler is fixed.
"""

{imports}DOMAIN = {reference}
HANDLER = {handler!r}

STATE = {state}

MESSAGE = {record}


def {name}(workbench):
    harness = workbench.load(DOMAIN)
    harness.restore(STATE)
    harness.deliver(HANDLER, MESSAGE)
'''


def _docstring_text(text: str) -> str:
    """``text`` as it may stand inside the generated module's docstring: backslashes kept
    literally (``\\x`` in an error would otherwise be a syntax error) and no closing quotes."""
    return text.replace("\\", "\\\\").replace('"""', "'''")
