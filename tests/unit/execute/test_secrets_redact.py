"""The secret store's encryption and key handling, and output redaction of known
values in their common encodings (also across streamed chunk boundaries)."""

from __future__ import annotations

import base64
import urllib.parse
from pathlib import Path

import pytest
import sqlalchemy as sa

from opsgate.execute.errors import SecretError
from opsgate.execute.redact import LineRedactor, OutputRedactor
from opsgate.execute.secrets import SecretStore, SecretValue, load_key
from opsgate.store._schema import metadata, secrets

CANARY = "canary-Wm3kP9xT2vQ7"


def test_values_are_encrypted_and_bound_to_their_name(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db'}")
    metadata.create_all(engine, tables=[secrets])
    store = SecretStore(load_key(tmp_path, env={}))
    with engine.begin() as conn:
        store.put(conn, "api", CANARY, None, 1.0)
        store.put(conn, "other", "x" * 10, None, 1.0)
        assert store.reveal(conn, "api").reveal() == CANARY
        assert [s.name for s in store.names(conn)] == ["api", "other"]
        # A ciphertext copied under another name does not decrypt.
        row = conn.execute(sa.select(secrets).where(secrets.c.name == "api")).one()
        conn.execute(secrets.update().where(secrets.c.name == "other")
                     .values(nonce=row.nonce, ciphertext=row.ciphertext))  # fmt: skip
        with pytest.raises(SecretError, match="does not decrypt"):
            store.reveal(conn, "other")
    assert CANARY.encode() not in (tmp_path / "db").read_bytes()
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert CANARY not in repr(SecretValue("api", CANARY)) + str(SecretValue("api", CANARY))


def test_a_readable_key_file_and_a_bad_env_key_are_refused(tmp_path: Path) -> None:
    load_key(tmp_path, env={})
    (tmp_path / "secret.key").chmod(0o644)
    with pytest.raises(SecretError, match="readable by other users"):
        load_key(tmp_path, env={})
    with pytest.raises(SecretError, match="32 bytes"):
        load_key(tmp_path, env={"OPSGATE_SECRET_KEY": "c2hvcnQ="})
    key = base64.b64encode(bytes(range(32))).decode()
    assert load_key(tmp_path, env={"OPSGATE_SECRET_KEY": key}) == bytes(range(32))


@pytest.mark.parametrize(
    "shown",
    [
        CANARY,
        base64.b64encode(CANARY.encode()).decode(),
        base64.urlsafe_b64encode(CANARY.encode()).decode().rstrip("="),
        urllib.parse.quote(CANARY + "/x", safe=""),
    ],
)
def test_known_values_are_masked_in_their_encodings(shown: str) -> None:
    secret = CANARY + "/x" if "%2F" in shown else CANARY
    assert shown not in OutputRedactor([secret]).text(f"value: {shown} end")


def test_streamed_output_is_masked_across_chunks() -> None:
    seen: list[str] = []
    lines = LineRedactor(OutputRedactor([CANARY]), seen.append)
    for chunk in ("token is can", "ary-Wm3kP9", "xT2vQ7\nnext line\n", "tail"):
        lines.feed(chunk)
    lines.close()
    assert "".join(seen) == "token is [REDACTED]\nnext line\ntail"


def test_a_dsn_password_is_masked_alone() -> None:
    redactor = OutputRedactor(
        ["postgresql://app:s3cr3t-pass@db/app", "host=db password=hunter22xy"]
    )
    assert redactor.text("s3cr3t-pass and hunter22xy") == "[REDACTED] and [REDACTED]"
