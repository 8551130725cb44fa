"""After an audit signing key rotation, from the real ``opsgate`` process: a backup
carries every public key its checkpoints need (never a private one), is restored into
a fresh data directory and verifies there; a tampered copy is TAMPERED and says where.
A witness follows the rotation only through an introduction signed by the key it
pinned (``opsgate audit introduce-key``); an attacker's checkpoint under a key it
never introduced, a pin line appended later, and a forged introduction are refused."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ed25519

from opsgate.audit import EventType, open_log
from opsgate.audit.checkpoint import key_id, sign_checkpoint
from opsgate.audit.introduction import introduce
from opsgate.audit.log import rfc3339
from opsgate.audit.witness import export, export_introduction
from servers import OPSGATE, Serve, owner_password

KEY_FILE = "audit-signing-key.pem"


def _opsgate(*argv: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    base.update({"OPSGATE_HOME": str(home), "OPSGATE_HOOK_DAEMON": "0", **env})
    return subprocess.run([OPSGATE, *argv], env=base, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip


def _write_private(path: Path, key: ed25519.Ed25519PrivateKey) -> None:
    pem = key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())
    path.unlink(missing_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(pem)


def _raw(key: ed25519.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)


def _id(key: ed25519.Ed25519PrivateKey) -> str:
    return key_id(_raw(key))


def _entries(home: Path, n: int) -> None:
    with open_log(home) as log:
        for i in range(n):
            log.append(EventType.DECISION_MADE, actor={"type": "agent", "name": "claude"},
                       action={"kind": "shell.exec", "input": {"command": f"ls {i}"}},
                       decision="allow")  # fmt: skip


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [k for k in os.environ if k.startswith("OPSGATE_")]:
        monkeypatch.delenv(name)
    found = tmp_path / "home"
    found.mkdir(mode=0o700)
    return found


def test_a_backup_after_a_rotation_verifies_on_a_fresh_machine(home: Path, tmp_path: Path) -> None:
    key1, key2 = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    _write_private(home / KEY_FILE, key1)
    _entries(home, 5)
    _opsgate("audit", "checkpoint", home=home)
    public1 = tmp_path / "etc" / "audit-key-1.pub.pem"
    public1.parent.mkdir()
    public1.write_text(_opsgate("audit", "key", home=home).stdout)
    _write_private(home / KEY_FILE, key2)  # the rotation, as docs/deploy.md has it
    listed = {"OPSGATE_AUDIT_TRUSTED_KEYS": str(public1)}
    _entries(home, 4)
    assert _opsgate("audit", "checkpoint", home=home, **listed).returncode == 0

    dest = tmp_path / "backup" / "audit.db"
    dest.parent.mkdir()
    made = _opsgate("audit", "backup", str(dest), "--json", home=home, **listed)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["key_ids"] == [_id(key2), _id(key1)]
    public = Path(json.loads(made.stdout)["public_key"])
    text = public.read_text()
    assert text.count("BEGIN PUBLIC KEY") == 2 and "PRIVATE" not in text
    assert made.stderr == ""

    # A fresh machine: the copy as its audit.db, the public keys listed; no private key.
    fresh = tmp_path / "fresh"
    fresh.mkdir(mode=0o700)
    shutil.copy(dest, fresh / "audit.db")
    trusted = tmp_path / "fresh-etc" / "audit-trusted.pem"
    trusted.parent.mkdir()
    shutil.copy(public, trusted)
    restored = _opsgate("audit", "verify", home=fresh, OPSGATE_AUDIT_TRUSTED_KEYS=str(trusted))
    assert restored.returncode == 0, restored.stderr
    assert "intact — " in restored.stdout and "2 key(s) of audit.trusted_keys" in restored.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    offline = _opsgate("audit", "verify", "--db", str(dest), "--key", str(public), home=elsewhere)
    assert offline.returncode == 0, offline.stderr
    alone = _opsgate("audit", "verify", "--db", str(dest), "--key", str(public1), home=elsewhere)
    assert alone.returncode == 8 and "resigned" in alone.stderr  # key 2 is needed too

    # Without the earlier key listed, the backup says at once that its copy will not verify.
    unlisted = _opsgate("audit", "backup", str(tmp_path / "b2.db"), home=home)
    assert unlisted.returncode == 0 and _id(key1) in unlisted.stderr, unlisted.stderr

    # Tampering with the copy: an edited entry, then a checkpoint by a key nobody listed.
    tampered = tmp_path / "tampered.db"
    shutil.copy(dest, tampered)
    with sqlite3.connect(tampered) as db:
        rows = db.execute("SELECT seq, body FROM audit_entries ORDER BY seq")
        seq, body = next((n, bytes(b)) for n, b in rows if b'"ls 2"' in bytes(b))
        db.execute("UPDATE audit_entries SET body = ? WHERE seq = ?",
                   (body.replace(b'"ls 2"', b'"id 2"'), seq))  # fmt: skip
    edited = _opsgate("audit", "verify", "--db", str(tampered), "--key", str(public),
                      home=elsewhere)  # fmt: skip
    assert edited.returncode == 8, edited.stdout + edited.stderr
    assert "TAMPERED" in edited.stderr and f"seq {seq}: edited: " in edited.stderr

    shutil.copy(dest, tampered)
    forger = ed25519.Ed25519PrivateKey.generate()
    with open_log(db_file=tampered) as log:
        seq, head = log.store.head()
        forged = sign_checkpoint(forger, log=log.log_id, seq=seq, head=head, time=rfc3339(0))
        log.store.add_checkpoint(seq, 0.0, forged.body())
    resigned = _opsgate("audit", "verify", "--db", str(tampered), "--key", str(public),
                        home=elsewhere)  # fmt: skip
    assert resigned.returncode == 8
    said = f"resigned: checkpoint from store {tampered} is signed by {_id(forger)}"
    assert said in resigned.stderr


@pytest.mark.parametrize("kind", ["dir", "file"])
def test_a_witness_follows_an_introduced_key_and_no_other(
    home: Path, tmp_path: Path, kind: str
) -> None:
    witness = str(tmp_path / "witness") + ("/" if kind == "dir" else ".jsonl")
    key1, key2 = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    _write_private(home / KEY_FILE, key1)
    _entries(home, 3)
    env = {"OPSGATE_AUDIT_WITNESS": witness}
    assert _opsgate("audit", "checkpoint", home=home, **env).returncode == 0
    next_key = tmp_path / "audit-key-2.pem"
    _write_private(next_key, key2)

    # Before the rotation, the current key introduces the next; the trail records it.
    said = _opsgate("audit", "introduce-key", str(next_key), "--json", home=home, **env)
    assert said.returncode == 0, said.stderr
    assert json.loads(said.stdout) == {"by": _id(key1), "key_id": _id(key2), "witnesses": [witness]}
    _write_private(home / KEY_FILE, key2)
    _entries(home, 3)
    assert _opsgate("audit", "checkpoint", home=home, **env).returncode == 0
    recorded = _opsgate("audit", "--filter", "event:audit.key_introduced", "--json", home=home)
    assert [e["target"] for e in json.loads(recorded.stdout)] == [_id(key2)]
    for trusting in ({}, {"OPSGATE_AUDIT_KEY": str(tmp_path / "no-such-key.pem")}):
        ok = _opsgate("audit", "verify", "--witness", witness, home=home, **trusting)
        assert ok.returncode == 0, ok.stderr  # the witness alone anchors both keys

    # The writer turns attacker: a checkpoint under its own key, a pin line for that
    # key appended to the witness, and an introduction it signed itself.
    attacker = ed25519.Ed25519PrivateKey.generate()
    with open_log(home) as log:
        seq, head = log.store.head()
        cp = sign_checkpoint(attacker, log=log.log_id, seq=seq, head=head, time=rfc3339(1))
        log_id = log.log_id
    export(cp, witness)
    refused = _opsgate("audit", "verify", "--witness", witness, home=home)
    assert refused.returncode == 8
    expected = f"resigned: checkpoint from witness {witness} is signed by {_id(attacker)}"
    assert expected in refused.stderr
    pin = json.dumps({"type": "opsgate.audit.key", "key_id": _id(attacker),
                      "public_key": _raw(attacker).hex()})  # fmt: skip
    if kind == "dir":
        (Path(witness) / "checkpoint-999999999999.json").write_text(pin + "\n")
    else:
        with open(witness, "a") as fh:
            fh.write(pin + "\n")
    self_made = introduce(attacker, _raw(ed25519.Ed25519PrivateKey.generate()), log=log_id,
                          time=rfc3339(2))  # fmt: skip
    export_introduction(self_made, witness)
    refused = _opsgate("audit", "verify", "--witness", witness, "--json", home=home)
    report = json.loads(refused.stdout)
    assert refused.returncode == 8 and not report["ok"]
    messages = [p["message"] for p in report["problems"]]
    assert any(f"a pin of {_id(attacker)} after the first line" in m for m in messages), messages
    assert any(f"is signed by {_id(attacker)}, a key the witness does not trust" in m
               for m in messages), messages  # fmt: skip
    assert any(p["kind"] == "resigned" for p in report["problems"])


def test_a_rotation_without_an_introduction_is_refused_by_the_witness(
    home: Path, tmp_path: Path
) -> None:
    witness = str(tmp_path / "witness") + "/"
    _write_private(home / KEY_FILE, ed25519.Ed25519PrivateKey.generate())
    _entries(home, 2)
    assert _opsgate("audit", "checkpoint", "--witness", witness, home=home).returncode == 0
    _write_private(home / KEY_FILE, ed25519.Ed25519PrivateKey.generate())
    _entries(home, 2)
    assert _opsgate("audit", "checkpoint", "--witness", witness, home=home).returncode == 0
    found = _opsgate("audit", "verify", "--witness", witness, home=home)
    assert found.returncode == 8 and "resigned" in found.stderr
    assert "opsgate audit introduce-key" in found.stderr  # says how to do it right


def test_a_plain_copy_of_a_running_server_is_not_its_trail(tmp_path: Path) -> None:
    """docs/deploy.md: ``cp audit.db`` of a running server misses the write-ahead log;
    verify of such a copy says so and names ``audit backup``, never a silent
    'intact' of the whole trail."""
    home = tmp_path / "home"
    served = Serve(home)
    try:
        password = owner_password(home)
        for _ in range(3):
            httpx.post(f"{served.url}/api/v1/session", timeout=30,
                       json={"name": "owner", "password": password})  # fmt: skip
        live = len(json.loads(_opsgate("audit", "--json", home=home).stdout))
        copy = tmp_path / "copy" / "audit.db"
        copy.parent.mkdir()
        shutil.copy(home / "audit.db", copy)
        backup = tmp_path / "backup" / "audit.db"
        backup.parent.mkdir()
        assert _opsgate("audit", "backup", str(backup), home=home).returncode == 0
    finally:
        served.stop()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    plain = _opsgate("audit", "verify", "--json", "--db", str(copy), home=elsewhere)
    if plain.returncode == 0:  # SQLite had folded part of the log in: an older state
        assert json.loads(plain.stdout)["entries"] < live
    else:
        assert plain.returncode == 9, plain.stdout + plain.stderr
        assert "holds no audit log" in plain.stderr and "opsgate audit backup" in plain.stderr
    good = _opsgate("audit", "verify", "--json", "--db", str(backup), "--key",
                    f"{backup}.pub.pem", home=elsewhere)  # fmt: skip
    assert good.returncode == 0 and json.loads(good.stdout)["entries"] >= live
