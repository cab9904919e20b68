"""``dlq list --group``, ``dlq replay-all --group N`` and ``dlq export ID --pytest FILE``.

Kept apart from :mod:`workbench.cli.commands.dead_letters` (listing and triage) because
these turn dead letters into causes and regression tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from workbench.cli.command import Run, command
from workbench.cli.commands.dead_letters import IdArg, _confirm, _replay_results
from workbench.cli.main import dlq_app


def _when(iso: str) -> str:
    """``2026-01-01T00:00:30.000010+00:00`` -> ``2026-01-01 00:00:30`` (UTC, to the second)."""
    return iso[:19].replace("T", " ")


def print_groups(session: Any, out: Any, *, handler: str | None, category: str | None) -> int:
    """``dlq list --group``: one line per failure fingerprint."""
    from workbench.cli.render import table
    from workbench.core.dead_letter_groups import group_dead_letters

    groups = group_dead_letters(session.engine, handler=handler, category=category)
    if out.json_mode:
        out.envelope("dlq list", {"total": sum(g.count for g in groups), "groups": [g.to_dict() for g in groups]})
        return 0
    if not groups:
        out.say("no dead letters")
        return 0
    total = sum(g.count for g in groups)
    out.out.print(
        table(
            f"{total} dead letter(s) in {len(groups)} group(s)",
            ["group", "handler", "error", "where", "count", "first seen", "last seen"],
            [
                [g.number, g.handler, g.error_type, g.frame, g.count, _when(g.first_seen), _when(g.last_seen)]
                for g in groups
            ],
        )
    )
    for g in groups:  # below the table: error texts are long, and the columns above must stay readable
        out.out.print(f"group {g.number}, latest: {g.error_type}: {g.example}", highlight=False, markup=False)
    return 0


def replay_group(
    session: Any,
    loaded: Any,
    out: Any,
    number: int,
    *,
    handler: str | None,
    category: str | None,
    limit: int | None,
    yes: bool,
) -> int:
    """``dlq replay-all --group N``: replay the dead letters of one fingerprint."""
    from workbench.core import dead_letter_groups

    group = dead_letter_groups.get_group(session.engine, number, handler=handler, category=category)
    count = min(group.count, limit or group.count)
    question = f"Replay {count} dead letter(s) of group {number} ({group.handler}, {group.error_type})?"
    if not _confirm(out, question, yes):
        out.say("cancelled")
        return 1
    with loaded.domain_context():
        results = dead_letter_groups.replay_group(session.engine, group, limit=limit)
    return _replay_results(out, "dlq replay-all", results)


@command(dlq_app, "dlq export", write=False)
def export(
    run: Run,
    identifier: IdArg,
    pytest_file: Annotated[
        Path, typer.Option("--pytest", metavar="FILE", help="Write a pytest regression test to FILE.")
    ],
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> int:
    """Write a pytest test that replays this dead letter's message through its handler.

    The test recreates the stored aggregates and projections, fails while the handler's
    bug is there and passes once it is fixed.
    """
    import os
    import tempfile

    from workbench.core.dead_letter_export import regression_test_source
    from workbench.core.exceptions import IncorrectUsageError

    if pytest_file.exists() and not force:
        raise IncorrectUsageError(f"{pytest_file} exists; pass --force to overwrite it")
    if not pytest_file.parent.is_dir():
        raise IncorrectUsageError(f"folder {pytest_file.parent} does not exist")
    if not pytest_file.name.startswith("test_") or pytest_file.suffix != ".py":
        run.say(f"note: pytest collects files named test_*.py; {pytest_file.name} runs only when named")
    source = regression_test_source(
        run.engine, identifier, domain_spec=run.session.settings.domain or "", test_file=pytest_file
    )
    # Written whole or not at all: a temporary file renamed over the target.
    handle, temporary = tempfile.mkstemp(dir=pytest_file.parent, prefix=".workbench-export-", suffix=".py")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(source)
        os.replace(temporary, pytest_file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if run.json_mode:
        run.envelope("dlq export", {"dead_letter": identifier, "file": str(pytest_file)})
    else:
        run.say(f"wrote {pytest_file}: run `pytest {pytest_file}`; it fails until the handler is fixed")
    return 0
