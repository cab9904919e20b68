"""Dead letters as causes and regression tests: `dlq list --group`, `replay-all --group`, `dlq export --pytest`."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner
from workbench.cli.main import app
from workbench.core.dead_letter_groups import user_frame

runner = CliRunner()

# Two bugs in one handler: a refusal above the limit, and a KeyError for an unknown account kind.
DOMAIN = textwrap.dedent(
    """
    from protean import Domain, current_domain, handle
    from protean.fields import Identifier, Integer, String

    domain = Domain(name="Ledger")
    domain.config["event_processing"] = "async"

    @domain.aggregate
    class Payment:
        account = Identifier(required=True)
        amount = Integer(required=True)
        kind = String(default="card")

    @domain.event(part_of=Payment)
    class PaymentReceived:
        account = Identifier(required=True)
        amount = Integer(required=True)
        kind = String(default="card")

    @domain.aggregate
    class Account:
        name = Identifier(required=True, unique=True)
        balance = Integer(default=0)

    FEES = {"card": 1}

    @domain.event_handler(part_of=Account, stream_category="payment", subscription_type="stream",
                          subscription_config={"max_retries": 1, "enable_dlq": True})
    class PostToLedger:
        @handle(PaymentReceived)
        def post(self, event):
            accounts = current_domain.repository_for(Account)
            account = accounts.find_by(name=event.account)
            fee = FEES[event.kind]
            if event.amount > account.balance:
                raise ValueError(f"amount {event.amount} exceeds the balance of {account.balance}")
            account.balance -= event.amount + fee
            accounts.add(account)
    """
)


class Cli:
    def __init__(self, domain: Path, store: Path) -> None:
        self.env = {"WORKBENCH_DOMAIN": str(domain), "WORKBENCH_STORE": str(store), "NO_COLOR": "1", "COLUMNS": "200"}

    def __call__(self, *args: str, code: int = 0):
        result = runner.invoke(app, list(args), env=self.env)
        assert result.exit_code == code, f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return result

    def json(self, *args: str, code: int = 0) -> dict:
        return json.loads(self(*args, "--json", code=code).stdout)


@pytest.fixture
def ledger(tmp_path):
    domain = tmp_path / "app" / "domain.py"
    domain.parent.mkdir()
    domain.write_text(DOMAIN)
    cli = Cli(domain, tmp_path / "store")
    cli("new", "Account", "name=acme", "balance=100")
    for amount, kind in [(500, "card"), (700, "card"), (5, "wire"), (900, "card")]:
        cli("raise", "PaymentReceived", "account=acme", f"amount={amount}", f"kind={kind}", "--id", "p-1")
    cli("process", code=1)
    return cli


def test_list_group_counts_each_fingerprint_once(ledger):
    groups = ledger.json("dlq", "list", "--group")["data"]["groups"]
    assert [(g["group"], g["handler"], g["error_type"], g["count"]) for g in groups] == [
        (1, "PostToLedger", "ValueError", 3),
        (2, "PostToLedger", "KeyError", 1),
    ]
    assert groups[0]["frame"].startswith("domain.py:") and groups[0]["frame"].endswith(" in post")
    assert groups[0]["frame"] != groups[1]["frame"]  # same handler and method, different lines
    assert groups[0]["first_seen"] <= groups[0]["last_seen"]
    assert groups[0]["example"] == "amount 900 exceeds the balance of 100"
    table = ledger("dlq", "list", "--group").stdout
    assert "4 dead letter(s) in 2 group(s)" in table and "ValueError" in table and "KeyError" in table


def test_replay_all_group_replays_only_that_group(ledger):
    data = ledger.json("dlq", "replay-all", "--group", "2", "-y", code=1)["data"]
    assert data["replayed"] == 1 and data["failed"] == 1  # the KeyError is still there
    assert [g["count"] for g in ledger.json("dlq", "list", "--group")["data"]["groups"]] == [3, 1]
    result = ledger("dlq", "replay-all", "--group", "3", "-y", code=2)
    assert result.stderr.strip() == "error: no dead-letter group 3 (groups: 1..2)"


def test_user_frame_skips_the_engine_and_the_standard_library():
    engine = str(ROOT / "core" / "subscription.py")
    text = (
        "Traceback (most recent call last):\n"
        f'  File "{engine}", line 10, in attempt\n    x()\n'
        '  File "/home/me/shop/domain.py", line 42, in reduce\n    inventory.reduce()\n'
        f'  File "{os.__file__}", line 7, in get\n    raise KeyError\n'
        "KeyError: 'x'\n"
    )
    assert user_frame(text) == "domain.py:42 in reduce"
    assert user_frame("no frames here") == ""


@given(
    st.lists(st.tuples(st.sampled_from(["a.py", "b.py"]), st.integers(1, 999), st.sampled_from(["f", "g"])), min_size=1)
)
def test_user_frame_is_the_innermost_user_frame(frames):
    text = "".join(f'  File "/src/{name}", line {line}, in {func}\n    pass\n' for name, line, func in frames)
    name, line, func = frames[-1]
    assert user_frame("Traceback (most recent call last):\n" + text + "ValueError: x\n") == f"{name}:{line} in {func}"


def test_an_exported_test_fails_until_the_handler_is_fixed(ledger, tmp_path):
    entries = ledger.json("dlq", "list")["data"]["entries"]
    target = next(e for e in entries if e["error_type"] == "ValueError")
    tests = tmp_path / "tests"
    tests.mkdir()
    exported = tests / "test_regression.py"
    result = ledger("dlq", "export", target["id"][:8], "--pytest", str(exported))
    assert "wrote" in result.stderr
    source = exported.read_text()
    assert "ValueError: amount 500 exceeds the balance of 100" in source
    assert "'../app/domain.py'" in source  # relative to the test, so the pair can move together

    def run_exported() -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(exported)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    failing = run_exported()
    assert failing.returncode == 1, failing.stdout
    assert "ValueError: amount 500 exceeds the balance of 100" in failing.stdout

    domain = ledger.env["WORKBENCH_DOMAIN"]
    fixed = Path(domain).read_text().replace("if event.amount > account.balance:", "if False:")
    Path(domain).write_text(fixed)
    passing = run_exported()
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "1 passed" in passing.stdout


def test_export_refuses_to_overwrite_and_names_missing_dead_letters(ledger, tmp_path):
    entry = ledger.json("dlq", "list")["data"]["entries"][0]
    out = tmp_path / "test_x.py"
    out.write_text("# mine\n")
    assert ledger("dlq", "export", entry["id"], "--pytest", str(out), code=2).stderr.strip() == (
        f"error: {out} exists; pass --force to overwrite it"
    )
    assert out.read_text() == "# mine\n"
    ledger("dlq", "export", entry["id"], "--pytest", str(out), "--force")
    assert "def test_post_to_ledger_handles_payment_received_" in out.read_text()
    missing = tmp_path / "test_missing.py"
    assert ledger("dlq", "export", "nope-nope", "--pytest", str(missing), code=2).stderr.strip() == (
        "error: no dead letter with id nope-nope"
    )
    assert not missing.exists() and not list(tmp_path.glob(".workbench-export-*"))


def test_an_exported_test_compiles_whatever_the_error_text_holds(tmp_path):
    domain = tmp_path / "app" / "domain.py"
    domain.parent.mkdir()
    # At run time the message is  C:\xdata\new """rejected"""  : a \x escape and closing quotes.
    domain.write_text(
        DOMAIN.replace(
            'raise ValueError(f"amount {event.amount} exceeds the balance of {account.balance}")',
            'raise ValueError("C:\\\\xdata\\\\new \\"\\"\\"rejected\\"\\"\\"")',
        )
    )
    cli = Cli(domain, tmp_path / "store")
    cli("new", "Account", "name=acme", "balance=100")
    cli("raise", "PaymentReceived", "account=acme", "amount=500", "--id", "p-1")
    cli("process", code=1)
    (entry,) = cli.json("dlq", "list")["data"]["entries"]
    assert entry["error"] == 'C:\\xdata\\new """rejected"""'
    exported = tmp_path / "test_regression.py"
    cli("dlq", "export", entry["id"], "--pytest", str(exported))
    tree = ast.parse(exported.read_text())  # a SyntaxError before the fix
    assert "ValueError: C:\\xdata\\new '''rejected'''" in ast.get_docstring(tree)
