"""``workbench dlq list|inspect|replay|replay-all|skip|purge``."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from workbench.cli.main import DomainOpt, JsonOpt, StoreOpt, dlq_app, invoke

HandlerOpt = Annotated[str | None, typer.Option("--handler", help="Only this handler's dead letters.")]
CategoryOpt = Annotated[str | None, typer.Option("--category", help="Only this category's dead letters.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
IdArg = Annotated[str, typer.Argument(metavar="ID", help="Dead letter id (a unique prefix of 4+ characters works).")]


def _confirm(out: Any, question: str, yes: bool) -> bool:
    """Ask on a terminal; scripts must pass -y for destructive bulk work."""
    if yes:
        return True
    if not sys.stdin.isatty():
        from workbench.core.exceptions import IncorrectUsageError

        raise IncorrectUsageError(f"{question} needs confirmation: pass -y when not on a terminal")
    return typer.confirm(question, default=False, err=True)


def _confirm_bulk(
    session: Any, out: Any, verb: str, handler: str | None, category: str | None, limit: int | None, yes: bool
) -> bool:
    """Confirm a bulk operation on the matching dead letters (nothing to confirm when none match)."""
    from workbench.core import dead_letters

    count = len(dead_letters.list_dead_letters(session.engine, handler=handler, category=category))
    if count and not _confirm(out, f"{verb} {min(count, limit or count)} dead letter(s)?", yes):
        out.say("cancelled")
        return False
    return True


@dlq_app.command("list")
def list_(
    handler: HandlerOpt = None,
    category: CategoryOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many entries.")] = 100,
    group: Annotated[
        bool, typer.Option("--group", help="One line per failure fingerprint (handler, error, user code frame).")
    ] = False,
    domain: DomainOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Dead letters grouped by handler and error type, then the entries."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.cli.render import table
        from workbench.core import dead_letters

        if group:
            from workbench.cli.commands.dead_letter_tools import print_groups

            return print_groups(session, out, handler=handler, category=category)
        entries = dead_letters.list_dead_letters(session.engine, handler=handler, category=category)
        groups: dict[tuple[str, str], int] = {}
        for entry in entries:
            groups[(entry.handler, entry.error_type)] = groups.get((entry.handler, entry.error_type), 0) + 1
        if out.json_mode:
            out.envelope(
                "dlq list",
                {
                    "total": len(entries),
                    "groups": [{"handler": h, "error_type": e, "count": n} for (h, e), n in groups.items()],
                    "entries": [{k: v for k, v in e.__dict__.items() if k != "traceback"} for e in entries[:limit]],
                },
            )
            return 0
        if not entries:
            out.say("no dead letters")
            return 0
        out.out.print(
            table(
                "Dead letters by handler and error",
                ["handler", "error", "count"],
                [[h, e, n] for (h, e), n in groups.items()],
            )
        )
        out.out.print(
            table(
                f"{len(entries)} dead letter(s)",
                ["id", "handler", "type", "stream", "#", "attempts", "error", "last failed"],
                [
                    [
                        e.id[:8],
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

    invoke("dlq list", body, domain=domain, store=store, json_mode=as_json, write=False)


@dlq_app.command("inspect")
def inspect(identifier: IdArg, domain: DomainOpt = None, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """One dead letter: the message, the error and traceback, attempts and times."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        import json

        from workbench.core import dead_letters

        entry = dead_letters.get_dead_letter(session.engine, identifier)
        message = loaded.event_store.get_message(entry.message_id)
        if out.json_mode:
            out.envelope(
                "dlq inspect", {"dead_letter": entry.__dict__, "message": message.to_dict() if message else None}
            )
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
            out.out.print(f"[bold]{label:>13}[/]: {value}", highlight=False)
        if message is not None:
            out.out.print("[bold]         data[/]:", json.dumps(message.data, indent=2, default=str), highlight=False)
        out.out.print("[bold]    traceback[/]:")
        out.out.print(entry.traceback.rstrip(), markup=False, highlight=False)
        return 0

    invoke("dlq inspect", body, domain=domain, store=store, json_mode=as_json, write=False)


def _replay_results(out: Any, command: str, results: list[Any]) -> int:
    from workbench.cli.render import table

    failed = [r for r in results if not r.ok]
    if out.json_mode:
        out.envelope(
            command,
            {
                "replayed": len(results),
                "failed": len(failed),
                "results": [
                    {"id": r.dead_letter.id, "handler": r.dead_letter.handler, "ok": r.ok, "error": r.error}
                    for r in results
                ],
            },
            status="failure" if failed else "ok",
        )
    elif results:
        out.out.print(
            table(
                f"Replayed {len(results)} dead letter(s)",
                ["id", "handler", "outcome"],
                [
                    [
                        r.dead_letter.id[:8],
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


@dlq_app.command("replay")
def replay(identifier: IdArg, domain: DomainOpt = None, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Deliver one dead letter again, to its handler only."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.core import dead_letters

        with loaded.domain_context():
            result = dead_letters.replay(session.engine, identifier)
        return _replay_results(out, "dlq replay", [result])

    invoke("dlq replay", body, domain=domain, store=store, json_mode=as_json, write=True)


@dlq_app.command("replay-all")
def replay_all(
    handler: HandlerOpt = None,
    category: CategoryOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many.")] = None,
    group: Annotated[
        int | None, typer.Option("--group", help="Only group N of `dlq list --group` (same filters).")
    ] = None,
    yes: YesOpt = False,
    domain: DomainOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deliver every matching dead letter again, oldest first."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.core import dead_letters

        if group is not None:
            from workbench.cli.commands.dead_letter_tools import replay_group

            return replay_group(session, loaded, out, group, handler=handler, category=category, limit=limit, yes=yes)
        if not _confirm_bulk(session, out, "Replay", handler, category, limit, yes):
            return 1
        with loaded.domain_context():
            results = dead_letters.replay_all(session.engine, handler=handler, category=category, limit=limit)
        return _replay_results(out, "dlq replay-all", results)

    invoke("dlq replay-all", body, domain=domain, store=store, json_mode=as_json, write=True)


@dlq_app.command("skip")
def skip(identifier: IdArg, domain: DomainOpt = None, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Drop one dead letter without delivering it; messages held behind it are released."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.core import dead_letters

        with loaded.domain_context():
            entry = dead_letters.skip(session.engine, identifier)
        if out.json_mode:
            out.envelope("dlq skip", {"skipped": entry.id})
        else:
            out.say(f"skipped {entry.id[:8]} ({entry.handler}, {entry.message_type})")
        return 0

    invoke("dlq skip", body, domain=domain, store=store, json_mode=as_json, write=True)


@dlq_app.command("purge")
def purge(
    handler: HandlerOpt = None,
    category: CategoryOpt = None,
    yes: YesOpt = False,
    domain: DomainOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Drop every matching dead letter."""

    def body(session: Any, loaded: Any, out: Any) -> int:
        from workbench.core import dead_letters

        if not _confirm_bulk(session, out, "Purge", handler, category, None, yes):
            return 1
        with loaded.domain_context():
            purged = dead_letters.purge(session.engine, handler=handler, category=category)
        if out.json_mode:
            out.envelope("dlq purge", {"purged": purged})
        else:
            out.say(f"purged {purged} dead letter(s)")
        return 0

    invoke("dlq purge", body, domain=domain, store=store, json_mode=as_json, write=True)
