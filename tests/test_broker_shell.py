"""`workbench --broker redis://... shell`: the interactive session feeds stream handlers and subscribers
from Redis, and its dlq commands see Redis dead letters (prompt_toolkit pipe input, a real Redis)."""

from __future__ import annotations

from collections import Counter

import pytest
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from test_broker_combinations import DOMAIN, _seen
from typer.testing import CliRunner
from workbench.cli.main import app

pytestmark = pytest.mark.redis


def test_the_shell_with_a_redis_broker_processes_and_triages_through_redis(tmp_path, redis_server, monkeypatch):
    import redis
    from workbench.cli.repl import shell as shell_module

    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    monkeypatch.setenv("WORKBENCH_BROKER", "embedded")  # restored after the test: --broker sets it
    monkeypatch.setenv("COMBOS_FAIL", "1")
    monkeypatch.setenv("WORKBENCH_CLAIM_AFTER_MS", "100")
    store = tmp_path / "store"
    lines = [
        "publish partner '{\"kind\":\"shell\"}'",
        "py o = Order(); o.ship_order(); repo(Order).add(o)",
        "py p = Payment(amount=13); p.pay(); repo(Payment).add(p)",
        "process",
        "subscriptions status",
        "dlq list",
        "py import os; os.environ['COMBOS_FAIL'] = '0'",
        "dlq replay-all -y",
        "dlq list",
        "exit",
    ]
    real_shell = shell_module.Shell
    with create_pipe_input() as pipe:
        pipe.send_text("".join(f"{line}\n" for line in lines))
        monkeypatch.setattr(
            shell_module,
            "Shell",
            lambda session: real_shell(session, input=pipe, output=DummyOutput(), history=InMemoryHistory()),
        )
        result = CliRunner().invoke(
            app,
            ["--broker", redis_server.url, "shell", "--domain", str(DOMAIN), "--store", str(store)],
            env={"NO_COLOR": "1", "COLUMNS": "200"},
        )
    out = result.stdout
    assert result.exit_code == 0, out + result.stderr
    # The stream handlers' categories and the subscriber's stream went through Redis, each message once.
    assert (client.xlen("order"), client.xlen("payment"), client.xlen("$broker:partner")) == (1, 1, 1)
    assert client.xpending("order", "Ship")["pending"] == 0
    assert "1 dead letter on the broker (source: redis)" in out and "card declined" in out
    assert "Replayed 1 dead letter" in out
    assert client.xlen("payment:dlq") == 0
    assert out.rstrip().endswith("no dead letters") or "no dead letters" in result.stderr
    assert _seen(str(store)) == Counter(
        {"Ship/OrderShipped": 1, "Charge/Paid": 1, "Everything/OrderShipped": 1, "Everything/Paid": 1,
         "Both/OrderShipped": 1, "Both/Paid": 1, "Partner/shell": 1}
    )  # fmt: skip
