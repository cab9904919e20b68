"""The virtual clock: durations, `clock` / `clock advance` in scripts and commands, retries without sleeping."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import ROOT
from hypothesis import given
from hypothesis import strategies as st
from test_script import run_script
from typer.testing import CliRunner
from workbench.cli.main import app
from workbench.core.clock import VirtualClock, parse_duration
from workbench.core.exceptions import IncorrectUsageError

LOYALTY = ROOT / "samples" / "loyalty" / "domain.py"
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@given(
    st.dictionaries(st.sampled_from(["d", "h", "m", "s", "ms"]), st.integers(0, 10_000), min_size=1),
)
def test_durations_add_up_their_parts(parts):
    order = ["d", "h", "m", "s", "ms"]
    text = "".join(f"{parts[u]}{u}" for u in order if u in parts)
    seconds = {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
    assert parse_duration(text) == pytest.approx(sum(n * seconds[u] for u, n in parts.items()))


@pytest.mark.parametrize("text", ["", "abc", "30x", "-5s", "5s later", "1e400", "s"])
def test_what_is_not_a_duration_is_named(text):
    with pytest.raises(IncorrectUsageError, match="is not a duration"):
        parse_duration(text)


@given(st.lists(st.floats(0, 1e6), max_size=20))
def test_the_clock_never_runs_backwards(steps):
    clock = VirtualClock(START)
    readings = [clock()]
    for step in steps:
        clock.advance(step)
        readings.append(clock())
    assert readings == sorted(readings) and len(set(readings)) == len(readings)
    assert clock.peek() == clock.peek()  # peeking does not move it
    with pytest.raises(IncorrectUsageError, match="only moves forward"):
        clock.advance(-1)


def test_one_shot_commands_show_the_clock_but_cannot_move_it(tmp_path):
    env = {"WORKBENCH_DOMAIN": str(LOYALTY), "WORKBENCH_STORE": str(tmp_path / "s"), "NO_COLOR": "1"}
    runner = CliRunner()
    shown = json.loads(runner.invoke(app, ["clock", "--json"], env=env).stdout)["data"]
    assert shown["virtual"] is False and shown["retries"] == []
    result = runner.invoke(app, ["clock", "advance", "30s"], env=env)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: the clock is real time")
    result = runner.invoke(app, ["--deterministic", "clock", "advance", "30s"], env=env)
    assert result.exit_code == 2 and "a one-shot command's clock ends with it" in result.stderr
    result = runner.invoke(app, ["--deterministic", "clock", "advance", "soon"], env=env)
    assert (
        result.exit_code == 2
        and result.stderr.strip() == "error: `soon` is not a duration (try 30s, 250ms, 5m, 1h30m, 2d)"
    )


def test_a_script_drives_a_retry_with_clock_advance(tmp_path):
    (tmp_path / "domain.py").write_text(LOYALTY.read_text())
    (tmp_path / "retry.wb").write_text(
        "new Gateway name=cards status=down\n"
        "raise OrderPlaced order_id=o-1 customer=ann total=40\n"
        "! process\n"
        "process\n"  # not due: nothing runs, nothing sleeps
        'expect status ChargeCard == "retrying"\n'
        "clock advance 30s\n"
        "! process\n"  # the first retry, due 30 s after the failure; the next waits 60 s
        "clock advance 59s\n"
        "process\n"
        "expect dlq ChargeCard == 0\n"
        "clock advance 1s\n"
        "! process\n"
        "expect dlq ChargeCard == 1\n"
    )
    result = run_script("script", str(tmp_path / "retry.wb"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "clock: 2026-01-01T00:01:29" in result.stdout


def test_reload_keeps_the_virtual_clock_where_it_was(tmp_path):
    (tmp_path / "domain.py").write_text(LOYALTY.read_text())
    (tmp_path / "reload.wb").write_text("clock advance 90s\nreload\nclock\n")
    result = run_script("script", str(tmp_path / "reload.wb"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "clock: 2026-01-01T00:01:30+00:00 (virtual)"
