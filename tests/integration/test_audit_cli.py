"""``opsgate audit …`` end to end: listing with SafeClaw's filter syntax, JSON,
export, checkpoint to a witness, verify (exit codes and messages), offline copy."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from opsgate.audit import EventType, open_log
from opsgate.cli import main


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("OPSGATE_DATABASE_URL", raising=False)
    monkeypatch.setenv("OPSGATE_HOME", str(tmp_path / "unused-home"))
    d = tmp_path / "data"
    with open_log(d) as log:
        for i in range(30):
            log.append(
                EventType.DECISION_MADE,
                actor={
                    "type": "agent",
                    "name": "claude-code" if i % 2 else "codex",
                    "session": f"s{i % 3}",
                },
                target="web-prod-1" if i % 5 == 0 else "workspace",
                environment="production" if i % 5 == 0 else "local",
                action={
                    "kind": "shell.exec" if i % 3 else "file.read",
                    "tool": "Bash",
                    "input": {"command": f"cmd-{i:02d}"},
                },
                decision="deny" if i % 4 == 0 else "allow",
                rule="default",
            )
        log.append(
            EventType.EXECUTION_FAILED,
            actor={"type": "user", "name": "ana"},
            result={"status": "failed"},
        )
    return d


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict]:  # type: ignore[type-arg]
    assert main(["audit", "--data-dir", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_safeclaw_filter_and_last(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _json(capsys, str(data), "--filter", "action:shell.exec", "--last", "5")
    assert len(rows) == 5
    assert all(r["action"]["kind"] == "shell.exec" for r in rows)
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)  # oldest first
    assert rows[-1]["action"]["input"]["command"] == "cmd-29"


def test_filters_combine(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _json(
        capsys,
        str(data),
        "--actor",
        "claude-code",
        "--environment",
        "production",
        "--decision",
        "allow",
    )
    assert rows and all(
        r["actor"]["name"] == "claude-code"
        and r["environment"] == "production"
        and r["decision"] == "allow"
        for r in rows
    )
    assert [r["event"] for r in _json(capsys, str(data), "--outcome", "failed")] == [
        "execution.failed"
    ]
    assert (
        len(_json(capsys, str(data), "--filter", "target:web-prod-*", "--filter", "decision:deny"))
        == 2
    )  # i = 0, 20
    assert _json(capsys, str(data), "--since", "1h") and not _json(
        capsys, str(data), "--until", "2000-01-01"
    )
    assert not _json(capsys, str(data), "--since", "2999-01-01T00:00:00Z")


def test_table_output(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--data-dir", str(data), "--last", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["SEQ", "TIME", "EVENT"]
    assert len(out) == 3 and "execution.failed" in out[-1]


def test_bad_filter_is_an_input_error(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--data-dir", str(data), "--filter", "colour:red"]) == 2
    assert "bad filter" in capsys.readouterr().err


def test_export_streams_the_hashed_bytes(
    data: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["audit", "export", "--format", "jsonl", "--data-dir", str(data)]) == 0
    lines = capsysbinary.readouterr().out.splitlines()
    with open_log(data) as log:
        assert lines == [bytes(b) for _, b, _ in log.store.rows()]


def test_checkpoint_verify_and_tamper(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    witness = tmp_path / "witness"
    witness.mkdir()
    assert main(["audit", "--data-dir", str(data), "checkpoint", "--witness", str(witness)]) == 0
    assert "seq" in capsys.readouterr().out
    assert main(["audit", "verify", "--data-dir", str(data), "--witness", str(witness)]) == 0
    assert "intact" in capsys.readouterr().out
    con = sqlite3.connect(data / "audit.db")
    con.execute("DELETE FROM audit_entries WHERE seq > 20")
    con.execute("DELETE FROM audit_checkpoints WHERE seq > 20")
    con.commit()
    con.close()
    assert main(["audit", "verify", "--data-dir", str(data), "--witness", str(witness)]) == 8
    err = capsys.readouterr().err
    assert "seq 21: truncated" in err and "the tail was truncated" in err


def test_verify_trusts_only_the_given_key(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = tmp_path / "other.pub"
    other.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo)
    )
    assert main(["audit", "verify", "--data-dir", str(data), "--key", str(other)]) == 8
    assert "re-signed with another key" in capsys.readouterr().err
    assert main(["audit", "key", "--data-dir", str(data)]) == 0
    key_id = capsys.readouterr().out.strip().rsplit(" ", 1)[-1]
    assert main(["audit", "verify", "--data-dir", str(data), "--key", key_id]) == 0


def test_verify_offline_copy_via_entry_point(data: Path, tmp_path: Path) -> None:
    """The real ``opsgate`` process, on a copy of the file in a read-only directory."""
    copy = tmp_path / "evidence"
    copy.mkdir()
    with open_log(data) as log:  # fold the WAL in, as a backup tool would
        log.store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[attr-defined]
    shutil.copy(data / "audit.db", copy / "audit.db")
    shutil.copy(data / "audit-signing-key.pem", copy / "key.pem")
    copy.chmod(0o555)
    cmd = [sys.executable, "-c", "import sys; from opsgate.cli import main; sys.exit(main())"]
    out = subprocess.run(
        [*cmd, "audit", "verify", "--db", str(copy / "audit.db"), "--key", str(copy / "key.pem")],
        capture_output=True,
        text=True,
        check=False,
    )
    copy.chmod(0o755)
    assert out.returncode == 0, out.stderr
    assert "intact — 32 entries" in out.stdout


def test_verify_of_a_copied_database_uses_the_copy_s_key(tmp_path: Path) -> None:
    """`verify --db COPY` must not check the copy against this machine's own key."""
    import shutil
    import subprocess
    import sys

    from opsgate.audit import EventType, open_log

    home = tmp_path / "home"
    log = open_log(home)
    for i in range(3):
        log.append(EventType.DECISION_MADE, action={"kind": "shell.exec", "n": i})
    log.checkpoint()
    log.close()
    copy = tmp_path / "evidence"
    shutil.copytree(home, copy)
    other_home = tmp_path / "other"
    open_log(other_home).close()  # a different data dir with a different key
    env = {"OPSGATE_HOME": str(other_home), "PATH": "/usr/bin:/bin"}
    opsgate = str(Path(sys.executable).with_name("opsgate"))
    args = [opsgate, "audit", "verify", "--db", str(copy / "audit.db")]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "intact" in proc.stdout
