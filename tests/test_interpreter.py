"""One interpreter for one-shot commands, the shell and scripts; errors classified the same way in each."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SHOP
from hypothesis import given
from hypothesis import strategies as st
from workbench.cli import session as sessions
from workbench.cli.interpreter import Interpreter
from workbench.cli.words import UnbalancedQuoteError, split_words

LIBRARY = ROOT / "tests" / "library_domain.py"


def workbench(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real console entry point, in a subprocess."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    environment.update({"NO_COLOR": "1", "COLUMNS": "160", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        cwd=cwd or ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def library(tmp_path):
    """Run `workbench --domain library --store tmp ...` with fixed ids; a member Ann exists."""
    store = tmp_path / "store"

    def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
        return workbench("--deterministic", "--domain", str(LIBRARY), "--store", str(store), *args, **kwargs)

    created = run("new", "Member", "name=Ann", "--json")
    assert created.returncode == 0, created.stderr
    run.member_id = json.loads(created.stdout)["data"]["aggregate"]["id"]
    return run


def test_no_module_globals_carry_state_between_commands():
    import workbench.cli.main as main
    import workbench.cli.session as session_module

    assert not hasattr(main, "Globals") and not hasattr(session_module, "ACTIVE")
    assert not hasattr(main, "invoke")


def test_a_user_method_raising_is_one_line_exit_1(library):
    result = library("call", "Member", library.member_id, "fail")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: ValueError: members cannot do that"
    assert "Traceback" not in result.stderr


def test_a_key_error_in_user_code_is_not_a_usage_error(library):
    result = library("call", "Member", library.member_id, "look_up_card")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: KeyError: 'lid'"


def test_user_errors_in_json_mode_give_the_error_envelope(library):
    result = library("call", "Member", library.member_id, "fail", "--json")
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["status"] == "error" and payload["command"] == "call"
    assert payload["errors"] == ["ValueError: members cannot do that"]


def test_a_query_handler_bug_is_one_line_and_debug_shows_the_traceback(library):
    result = library("query", "CardsByName", "name=Ann")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: ZeroDivisionError: division by zero"
    debug = workbench(
        "--debug",
        "--domain",
        str(LIBRARY),
        "--store",
        str(Path(library.__closure__[0].cell_contents)),
        "query",
        "CardsByName",
        "name=Ann",
    )
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr and "return 1 / 0" in debug.stderr
    assert debug.stderr.rstrip().endswith("error: ZeroDivisionError: division by zero")


def test_usage_errors_stay_exit_2_without_class_names(library):
    result = library("call", "Member", library.member_id, "nope")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Error:" not in result.stderr.split(":", 1)[1]
    missing = library("raise")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: Missing argument 'EVENT' (see `workbench raise --help`)"


def test_a_workbench_bug_says_internal_error_with_the_debug_hint(monkeypatch, tmp_path, capsys):
    from workbench.core import event_store

    # No function of ours in between: the exception is raised in the workbench's own frame.
    monkeypatch.setattr(event_store.EventStore, "read", None)
    interpreter = Interpreter()
    code = interpreter.run_args(["--domain", str(SHOP), "--store", str(tmp_path / "s"), "events", "read", "order"])
    err = capsys.readouterr().err
    assert code == 70
    assert err.strip().splitlines()[-1] == (
        "internal error: TypeError: 'NoneType' object is not callable "
        "(a bug in the workbench; rerun with --debug for the traceback)"
    )


def test_one_shot_shell_and_script_run_the_same_interpreter(tmp_path, monkeypatch, capsys):
    calls = []
    original = Interpreter.run_args

    def spy(self, args, **kwargs):
        calls.append(list(args))
        return original(self, args, **kwargs)

    monkeypatch.setattr(Interpreter, "run_args", spy)
    settings = sessions.Settings(domain=str(SHOP), store=str(tmp_path / "s"))
    session = sessions.Session(settings, deterministic=True)
    session.load(write=True)
    interpreter = Interpreter(session)
    try:
        assert interpreter.execute("new Inventory book_id=b in_stock=5").code == 0
        assert interpreter.execute("expect Inventory.count == 1").code == 0
        assert interpreter.execute("exit").exit
    finally:
        interpreter.close()
    assert calls == [["new", "Inventory", "book_id=b", "in_stock=5"]]
    assert "Inventory saved" in capsys.readouterr().out


def test_script_needs_no_prompt_toolkit(tmp_path):
    script = tmp_path / "demo.wb"
    script.write_text("new Inventory book_id=b in_stock=5\nexpect Inventory.count == 1\n")
    code = (
        "import sys, runpy\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'prompt_toolkit': raise ImportError('prompt_toolkit blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.argv = ['workbench', 'script', {str(script)!r}, '--domain', {str(SHOP)!r}]\n"
        "runpy.run_module('workbench', run_name='__main__')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ok: Inventory.count == 1" in result.stdout


# -- words ------------------------------------------------------------------------------

WORDS = st.text(alphabet=st.sampled_from(list("ab =\"'\\\t$-")), max_size=30)


@given(WORDS)
def test_split_words_agrees_with_shlex(line):
    try:
        expected = shlex.split(line)
    except ValueError:
        with pytest.raises(UnbalancedQuoteError):
            split_words(line)
        return
    assert split_words(line) == expected


def test_a_2_mb_line_is_split_and_parsed(tmp_path):
    value = "x" * 2_000_000
    words = split_words(f"raise OrderShipped note='{value}' quantity=1")
    assert words == ["raise", "OrderShipped", f"note={value}", "quantity=1"]
    settings = sessions.Settings(domain=str(SHOP), store=str(tmp_path / "s"))
    session = sessions.Session(settings, deterministic=True)
    session.load(write=True)
    interpreter = Interpreter(session)
    try:
        result = interpreter.execute(f"new Inventory book_id={value} in_stock=1")
    finally:
        interpreter.close()
    assert result.code == 0


def test_a_missing_golden_transcript_fails_and_names_the_switch(tmp_path, monkeypatch):
    from conftest import check_golden

    monkeypatch.delenv("WORKBENCH_UPDATE_GOLDEN", raising=False)
    missing = tmp_path / "demo.out"
    with pytest.raises(pytest.fail.Exception, match="WORKBENCH_UPDATE_GOLDEN=1"):
        check_golden(missing, "output")
    assert not missing.exists()  # never written as a side effect
    missing.write_text("old\n")
    with pytest.raises(pytest.fail.Exception, match=r"(?s)differs.*-old\n\+new"):
        check_golden(missing, "new\n")
    monkeypatch.setenv("WORKBENCH_UPDATE_GOLDEN", "1")
    check_golden(missing, "new\n")
    assert missing.read_text() == "new\n"


def test_one_line_makes_a_protean_domain_file_importable_from_plain_python(tmp_path):
    code = (
        "import sys, runpy\n"
        "import workbench.as_protean\n"
        f"names = runpy.run_path({str(SHOP)!r})\n"
        "print(type(names['domain']).__module__, sorted(names['domain'].registry.aggregates))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "workbench.core.domain ['Inventory', 'Notification', 'Order']"
    without = subprocess.run(
        [sys.executable, "-c", f"import runpy; runpy.run_path({str(SHOP)!r})"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "No module named 'protean'" in without.stderr


def test_help_start_up_imports_neither_rich_nor_the_engine():
    # `workbench --help` must stay fast (benchmarks/cli_commands.py prints the figure): the
    # command modules import only typer at the top.
    code = "import sys, workbench.cli.main; print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich' or m.startswith('workbench.core.')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_bad_command_line_under_json_still_prints_the_envelope(tmp_path, capsys):
    code = Interpreter().run_args(["--domain", str(SHOP), "--store", str(tmp_path / "s"), "raise", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 2
    assert payload["status"] == "error" and payload["command"] == "raise"
    assert payload["errors"] == ["Missing argument 'EVENT' (see `workbench raise --help`)"]


def test_an_unknown_handler_name_in_the_engine_is_a_usage_error(tmp_path):
    from workbench.core.engine import Engine
    from workbench.core.exceptions import IncorrectUsageError
    from workbench.core.loader import load_domain

    domain = load_domain(str(SHOP))
    with pytest.raises(IncorrectUsageError, match="no event handler named 'Nope'"):
        Engine(domain).subscription("Nope")


def test_no_module_imports_typers_private_click():
    import ast

    offenders = []
    for path in [*(ROOT / "cli").rglob("*.py"), *(ROOT / "core").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if any(n.startswith("typer._") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_script_given_a_directory_says_so(tmp_path):
    result = workbench("script", str(tmp_path), "--domain", str(SHOP))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: script {tmp_path} is a directory, not a file of commands"
