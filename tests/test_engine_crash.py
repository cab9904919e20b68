"""Killing the engine mid-batch, many times, never applies a delivery twice or loses one."""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import textwrap
import time

from async_domain import pay, payments_domain
from conftest import ROOT
from workbench.core.store import open_store

ENGINE = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {tests!r})
    from async_domain import payments_domain
    from workbench.core.engine import Engine
    from workbench.core.store import open_store
    domain = payments_domain(store=open_store({path!r}))
    domain.store.persistence.compact_min_bytes = 50_000  # compact often, so kills hit it too
    print("started", flush=True)
    Engine(domain).process_until_idle()
    domain.close()
    print("idle", flush=True)
    """
)


def check(store_dir):
    domain = payments_domain(store=open_store(store_dir))
    try:
        paid = {m.id for m in domain.event_store.read_all("payment")}
        ledger = collections.Counter(r.ref for r in domain.repository_for("Ledger").all())
        mail = collections.Counter(r.ref for r in domain.repository_for("Mail").all())
        assert max(ledger.values(), default=1) == 1, "a Book delivery was applied twice"
        assert max(mail.values(), default=1) == 1, "a Notify delivery was applied twice"
        assert set(ledger) <= paid and set(mail) <= paid
        booked = len(domain.event_store.read("ledger", no_of_messages=10**9))
        assert booked == len(ledger), "ledger rows and their Booked events were not committed together"
        return paid, ledger, mail
    finally:
        domain.close()


def test_killed_engine_restarts_without_double_application_or_loss(tmp_path, store_dir):
    domain = payments_domain(store=open_store(store_dir))
    for chunk in range(160):
        pay(domain, *range(chunk * 100, chunk * 100 + 100))
    domain.close()
    script = tmp_path / "engine.py"
    script.write_text(ENGINE.format(root=str(ROOT), tests=str(ROOT / "tests"), path=str(store_dir)))
    kills = 0
    for round_ in range(15):
        proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "started"
        time.sleep(0.05 + 0.01 * round_)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate()
        check(store_dir)
    subprocess.run([sys.executable, str(script)], check=True, capture_output=True, timeout=300)
    paid, ledger, mail = check(store_dir)
    assert kills >= 8
    assert set(ledger) == paid and set(mail) == paid, "a delivery was lost"
