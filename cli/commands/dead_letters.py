"""``workbench dlq list|inspect|replay|replay-all|skip|purge``."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from workbench.cli.command import Run, command
from workbench.cli.main import dlq_app

HandlerOpt = Annotated[
    str | None, typer.Option("--handler", metavar="HANDLER", help="Only this handler's dead letters.")
]
CategoryOpt = Annotated[
    str | None, typer.Option("--category", metavar="CATEGORY", help="Only this category's dead letters.")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
IdArg = Annotated[str, typer.Argument(metavar="ID", help="Dead letter id (a unique prefix of 4+ characters works).")]


def _confirm(out: Any, question: str, yes: bool) -> bool:
    """Ask on a terminal; scripts must pass -y for destructive bulk work."""
    if yes:
        return True
    if not sys.stdin.isatty():
        from workbench.core.exceptions import IncorrectUsageError

        # `yes | workbench dlq purge` and `echo y | ...` answer from a pipe; no answer at all
        # (stdin closed or empty, as in CI) must not count as a yes.
        sys.stderr.write(f"{question} [y/N]: ")
        sys.stderr.flush()
        answer = sys.stdin.readline()
        if not answer:
            sys.stderr.write("\n")
            raise IncorrectUsageError(f"{question} needs confirmation: pass -y (or pipe `y`) when not on a terminal")
        sys.stderr.write(answer if answer.endswith("\n") else answer + "\n")
        return answer.strip().lower() in ("y", "yes")
    return typer.confirm(question, default=False, err=True)


def _letters(count: int) -> str:
    return f"{count} dead letter{'' if count == 1 else 's'}"


def _checked_filters(run: Run, handler: str | None, category: str | None) -> tuple[str | None, str | None]:
    """``--handler`` and ``--category`` checked against the domain, so a typo is not "no dead letters"."""
    from workbench.cli._lookup import category_name, pick

    if handler is not None:
        handler = pick("handler", handler, {c.__name__: c for c in run.domain.registry.consumers}).__name__
    if category is not None:
        category = category_name(run.domain, category, allow_all=False)
    return handler, category


def _confirm_bulk(run: Run, verb: str, handler: str | None, category: str | None, limit: int | None, yes: bool) -> bool:
    """Confirm a bulk operation on the matching dead letters (nothing to confirm when none match)."""
    from workbench.core import dead_letters

    count = len(dead_letters.all_dead_letters(run.engine, handler=handler, category=category))
    if count and not _confirm(run, f"{verb} {_letters(min(count, limit or count))}?", yes):
        run.say("cancelled")
        return False
    return True


def _broker_letters(run: Run, handler: str | None, category: str | None) -> list[tuple[str, Any]]:
    """Dead letters on the server broker's ``<category>:dlq`` streams (none without a broker)."""
    from workbench.core.broker.dead_letters import broker_letters

    return broker_letters(run.engine, handler=handler, category=category)


def _broker_row(handler: str, letter: Any) -> dict[str, Any]:
    """One broker dead letter as a ``dlq list`` row."""
    return {
        "id": letter.entry_id,
        "handler": handler,
        "type": letter.payload.get("type"),
        "stream": letter.info.get("original_stream"),
        "attempts": letter.info.get("retry_count"),
        "error": letter.info.get("failure_reason"),
        "message_id": letter.message_id,
        "source": "redis",
    }


@command(dlq_app, "dlq list", write=False)
def list_(
    run: Run,
    handler: HandlerOpt = None,
    category: CategoryOpt = None,
    limit: Annotated[int, typer.Option("--limit", metavar="N", help="At most this many entries.")] = 100,
    group: Annotated[
        bool, typer.Option("--group", help="One line per failure fingerprint (handler, error, user code frame).")
    ] = False,
) -> int:
    """Dead letters grouped by handler and error type, then the entries."""
    handler, category = _checked_filters(run, handler, category)
    if group:
        from workbench.cli.commands.dead_letter_tools import print_groups

        return print_groups(run.session, run, handler=handler, category=category)
    from workbench.cli.render import table
    from workbench.core import dead_letters

    entries = dead_letters.list_dead_letters(run.engine, handler=handler, category=category)
    on_broker = _broker_letters(run, handler, category)
    groups: dict[tuple[str, str], int] = {}
    for entry in entries:
        groups[(entry.handler, entry.error_type)] = groups.get((entry.handler, entry.error_type), 0) + 1
    if run.json_mode:
        run.envelope(
            "dlq list",
            {
                "total": len(entries),
                "groups": [{"handler": h, "error_type": e, "count": n} for (h, e), n in groups.items()],
                "entries": [{k: v for k, v in e.__dict__.items() if k != "traceback"} for e in entries[:limit]],
                "broker_entries": [_broker_row(h, d) for h, d in on_broker[:limit]],
            },
        )
        return 0
    from workbench.cli.render import short_ids

    shown = short_ids([e.id for e in entries])
    if not entries and not on_broker:
        run.say("no dead letters")
        return 0
    if on_broker:
        rows = [_broker_row(h, d) for h, d in on_broker[:limit]]
        run.out.print(
            table(
                f"{_letters(len(on_broker))} on the broker (source: redis)",
                ["id", "handler", "type", "stream", "attempts", "error", "source"],
                [[r["id"], r["handler"], r["type"], r["stream"], r["attempts"], r["error"], "redis"] for r in rows],
            )
        )
        if not entries:
            return 0
    run.out.print(
        table(
            "Dead letters by handler and error",
            ["handler", "error", "count"],
            [[h, e, n] for (h, e), n in groups.items()],
        )
    )
    run.out.print(
        table(
            _letters(len(entries)),
            ["id", "handler", "type", "stream", "#", "attempts", "error", "last failed"],
            [
                [
                    shown[e.id],
                    e.handler,
                    e.message_type,
                    e.stream_name,
                    e.global_position,
                    e.attempts,
                    f"{e.error_type}: {e.error}",
                    e.last_failed_at,
                ]
                for e in entries[:limit]
            ],
        )
    )
    return 0


@command(dlq_app, "dlq inspect", write=False)
def inspect(run: Run, identifier: IdArg) -> int:
    """One dead letter: the message, the error and traceback, attempts and times."""
    import json

    from workbench.core import dead_letters

    found = _broker_letter(run, identifier)
    if found is not None:
        return _inspect_broker_letter(run, *found)
    entry = dead_letters.get_dead_letter(run.engine, identifier)
    message = run.domain.event_store.get_message(entry.message_id)
    if run.json_mode:
        run.envelope("dlq inspect", {"dead_letter": entry.__dict__, "message": message.to_dict() if message else None})
        return 0
    for label, value in [
        ("id", entry.id),
        ("handler", entry.handler),
        ("subscription", entry.subscription),
        ("message", f"{entry.message_type} {entry.stream_name} #{entry.global_position}"),
        ("message id", entry.message_id),
        ("attempts", entry.attempts),
        ("first failed", entry.first_failed_at),
        ("last failed", entry.last_failed_at),
        ("error", f"{entry.error_type}: {entry.error}"),
    ]:
        run.out.print(f"[bold]{label:>13}[/]: {value}", highlight=False)
    if message is not None:
        run.out.print("[bold]         data[/]:", json.dumps(message.data, indent=2, default=str), highlight=False)
    run.out.print("[bold]    traceback[/]:")
    run.out.print(entry.traceback.rstrip(), markup=False, highlight=False)
    return 0


def _broker_letter(run: Run, identifier: str) -> tuple[str, Any] | None:
    """The broker dead letter ``identifier`` names (its entry id or a unique prefix), or None.

    Raises:
        ObjectNotFoundError: a prefix that names several dead letters, on the broker or in the store.
    """
    from workbench.core.broker.dead_letters import find_broker_letter
    from workbench.core.subscription import DEAD_LETTERS

    if run.engine.broker_feed is None:
        return None
    store_ids = [str(k) for k in run.domain.store.rows(DEAD_LETTERS)]
    return find_broker_letter(run.engine, identifier, store_ids=store_ids)


def _inspect_broker_letter(run: Run, handler: str, letter: Any) -> int:
    import json

    row = _broker_row(handler, letter)
    if run.json_mode:
        run.envelope("dlq inspect", {"dead_letter": {**row, "info": letter.info}, "message": letter.payload})
        return 0
    for label, value in [
        ("id", row["id"]),
        ("source", "redis"),
        ("handler", handler),
        ("message", f"{row['type']} {row['stream']}"),
        ("message id", row["message_id"]),
        ("attempts", row["attempts"]),
        ("error", row["error"]),
    ]:
        run.out.print(f"[bold]{label:>13}[/]: {value}", highlight=False)
    data = json.dumps(letter.payload.get("data"), indent=2, default=str)
    run.out.print("[bold]         data[/]:", data, markup=False, highlight=False)
    return 0


def _replay_results(out: Any, command: str, results: list[Any]) -> int:
    from workbench.cli.render import table
    from workbench.core import dead_letters

    failed = [r for r in results if not r.ok]
    if out.json_mode:
        out.envelope(
            command,
            {
                "replayed": len(results),
                "failed": len(failed),
                "results": [
                    {"id": r.dead_letter.id, "handler": r.dead_letter.handler, "ok": r.ok, "error": r.error}
                    | ({"source": "redis"} if dead_letters.is_on_broker(r.dead_letter) else {})
                    for r in results
                ],
            },
            status="failure" if failed else "ok",
        )
    elif results:
        from workbench.cli.render import short_ids

        shown = short_ids([r.dead_letter.id for r in results])
        out.out.print(
            table(
                f"Replayed {_letters(len(results))}",
                ["id", "handler", "outcome"],
                [
                    [
                        shown[r.dead_letter.id],
                        r.dead_letter.handler,
                        "[green]ok[/]" if r.ok else f"[red]failed[/] {r.error}",
                    ]
                    for r in results
                ],
            )
        )
    else:
        out.say("no dead letters to replay")
    return 1 if failed else 0


@command(dlq_app, "dlq replay", write=True)
def replay(run: Run, identifier: IdArg) -> int:
    """Deliver one dead letter again, to its handler only."""
    from workbench.core import dead_letters

    found = _broker_letter(run, identifier)
    if found is not None:
        return _replay_broker_letter(run, *found)
    with run.domain.domain_context():
        result = dead_letters.replay(run.engine, identifier)
    return _replay_results(run, "dlq replay", [result])


def _replay_broker_letter(run: Run, handler: str, letter: Any) -> int:
    """Re-deliver a Redis dead letter to its handler (once, by its receipt), reported as the store's are."""
    from workbench.core.broker.dead_letters import replay_broker_letter

    with run.domain.domain_context():
        result = replay_broker_letter(run.engine, handler, letter)
    return _replay_results(run, "dlq replay", [result])


@command(dlq_app, "dlq replay-all", write=True)
def replay_all(
    run: Run,
    handler: HandlerOpt = None,
    category: CategoryOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", metavar="N", help="At most this many.")] = None,
    group: Annotated[
        int | None, typer.Option("--group", metavar="N", help="Only group N of `dlq list --group` (same filters).")
    ] = None,
    yes: YesOpt = False,
) -> int:
    """Deliver every matching dead letter again, oldest first."""
    handler, category = _checked_filters(run, handler, category)
    if group is not None:
        from workbench.cli.commands.dead_letter_tools import replay_group

        return replay_group(
            run.session, run.domain, run, group, handler=handler, category=category, limit=limit, yes=yes
        )
    from workbench.core import dead_letters

    if not _confirm_bulk(run, "Replay", handler, category, limit, yes):
        return 1
    with run.domain.domain_context():
        results = dead_letters.replay_all(run.engine, handler=handler, category=category, limit=limit)
    return _replay_results(run, "dlq replay-all", results)


@command(dlq_app, "dlq skip", write=True)
def skip(run: Run, identifier: IdArg) -> int:
    """Drop one dead letter without delivering it; messages held behind it are released."""
    from workbench.core import dead_letters

    found = _broker_letter(run, identifier)
    if found is not None:
        from workbench.core.broker.dead_letters import as_entry, skip_broker_letter

        skip_broker_letter(run.engine, found[1])
        entry: dead_letters.DeadLetter = as_entry(*found)
    else:
        with run.domain.domain_context():
            entry = dead_letters.skip(run.engine, identifier)
    if run.json_mode:
        run.envelope("dlq skip", {"skipped": entry.id} | ({"source": "redis"} if found is not None else {}))
    else:
        run.say(f"skipped {entry.id} ({entry.handler}, {entry.message_type})")
    return 0


@command(dlq_app, "dlq purge", write=True)
def purge(
    run: Run,
    handler: HandlerOpt = None,
    category: CategoryOpt = None,
    yes: YesOpt = False,
) -> int:
    """Drop every matching dead letter."""
    handler, category = _checked_filters(run, handler, category)
    from workbench.core import dead_letters

    if not _confirm_bulk(run, "Purge", handler, category, None, yes):
        return 1
    with run.domain.domain_context():
        purged = dead_letters.purge(run.engine, handler=handler, category=category)
    on_broker = _broker_letters(run, handler, category)
    feed = run.engine.broker_feed
    for _, letter in on_broker:
        assert feed is not None  # the letters came from it
        feed.broker.remove_dead_letter(str(letter.info.get("original_stream")), letter.entry_id)
    purged += len(on_broker)
    if run.json_mode:
        run.envelope("dlq purge", {"purged": purged, "purged_on_broker": len(on_broker)})
    else:
        run.say(f"purged {_letters(purged)}")
    return 0
