"""Attacks on the store's files: damaged acknowledged lines, old journals, unusable
paths, refused writes, unstorable values; and `workbench store check|repair`."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from conftest import SHOP
from test_store_disk import fill, snapshot_of
from typer.testing import CliRunner
from workbench.cli.main import app
from workbench.core.exceptions import StoreCorruptError, StoreError, ValidationError
from workbench.core.store import Change, journal, json_file, open_store

runner = CliRunner()


def _lines(store_dir: Path) -> list[bytes]:
    return (store_dir / "journal.jsonl").read_bytes().split(b"\n")


def _write(store_dir: Path, lines: list[bytes]) -> None:
    (store_dir / "journal.jsonl").write_bytes(b"\n".join(lines))


@pytest.mark.parametrize("read_only", [False, True])
def test_a_bit_flip_in_the_last_complete_line_is_damage_not_a_torn_write(store_dir, read_only):
    fill(store_dir, 2)
    lines = _lines(store_dir)  # [..., last commit, b""]: the last line has its newline
    middle = len(lines[-2]) // 2
    lines[-2] = lines[-2][:middle] + bytes([lines[-2][middle] ^ 0x01]) + lines[-2][middle + 1 :]
    _write(store_dir, lines)
    before = snapshot_of(store_dir)
    with pytest.raises(StoreCorruptError, match=r"damaged at byte \d+, after seq \d+ \(checksum mismatch\)"):
        open_store(store_dir, read_only=read_only)
    assert snapshot_of(store_dir) == before


def test_a_flipped_newline_between_the_last_two_lines_cuts_nothing(store_dir):
    fill(store_dir, 2)
    raw = (store_dir / "journal.jsonl").read_bytes()
    cut = raw.rstrip(b"\n").rfind(b"\n")
    (store_dir / "journal.jsonl").write_bytes(raw[:cut] + b" " + raw[cut + 1 :])
    before = snapshot_of(store_dir)
    with pytest.raises(StoreCorruptError, match="store repair --drop-after"):
        open_store(store_dir)
    assert snapshot_of(store_dir) == before


def test_the_checksum_covers_the_seq(store_dir):
    fill(store_dir, 1)
    lines = _lines(store_dir)
    lines[-2] = lines[-2].replace(b'{"seq":', b'{"seq":9', 1)  # seq N becomes 9N
    _write(store_dir, lines)
    with pytest.raises(StoreCorruptError, match="checksum mismatch"):
        open_store(store_dir)


def _format_1_journal(store_dir: Path, first_seq: int = 1) -> None:
    """A journal as older workbenches wrote it: CRC over the ops only."""
    store_dir.mkdir(parents=True)
    lines = [b'{"workbench_store":1,"base_seq":0}']
    for seq in range(first_seq, first_seq + 3):
        ops = json.dumps([["put", "t", "id", {"id": seq}]], separators=(",", ":")).encode()
        lines.append(b'{"seq":%d,"crc":%d,"ops":%s}' % (seq, zlib.crc32(ops), ops))
    (store_dir / "journal.jsonl").write_bytes(b"\n".join(lines) + b"\n")


def test_format_1_journals_still_load_and_are_upgraded_by_a_writer(store_dir):
    _format_1_journal(store_dir)
    with open_store(store_dir, read_only=True) as reader:
        assert sorted(reader.rows("t")) == [1, 2, 3]
    assert (store_dir / "journal.jsonl").read_bytes().startswith(b'{"workbench_store":1')
    with open_store(store_dir) as store:
        store.commit([Change("t", "id", 4, {"id": 4})])
    assert (store_dir / "journal.jsonl").read_bytes().startswith(b'{"workbench_store":2')
    with open_store(store_dir) as again:
        assert sorted(again.rows("t")) == [1, 2, 3, 4]


def test_the_first_lines_seq_must_follow_the_snapshot(store_dir):
    _format_1_journal(store_dir, first_seq=2)  # commit 1 is missing
    with pytest.raises(StoreCorruptError, match="seq 2 where 1 was expected"):
        open_store(store_dir, read_only=True)


def test_read_only_opens_warn_about_a_torn_tail(store_dir, caplog):
    fill(store_dir, 1)
    raw = (store_dir / "journal.jsonl").read_bytes()
    (store_dir / "journal.jsonl").write_bytes(raw + b'{"seq":99,"cr')
    with caplog.at_level(logging.WARNING, logger="workbench.store"):
        open_store(store_dir, read_only=True).close()
    assert "incomplete last commit" in caplog.text


# -- store check / store repair ------------------------------------------------------------


def test_store_check_and_repair_recover_a_damaged_journal(store_dir):
    fill(store_dir, 3)
    healthy = runner.invoke(app, ["--store", str(store_dir), "store", "check"])
    assert healthy.exit_code == 0 and "ok" in healthy.stdout
    lines = _lines(store_dir)
    lines[-3] = lines[-3].replace(b'"quantity":1', b'"quantity":3', 1)  # the last-but-one commit
    _write(store_dir, lines)
    damaged_journal = (store_dir / "journal.jsonl").read_bytes()
    checked = runner.invoke(app, ["--store", str(store_dir), "store", "check", "--json"])
    assert checked.exit_code == 1
    envelope = json.loads(checked.stdout)
    assert envelope["status"] == "failure" and envelope["data"]["damage"]["intact_after"] == 1
    keep = envelope["data"]["damage"]["after_seq"]
    refused = runner.invoke(app, ["--store", str(store_dir), "store", "repair", "--drop-after", str(keep + 1)])
    assert refused.exit_code == 2 and "not intact" in refused.stderr
    repaired = runner.invoke(app, ["--store", str(store_dir), "store", "repair", "--drop-after", str(keep)])
    assert repaired.exit_code == 0, repaired.stderr
    [backup] = store_dir.glob("journal.jsonl.*.bak")
    assert backup.read_bytes() == damaged_journal
    with open_store(store_dir) as store:
        assert store.state.seq == keep
    assert runner.invoke(app, ["--store", str(store_dir), "store", "check"]).exit_code == 0


# -- unusable paths and refused writes: one line, exit 2 -------------------------------------


def _cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench", "--domain", str(SHOP), "--store", "st", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def _one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    for word in words:
        assert word in line


@pytest.mark.parametrize("name", ["journal.jsonl", "snapshot.json", "LOCK"])
@pytest.mark.parametrize("command", [["new", "Inventory", "book_id=b", "in_stock=1"], ["show", "Inventory"]])
def test_a_store_file_that_is_a_directory(tmp_path, name, command):
    (tmp_path / "st" / name).mkdir(parents=True)
    result = _cli(tmp_path, *command)
    if name == "LOCK" and command[0] == "show":
        assert result.returncode == 0  # readers take no lock
    else:
        _one_line_error(result, name)


@pytest.mark.parametrize("command", [["new", "Inventory", "book_id=b", "in_stock=1"], ["show", "Inventory"]])
def test_a_store_path_that_is_a_file(tmp_path, command):
    (tmp_path / "st").write_text("not a folder")
    _one_line_error(_cli(tmp_path, *command), "not a folder")


def test_a_lock_timeout_that_is_not_a_number(tmp_path):
    _one_line_error(
        _cli(tmp_path, "new", "Inventory", "book_id=b", "in_stock=1", env={"WORKBENCH_LOCK_TIMEOUT": "abc"}),
        "WORKBENCH_LOCK_TIMEOUT",
    )


def test_an_integer_beyond_64_bits(tmp_path):
    result = _cli(tmp_path, "new", "Inventory", "book_id=b", "in_stock=99999999999999999999999")
    _one_line_error(result, "in_stock", "64-bit")
    with open_store(tmp_path / "st") as store:
        assert store.rows("aggregate:inventory") == {}  # nothing half-written


def test_a_snapshot_of_the_wrong_shape(tmp_path):
    (tmp_path / "st").mkdir()
    (tmp_path / "st" / "snapshot.json").write_text('{"_meta": {"1": {"format": 1, "seq": 1}}, "events": []}')
    _one_line_error(_cli(tmp_path, "show", "Inventory"), "snapshot", "wrong shape")


def test_missing_keys_are_named(store_dir):
    store_dir.mkdir()
    (store_dir / "snapshot.json").write_text(
        json.dumps({"_meta": {"1": {"format": 1, "seq": 1, "tables": {}}}, "events": {"1": {"id": "e"}}})
    )
    with pytest.raises(StoreCorruptError, match="without 'stream_name"):
        open_store(store_dir, read_only=True)


def test_a_snapshot_behind_the_journal_says_so(store_dir):
    store_dir.mkdir()
    (store_dir / "journal.jsonl").write_bytes(b'{"workbench_store":2,"base_seq":5}\n')
    for read_only in (True, False):
        with pytest.raises(StoreCorruptError, match=r"commits 1\.\.5 are missing \(the snapshot is older"):
            open_store(store_dir, read_only=read_only)


def test_store_check_reports_a_snapshot_behind_the_journal(store_dir):
    from workbench.core.store.maintenance import check_store

    store_dir.mkdir()
    (store_dir / "journal.jsonl").write_bytes(b'{"workbench_store":2,"base_seq":5}\n')
    assert check_store(store_dir).problems == [
        "the journal starts after seq 5 but the snapshot holds only seq 0, so commits 1..5 are missing "
        "(the snapshot is older than the journal)"
    ]


def test_store_check_during_a_compaction_reads_again_instead_of_reporting_damage(store_dir, monkeypatch):
    from workbench.core.store.maintenance import check_store

    fill(store_dir, 3)
    with open_store(store_dir) as store:
        store.compact()  # the snapshot holds every commit; the journal starts after the last
    real = json_file.JsonFilePersistence._load_snapshot
    calls = []

    def stale_once(self, state, report):
        # The first read sees the snapshot as it was just before another process's compaction.
        calls.append(1)
        return 0 if len(calls) == 1 else real(self, state, report)

    monkeypatch.setattr(json_file.JsonFilePersistence, "_load_snapshot", stale_once)
    report = check_store(store_dir)
    assert report.ok, report.problems
    assert len(calls) == 2


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.EPERM])
def test_a_read_only_mount_or_an_immutable_journal(store_dir, monkeypatch, code):
    fill(store_dir, 1)
    real_open = os.open

    def refusing_open(path, flags, *args):
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refusing_open)
    with pytest.raises(StoreError, match=os.strerror(code)):
        open_store(store_dir)


def test_disk_full_while_writing_the_lock_file(store_dir, monkeypatch):
    def full(*_args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwrite", full)
    # The pid in the lock file only names the holder in messages: a commit still goes
    # through (or fails on the journal itself), and the lock is given back either way.
    with open_store(store_dir) as store:
        store.commit([Change("t", "id", 1, {"id": 1})])
    monkeypatch.undo()
    with open_store(store_dir, lock_timeout=0) as store:
        store.commit([Change("t", "id", 2, {"id": 2})])
        assert set(store.rows("t")) == {1, 2}


def test_disk_full_during_compaction_at_close(store_dir, monkeypatch, caplog):
    store = open_store(store_dir)
    store.commit([Change("t", "id", 1, {"id": 1})])
    monkeypatch.setattr(store.persistence, "wants_compaction", lambda *, closing: True)
    real_fsync = os.fsync

    def full(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    with caplog.at_level(logging.WARNING, logger="workbench.store"):
        store.close()  # succeeds: the commit is durable in the journal
    assert "compaction" in caplog.text and "No space left" in caplog.text
    monkeypatch.undo()
    assert not (store_dir / "snapshot.json.tmp").exists()
    (store_dir / "snapshot.json.tmp").write_bytes(b"{half")  # as a SIGKILL mid-compaction leaves it
    with open_store(store_dir) as again:
        assert again.get("t", 1) == {"id": 1}
    assert not (store_dir / "snapshot.json.tmp").exists()


def test_a_value_nested_too_deeply_is_a_validation_error(store_dir):
    store = open_store(store_dir)
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(ValidationError) as caught:
        store.commit([Change("t", "id", 1, {"id": 1, "payload": deep})])
    assert "nested too deeply" in caught.value.messages["payload"][0]
    store.close()
    assert json_file  # the module under test


BOX_DOMAIN = """
from protean import Domain
from protean.fields import Dict

domain = Domain()
domain.config["event_processing"] = "sync"

@domain.aggregate
class Box:
    payload = Dict()
"""


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('{"a":' * 5000 + "1" + "}" * 5000, ("payload", "nested too deeply")),
        ('{"a":' * 600 + "1" + "}" * 600, ("payload", "cannot be stored")),
        ('{"a": 99999999999999999999999}', ("payload", "64-bit")),
    ],
    ids=["5000-deep", "600-deep", "int-beyond-64-bits"],
)
def test_unstorable_dict_values_on_the_cli(tmp_path, value, words):
    (tmp_path / "box.py").write_text(BOX_DOMAIN)
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "--domain", "box.py", "--store", "st", "new", "Box", f"payload={value}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    _one_line_error(result, *words)


def _compacted(store_dir: Path) -> None:
    fill(store_dir, 3)
    with open_store(store_dir) as store:
        store.compact()  # the events move to events/, the tables to tables/


def _damage_table_file(store_dir: Path) -> Path:
    path = sorted((store_dir / "tables").glob("*.json"))[0]
    path.write_bytes(path.read_bytes()[:-5])
    return path


def _damage_event_line(store_dir: Path) -> Path:
    path = store_dir / "events" / "log.jsonl"
    raw = bytearray(path.read_bytes())
    raw[raw.index(b'"stream_name"')] = ord("#")  # same size: only reading the line finds it
    path.write_bytes(bytes(raw))
    return path


def _cut_index(store_dir: Path) -> Path:
    path = store_dir / "events" / "offsets.q"
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) - 8)
    return path


def _flip_index_entry(name: str, at: int):
    def damage(store_dir: Path) -> Path:
        path = store_dir / "events" / name
        raw = bytearray(path.read_bytes())
        raw[at] ^= 0x01  # same size: only comparing with the events finds it
        path.write_bytes(bytes(raw))
        return path

    damage.__name__ = f"flip_{name}"
    return damage


@pytest.mark.parametrize(
    "damage",
    [
        _damage_table_file,
        _damage_event_line,
        _cut_index,
        _flip_index_entry("ids.txt", 5),
        _flip_index_entry("stream_no.i", 4),
        _flip_index_entry("category-0.q", 8),
    ],
)
def test_store_check_reads_the_compacted_files_and_names_the_damaged_one(store_dir, damage):
    _compacted(store_dir)
    assert runner.invoke(app, ["--store", str(store_dir), "store", "check"]).exit_code == 0
    damaged = damage(store_dir)
    checked = runner.invoke(app, ["--store", str(store_dir), "store", "check"])
    assert checked.exit_code == 1, checked.stdout
    [problem] = [line for line in checked.stderr.splitlines() if str(damaged) in line]
    assert problem.startswith("problem: ") and "Traceback" not in checked.stdout + checked.stderr


@pytest.mark.parametrize("command", [["new", "Inventory", "book_id=c", "in_stock=1"], ["show", "Inventory"]])
def test_a_missing_table_file_is_one_line_naming_it(tmp_path, command):
    store_dir = tmp_path / "st"
    assert _cli(tmp_path, "new", "Inventory", "book_id=b", "in_stock=1").returncode == 0
    with open_store(store_dir) as store:
        store.compact()
    [table] = (store_dir / "tables").glob("*.json")
    table.unlink()  # lost, not moved by a compaction: snapshot.json still names it
    _one_line_error(_cli(tmp_path, *command), table.name, "missing")
    checked = runner.invoke(app, ["--store", str(store_dir), "store", "check"])
    assert checked.exit_code == 1 and table.name in checked.stderr and "Traceback" not in checked.stderr


def test_a_commit_being_written_by_another_process_is_not_reported_as_an_interrupted_write(store_dir, caplog):
    """A one-shot command opening the store while the engine writes a commit may read half
    of its line: that is a write in progress (the writer holds the lock), not a torn tail."""
    fill(store_dir, 1)
    writer = open_store(store_dir)  # stands for the engine: it holds the lock while it writes
    journal_path = store_dir / "journal.jsonl"
    line = journal.encode_line(writer.state.seq + 1, b"[]")
    writer.persistence.lock()
    with open(journal_path, "ab") as handle:
        handle.write(line[:10])  # what a reader may see of the line in the middle of the write
    with caplog.at_level(logging.WARNING, logger="workbench.store"):
        reader = open_store(store_dir, read_only=True)
    assert "incomplete last commit" not in caplog.text and not reader.load_report.notes
    with open(journal_path, "ab") as handle:
        handle.write(line[10:])  # the write completes
    writer.persistence.unlock()
    reader.refresh()
    assert reader.commit_count() == writer.commit_count() + 1
    reader.close()
    writer.close()
