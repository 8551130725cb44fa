"""Redaction before write: canary secrets never reach the stored bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsgate.audit import EventType, open_log
from opsgate.audit.redact import MASK, Redactor

# Canaries: secret-shaped but fake.  Each must vanish; the keep part must stay.
CANARIES = {
    "aws-key-id": ("aws s3 ls --key AKIAZZCANARY0000AAAA", "AKIAZZCANARY0000AAAA", "aws s3 ls"),
    "github-token": (
        "git clone https://ghp_" + "C" * 36 + "@github.com/x",
        "ghp_" + "C" * 36,
        "github.com/x",
    ),
    "github-pat": ("GH=github_pat_" + "c" * 40, "github_pat_" + "c" * 40, "GH="),
    "gitlab-token": (
        "glab auth --token glpat-CANARYcanary12345678",
        "glpat-CANARYcanary12345678",
        "glab auth",
    ),
    "slack-token": (
        "curl -d token=xoxb-1111-2222-canarycanary",
        "xoxb-1111-2222-canarycanary",
        "curl -d",
    ),
    "stripe-key": (
        "stripe --api-key sk_live_CANARY1234567890abcd",
        "sk_live_CANARY1234567890abcd",
        "stripe",
    ),
    "jwt": (
        "Cookie: s=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlY2FuYXJ5",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlY2FuYXJ5",
        "Cookie: s=",
    ),
    "private-key": (
        "cat <<EOF\n-----BEGIN OPENSSH PRIVATE KEY-----\nQ0FOQVJZ\n"
        "-----END OPENSSH PRIVATE KEY-----\nEOF",
        "Q0FOQVJZ",
        "cat <<EOF",
    ),
    "url-password": ("psql postgresql://admin:Can4ryPw@db.prod:5432/app", "Can4ryPw", "admin:"),
    "flag-password": ("mysqladmin --password=Can4ryPw2 status", "Can4ryPw2", "--password="),
    "flag-password-space": ("tool --db-password 'Can4ry Pw3' run", "Can4ry Pw3", "run"),
    "mysql-p-glued": ("mysql -uroot -pCan4ryPw4 app", "Can4ryPw4", "-uroot"),
    "pgpassword-env": ("PGPASSWORD=Can4ryPw5 psql -h db", "Can4ryPw5", "psql -h db"),
    "bearer-header": (
        "curl -H 'Authorization: Bearer can4ry.tok3n.value' x",
        "can4ry.tok3n.value",
        "curl -H",
    ),
}


@pytest.mark.parametrize("name", list(CANARIES))
def test_secret_shaped_strings_are_masked(name: str) -> None:
    text, secret, kept = CANARIES[name]
    out = Redactor(from_environ=False).text(text)
    assert secret not in out
    assert MASK in out
    assert kept in out


def test_ordinary_text_is_untouched() -> None:
    r = Redactor(from_environ=False)
    for text in (
        "mkdir -pv build",
        "ls -la /tmp",
        "git commit -m 'fix token parsing docs'",
        "rm -rf ./build",
    ):
        assert r.text(text) == text


def test_known_values_and_secret_env_vars_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_API_TOKEN", "canary-env-value-77")
    r = Redactor(["plain-canary-secret"])
    out = r.text("echo plain-canary-secret and canary-env-value-77")
    assert "canary" not in out


def test_secret_named_keys_are_masked_whole() -> None:
    doc = Redactor(from_environ=False).document(
        {"headers": {"Authorization": "abc def"}, "password": "x" * 9}
    )
    assert doc == {"headers": {"Authorization": MASK}, "password": MASK}


def test_documents_are_normalised_for_canonical_json() -> None:
    doc = Redactor(from_environ=False).document(
        {"big": 2**80, "nan": float("nan"), "t": (1, 2), 3: "k"}
    )
    assert doc == {"big": str(2**80), "nan": "nan", "t": [1, 2], "3": "k"}


def test_no_canary_reaches_the_database_file(tmp_path: Path) -> None:
    log = open_log(tmp_path / "d", secrets=["known-canary-VALUE"])
    for text, _, _ in CANARIES.values():
        log.append(
            EventType.ACTION_PROPOSED,
            actor={"type": "agent", "name": "claude-code"},
            action={
                "kind": "shell.exec",
                "tool": "Bash",
                "input": {"command": text + " known-canary-VALUE"},
            },
            result={"stdout": text},
            evidence=[text],
        )
    log.close()
    raw = b"".join(p.read_bytes() for p in (tmp_path / "d").glob("audit.db*"))
    for _, secret, _ in CANARIES.values():
        assert secret.encode() not in raw, secret
    assert b"known-canary-VALUE" not in raw
