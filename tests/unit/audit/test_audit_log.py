"""The facade: append shape, checkpoint cadence across processes, the key file,
fail-closed behaviour, and group commit across threads."""

from __future__ import annotations

import itertools
import json
import os
import pwd
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from audit_helpers import run_verify

from opsgate.audit import AuditWriteError, EventType, open_log
from opsgate.errors import OpsgateError


def _append(log, i: int = 0):  # type: ignore[no-untyped-def]
    return log.append(
        EventType.DECISION_MADE,
        actor={"type": "agent", "name": "t"},
        action={"kind": "shell.exec", "input": {"command": f"true {i}"}},
        decision="allow",
    )


def test_append_returns_the_stored_entry(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    entry = log.append(
        EventType.DECISION_MADE,
        actor={"type": "agent", "name": "claude-code", "session": "s-1"},
        target="web-prod-1",
        environment="production",
        action={
            "kind": "shell.exec",
            "tool": "Bash",
            "input": {"command": "systemctl restart nginx"},
        },
        classification={"impact": "caution", "categories": ["service.restart"]},
        decision="require_approval",
        rule="safeguard.write_needs_card",
        approver=None,
        result=None,
        evidence=["systemctl restart"],
    )
    assert entry.seq == 1 and len(entry.hash) == 64
    data = json.loads(entry.body)
    assert data == entry.data
    assert set(data) == {
        "schema",
        "seq",
        "time",
        "event",
        "actor",
        "target",
        "environment",
        "action",
        "classification",
        "decision",
        "rule",
        "approver",
        "result",
        "evidence",
    }
    assert data["event"] == "decision.made" and data["schema"] == 1
    assert data["time"].endswith("Z") and data["time"][10] == "T"
    stored = next(log.store.rows())
    assert stored == (1, entry.body, entry.link)  # the returned bytes are the stored bytes


def test_unknown_event_names_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        open_log(tmp_path).append("decision.maybe")


def test_defaults_follow_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSGATE_DATABASE_URL", raising=False)
    monkeypatch.setenv("OPSGATE_HOME", str(tmp_path / "home"))
    log = open_log()
    _append(log)
    assert (tmp_path / "home" / "audit.db").exists()
    assert open_log(tmp_path / "flag").store.location == str(tmp_path / "flag" / "audit.db")


def test_key_is_created_0600_and_checkpoints_follow_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSGATE_AUDIT_CHECKPOINT_EVERY", "5")
    monkeypatch.setenv("OPSGATE_AUDIT_WITNESS", str(tmp_path / "witness.jsonl"))
    # Each append in a fresh "process" (a fresh log object), like the hook.
    for i in range(12):
        log = open_log(tmp_path / "d")
        _append(log, i)
        log.close()
    key = tmp_path / "d" / "audit-signing-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    log = open_log(tmp_path / "d")
    seqs = [json.loads(b)["seq"] for b in log.store.checkpoint_bodies()]
    # first entry checkpointed at once; then every 5 entries (checkpoint.created entries count too)
    assert seqs[0] == 1 and all(b - a >= 5 for a, b in itertools.pairwise(seqs)) and len(seqs) >= 3
    witnessed = (tmp_path / "witness.jsonl").read_text().splitlines()
    assert len(witnessed) == len(seqs) + 1  # a key pin line, then each checkpoint
    assert run_verify(log, tmp_path / "witness.jsonl").ok


def test_time_based_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = open_log(tmp_path)
    _append(log)
    log.seconds = 0.0
    _append(log)
    assert len(log.store.checkpoint_bodies()) == 2


def test_group_readable_key_is_refused(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    _append(log)
    log.key_path.chmod(0o644)
    with pytest.raises(OpsgateError, match="readable by other users"):
        log.checkpoint()


def test_fail_closed_data_dir_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(AuditWriteError, match="audit trail is unavailable") as info:
        open_log(tmp_path / "file" / "data")
    assert info.value.hint and "writable" in info.value.hint


def test_fail_closed_database_path_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "audit.db").mkdir()
    with pytest.raises(AuditWriteError):
        open_log(tmp_path)


def test_fail_closed_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "audit.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(AuditWriteError):
        open_log(tmp_path)


def test_fail_closed_disk_full(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    _append(log)
    pages = log.store._db.execute("PRAGMA page_count").fetchone()[0]  # type: ignore[attr-defined]
    log.store._db.execute(f"PRAGMA max_page_count={pages}")  # type: ignore[attr-defined]
    with pytest.raises(AuditWriteError, match="full"):
        for _ in range(50):
            log.append(EventType.DECISION_MADE, action={"input": {"blob": os.urandom(2000).hex()}})
    log.close()
    assert run_verify(open_log(tmp_path)).ok  # nothing half-written


def test_fail_closed_when_checkpoint_key_unusable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "f").write_text("x")
    monkeypatch.setenv("OPSGATE_AUDIT_KEY", str(tmp_path / "f" / "key.pem"))
    with pytest.raises(AuditWriteError, match="checkpoint failed"):
        _append(open_log(tmp_path / "d"))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges to nobody")
def test_fail_closed_read_only_database(tmp_path: Path) -> None:
    """A database the writer may read but not write.  Root can't be denied, so a
    forked child drops to ``nobody`` first (modules are already imported)."""
    _append(open_log(tmp_path / "d"))
    for p in (tmp_path, tmp_path / "d", *(tmp_path / "d").iterdir()):
        p.chmod(0o755 if p.is_dir() else 0o644)
    nobody = pwd.getpwnam("nobody")
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 3
        try:
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            open_log(tmp_path / "d").append(EventType.DECISION_MADE)
        except AuditWriteError as exc:
            code = 0 if "audit trail is unavailable" in exc.message else 4
        except BaseException:
            code = 5
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_group_commit_across_threads(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    seqs: list[int] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        for i in range(50):
            entry = _append(log, k * 1000 + i)
            with lock:
                seqs.append(entry.seq)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    head = log.store.head()[0]
    assert sorted(seqs) == sorted(set(seqs)) and len(seqs) == 400
    assert head == 400 + 1  # plus the checkpoint.created entry of the first checkpoint
    assert run_verify(log).ok


def test_concurrent_processes_make_one_chain(tmp_path: Path) -> None:
    """4 processes × 1,000 appends on one SQLite file: exactly 4,000 decisions,
    contiguous sequence numbers, one valid chain."""
    code = (
        "import pathlib, sys\n"
        "from opsgate.audit import open_log\n"
        "log = open_log(pathlib.Path(sys.argv[1]))\n"
        "for i in range(1000):\n"
        "    log.append('decision.made', actor={'type': 'agent', 'name': sys.argv[2]},\n"
        "               action={'kind': 'shell.exec', 'input': {'i': i}})\n"
    )
    env = {
        **os.environ,
        "OPSGATE_AUDIT_CHECKPOINT_EVERY": "1000000",
        "OPSGATE_AUDIT_CHECKPOINT_SECONDS": "1e9",
    }
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path), f"w{k}"], env=env)
        for k in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    log = open_log(tmp_path)
    rows = list(log.store.rows())
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    decisions = [json.loads(b) for _, b, _ in rows if b"decision.made" in b]
    assert len(decisions) == 4000
    for k in range(4):  # each writer's own entries stay in its order
        mine = [d["action"]["input"]["i"] for d in decisions if d["actor"]["name"] == f"w{k}"]
        assert mine == list(range(1000))
    assert run_verify(log).ok
