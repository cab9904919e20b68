"""`dlq replay-all` (and its filters), `dlq skip` and id prefixes on Redis `<category>:dlq` dead letters,
through the real CLI on a real Redis, exactly as they work on the store's dead letters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_broker_workers import DOMAIN, _relayed, _shipped

pytestmark = pytest.mark.redis


@pytest.fixture
def dead(tmp_path, redis_server):
    """A seeded store whose first three orders are dead letters on Redis's ``order:dlq``."""

    store_dir, broker = _relayed(tmp_path, redis_server.url)
    for delivery in broker.consume("order", "ManageInventory", "w", count=3):
        broker.dead_letter(delivery, "ManageInventory", reason="RuntimeError: boom")
        time.sleep(0.02)  # entry ids differ before their last digits, so a prefix can name one
    yield store_dir, broker
    broker.close()


def _dlq(store_dir: Path, url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WORKBENCH_BROKER": url}
    command = [sys.executable, "-m", "workbench", "dlq", *args, "--domain", str(DOMAIN), "--store", str(store_dir)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, input=stdin)


def _unique_prefix(entry_id: str, others: list[str]) -> str:
    for length in range(4, len(entry_id)):
        if not any(o.startswith(entry_id[:length]) for o in others):
            return entry_id[:length]
    raise AssertionError(f"no unique prefix for {entry_id}")


def test_replay_all_replays_the_brokers_dead_letters_once_each(dead, redis_server) -> None:
    store_dir, broker = dead
    replayed = _dlq(store_dir, redis_server.url, "replay-all", "-y", "--json")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    data = json.loads(replayed.stdout)["data"]
    assert (data["replayed"], data["failed"]) == (3, 0)
    assert {r["source"] for r in data["results"]} == {"redis"}
    assert broker.dead_letters("order") == []
    assert _shipped(store_dir) == (3, 3)
    again = _dlq(store_dir, redis_server.url, "replay-all", "-y")
    assert again.returncode == 0 and "no dead letters to replay" in again.stderr
    assert _shipped(store_dir) == (3, 3)


def test_replay_all_filters_and_confirmation_apply_to_broker_dead_letters(dead, redis_server) -> None:
    store_dir, broker = dead
    refused = _dlq(store_dir, redis_server.url, "replay-all", stdin="n\n")
    assert refused.returncode != 0 and "Replay 3 dead letters?" in refused.stderr
    assert len(broker.dead_letters("order")) == 3
    limited = _dlq(store_dir, redis_server.url, "replay-all", "--limit", "1", "--handler", "ManageInventory",
                   "--category", "order", "-y", "--json")  # fmt: skip
    assert limited.returncode == 0, limited.stdout + limited.stderr
    assert json.loads(limited.stdout)["data"]["replayed"] == 1
    assert len(broker.dead_letters("order")) == 2 and _shipped(store_dir) == (1, 1)
    wrong = _dlq(store_dir, redis_server.url, "replay-all", "--handler", "Nope", "-y")
    assert wrong.returncode != 0 and "Nope" in wrong.stderr and "Traceback" not in wrong.stderr


def test_replay_all_group_replays_the_broker_group_dlq_list_group_shows(dead, redis_server) -> None:
    store_dir, broker = dead
    listed = _dlq(store_dir, redis_server.url, "list", "--group", "--json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    (group,) = json.loads(listed.stdout)["data"]["groups"]
    assert (group["handler"], group["error_type"], group["count"]) == ("ManageInventory", "RuntimeError", 3)
    assert sorted(group["ids"]) == sorted(d.entry_id for d in broker.dead_letters("order"))
    replayed = _dlq(store_dir, redis_server.url, "replay-all", "--group", "1", "--limit", "2", "-y", "--json")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert json.loads(replayed.stdout)["data"]["replayed"] == 2
    assert len(broker.dead_letters("order")) == 1 and _shipped(store_dir) == (2, 2)


def test_skip_drops_one_broker_dead_letter_named_by_a_prefix(dead, redis_server) -> None:
    store_dir, broker = dead
    first, *others = [d.entry_id for d in broker.dead_letters("order")]
    prefix = _unique_prefix(first, others)
    assert len(prefix) < len(first)
    skipped = _dlq(store_dir, redis_server.url, "skip", prefix, "--json")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert json.loads(skipped.stdout)["data"] == {"skipped": first, "source": "redis"}
    assert [d.entry_id for d in broker.dead_letters("order")] == others
    assert _shipped(store_dir) == (0, 0)  # skipped, not delivered


def test_a_prefix_names_a_broker_dead_letter_for_inspect_and_replay(dead, redis_server) -> None:
    store_dir, broker = dead
    first, *others = [d.entry_id for d in broker.dead_letters("order")]
    prefix = _unique_prefix(first, others)
    shown = _dlq(store_dir, redis_server.url, "inspect", prefix, "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert json.loads(shown.stdout)["data"]["dead_letter"]["id"] == first
    replayed = _dlq(store_dir, redis_server.url, "replay", prefix)
    assert replayed.returncode == 0 and "Replayed 1 dead letter" in replayed.stdout and "ok" in replayed.stdout
    assert _shipped(store_dir) == (1, 1)


def test_an_ambiguous_prefix_is_the_same_one_line_error_as_for_store_dead_letters(dead, redis_server) -> None:
    store_dir, broker = dead
    ids = [d.entry_id for d in broker.dead_letters("order")]
    shared = os.path.commonprefix(ids)
    assert len(shared) >= 4  # ids are millisecond timestamps of one test run
    for verb in ("skip", "replay", "inspect"):
        result = _dlq(store_dir, redis_server.url, verb, shared[:4])
        assert result.returncode != 0, result.stdout
        assert result.stderr.strip() == f"error: no dead letter with id {shared[:4]}"
    assert len(broker.dead_letters("order")) == 3 and _shipped(store_dir) == (0, 0)


def test_a_broker_dead_letter_that_fails_again_stays_and_replay_all_exits_non_zero(tmp_path, redis_server) -> None:
    import redis
    from test_broker_combinations import _seed as seed_combos
    from test_broker_combinations import _wb

    redis.Redis.from_url(redis_server.url).flushdb()
    store = str(tmp_path / "store")
    seed_combos(store)  # payments of 10 and 13; Charge declines 13 while COMBOS_FAIL=1
    _wb(store, redis_server.url, "process", code=None, COMBOS_FAIL="1")
    (letter,) = open_redis_letters(redis_server.url, "payment")
    failed = _wb(store, redis_server.url, "dlq", "replay-all", "-y", code=1, COMBOS_FAIL="1")
    assert (failed["replayed"], failed["failed"]) == (1, 1)
    (result,) = failed["results"]
    assert (result["id"], result["ok"], result["source"]) == (letter, False, "redis")
    assert "RuntimeError: card declined" in result["error"]
    assert open_redis_letters(redis_server.url, "payment") == [letter]  # kept for the next try
    fixed = _wb(store, redis_server.url, "dlq", "replay-all", "-y")
    assert (fixed["replayed"], fixed["failed"]) == (1, 0)
    assert open_redis_letters(redis_server.url, "payment") == []


def open_redis_letters(url: str, stream: str) -> list[str]:
    from workbench.core.broker import open_broker

    broker = open_broker(url)
    try:
        return [d.entry_id for d in broker.dead_letters(stream)]
    finally:
        broker.close()
