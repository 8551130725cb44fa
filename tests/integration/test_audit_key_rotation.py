"""Rotating the audit signing key, end to end: a log with checkpoints signed by key 1,
then by key 2 after a rotation, verified by a real ``opsgate serve`` (the API the
console and ``audit verify`` through ``OPSGATE_URL`` use) and by the local CLI.

With key 1's public half in ``audit.trusted_keys`` the log is intact; without it the
old checkpoints are re-signed (TAMPERED), as before; a checkpoint forged with a third
key stays TAMPERED whatever is listed.  A listed file that cannot be used stops the
command or the server's start (exit 9), never a silent skip."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from opsgate.audit import EventType, open_log
from opsgate.audit.checkpoint import key_id
from servers import OPSGATE, Serve, free_port, owner_password

KEY_FILE = "audit-signing-key.pem"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    env.update(extra)
    return env


def _opsgate(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPSGATE, *argv], env=_env(**env), capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip


def _write_private(path: Path, key: ed25519.Ed25519PrivateKey) -> None:
    pem = key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())
    path.unlink(missing_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(pem)


def _id(key: ed25519.Ed25519PrivateKey) -> str:
    return key_id(key.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw))


def _sign_more(home: Path, n: int, key_path: Path | None = None) -> None:
    """``n`` entries, then a checkpoint signed with the log's key (or ``key_path``)."""
    with open_log(home) as log:
        for i in range(n):
            log.append(EventType.DECISION_MADE, actor={"type": "agent", "name": "claude"},
                       action={"kind": "shell.exec", "input": {"command": f"ls {i}"}},
                       decision="allow")  # fmt: skip
        if key_path is not None:
            log.key_path = key_path
        log.checkpoint()


@dataclass(frozen=True)
class Rotated:
    home: Path
    public1: Path  # key 1's public half
    key1: ed25519.Ed25519PrivateKey


@pytest.fixture
def rotated(tmp_path: Path, hook_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rotated]:
    """A data directory whose log was checkpointed under key 1, then (after the
    rotation) under key 2; key 1's public half as ``opsgate audit key`` printed it."""
    for name in ("OPSGATE_AUDIT_KEY", "OPSGATE_AUDIT_TRUSTED_KEYS", "OPSGATE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    key1, key2 = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    _write_private(home / KEY_FILE, key1)
    _sign_more(home, 5)
    printed = _opsgate("audit", "key", "--data-dir", str(home))
    assert printed.returncode == 0, printed.stderr
    public1 = tmp_path / "audit-key-1.pub.pem"
    public1.write_text(printed.stdout)  # the PEM block and a "key id:" line
    _write_private(home / KEY_FILE, key2)  # the rotation
    _sign_more(home, 3)

    yield Rotated(home, public1, key1)


def _api_verify(server: Serve) -> dict[str, Any]:
    password = owner_password(server.home)
    assert password is not None
    with httpx.Client(base_url=server.url, timeout=60) as client:
        r = client.post("/api/v1/session", json={"name": "owner", "password": password})
        assert r.status_code == 200, r.text
        found = client.get("/api/v1/audit/verify")
        assert found.status_code == 200, found.text
        report: dict[str, Any] = found.json()
    return report


def _cli_verify(server: Serve) -> subprocess.CompletedProcess[str]:
    password = owner_password(server.home)
    assert password is not None
    client_home = server.home.parent / "client-home"
    client_home.mkdir(exist_ok=True)
    return _opsgate("audit", "verify", OPSGATE_URL=server.url, OPSGATE_USER="owner",
                    OPSGATE_PASSWORD=password, OPSGATE_HOME=str(client_home))  # fmt: skip


def test_the_server_trusts_the_keys_it_is_told_to_and_no_other(rotated: Rotated) -> None:
    home, public1 = rotated.home, rotated.public1
    server = Serve(home, merge_stderr=True)
    try:  # as before: only the current key, so key 1's checkpoint is re-signed
        report = _api_verify(server)
        assert not report["ok"] and {p["kind"] for p in report["problems"]} == {"resigned"}
        assert _id(rotated.key1) in report["summary"]
        assert _cli_verify(server).returncode == 8
    finally:
        server.stop()

    server = Serve(home, merge_stderr=True, extra_env={"OPSGATE_AUDIT_TRUSTED_KEYS": str(public1)})
    try:
        report = _api_verify(server)
        assert report["ok"], report["summary"]
        # key 1's, key 2's, and any the first server signed as it stopped
        signed = re.search(r"(\d+) signed checkpoint\(s\) verified", report["summary"])
        assert signed is not None and int(signed.group(1)) >= 2, report["summary"]
        through = _cli_verify(server)
        assert through.returncode == 0, through.stdout + through.stderr
        assert "intact" in through.stdout
        assert not any("signed by" in line for line in server.lines), server.lines  # no warning

        # A checkpoint over the real head, signed by a key nobody listed: forged.
        forger = home.parent / "forger.pem"
        key3 = ed25519.Ed25519PrivateKey.generate()
        _write_private(forger, key3)
        _sign_more(home, 1, key_path=forger)
        report = _api_verify(server)
        assert not report["ok"]
        assert [p["kind"] for p in report["problems"]] == ["resigned"]
        assert _id(key3) in report["problems"][0]["message"]
        assert _cli_verify(server).returncode == 8
    finally:
        server.stop()


def test_local_verify_trusts_the_configured_keys(rotated: Rotated) -> None:
    home, public1 = rotated.home, rotated.public1
    alone = _opsgate("audit", "verify", "--data-dir", str(home))
    assert alone.returncode == 8 and "resigned" in alone.stderr, alone.stderr
    assert "audit.trusted_keys" in alone.stderr  # the hint says where to list a key

    listed = _opsgate("audit", "verify", "--data-dir", str(home),
                      OPSGATE_AUDIT_TRUSTED_KEYS=str(public1))  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert "the local signing key and 1 key(s) of audit.trusted_keys" in listed.stderr

    # The config file's list, relative to the file; the environment's, ':'-separated.
    config = home / "config.toml"
    config.write_text(f'[audit]\ntrusted_keys = ["../{public1.name}"]\n')
    from_file = _opsgate("audit", "verify", "--data-dir", str(home))
    assert from_file.returncode == 0, from_file.stderr
    shown = _opsgate("config", "show", "--data-dir", str(home))
    assert "audit.trusted_keys" in shown.stdout and public1.name in shown.stdout, shown.stdout
    config.unlink()

    # --key replaces every configured anchor: key 2 alone leaves key 1's re-signed.
    public2 = home.parent / "audit-key-2.pub.pem"
    public2.write_text(_opsgate("audit", "key", "--data-dir", str(home)).stdout)
    given = _opsgate("audit", "verify", "--data-dir", str(home), "--key", str(public2),
                     OPSGATE_AUDIT_TRUSTED_KEYS=str(public1))  # fmt: skip
    assert given.returncode == 8, given.stderr
    both = _opsgate("audit", "verify", "--data-dir", str(home), "--key", str(public2),
                    "--key", str(public1))  # fmt: skip
    assert both.returncode == 0, both.stderr


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    """Each kind of trusted-key file that must stop a verification, and what the
    message says about it."""
    private = tmp / "old-private.pem"
    _write_private(private, ed25519.Ed25519PrivateKey.generate())
    ec_public = tmp / "ec.pub.pem"
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    ec_public.write_bytes(ec_key.public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
    garbage = tmp / "notes.txt"
    garbage.write_text("the old key is in the safe\n")
    unreadable = tmp / "a-directory.pem"
    unreadable.mkdir()
    return {
        "missing": (tmp / "gone.pub.pem", "does not exist"),
        "private": (private, "holds a private key"),
        "not-ed25519": (ec_public, "not an Ed25519 public key"),
        "not-pem": (garbage, "not an Ed25519 public key"),
        "unreadable": (unreadable, "cannot read"),
    }


@pytest.mark.parametrize("kind", ["missing", "private", "not-ed25519", "not-pem", "unreadable"])
def test_a_trusted_key_that_cannot_be_used_stops_verify(rotated: Rotated, kind: str) -> None:
    path, said = _bad_files(rotated.home.parent)[kind]
    listed = f"{rotated.public1}{os.pathsep}{path}"  # one good, one bad: still an error
    found = _opsgate("audit", "verify", "--data-dir", str(rotated.home),
                     OPSGATE_AUDIT_TRUSTED_KEYS=listed)  # fmt: skip
    assert found.returncode == 9, found.stdout + found.stderr
    assert str(path) in found.stderr and said in found.stderr, found.stderr
    assert "intact" not in found.stdout


def test_a_trusted_key_that_cannot_be_used_stops_the_server(rotated: Rotated) -> None:
    missing = rotated.home.parent / "gone.pub.pem"
    found = subprocess.run(
        [OPSGATE, "serve", "--data-dir", str(rotated.home), "--port", str(free_port())],
        env=_env(OPSGATE_AUDIT_TRUSTED_KEYS=str(missing)),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert found.returncode == 9, found.stdout + found.stderr
    assert str(missing) in found.stderr and "does not exist" in found.stderr
