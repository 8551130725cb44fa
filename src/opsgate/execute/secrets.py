"""The secret store: credentials encrypted at rest in opsgate's own database.

AES-256-GCM, a fresh 96-bit nonce per write, the secret's name as associated
data (a ciphertext copied under another name does not decrypt).  The key comes
from ``OPSGATE_SECRET_KEY`` (32 bytes, base64) or from ``secret.key`` in the data
directory, created on first use with mode 0600; a key file others can read is
refused rather than used.  Keep the key off the database host's backups: the
database alone decrypts nothing.

Values are referenced as ``secret:NAME`` (inventory connection fields, operation
parameters) and revealed only inside the executor, at run time, wrapped in
``SecretValue`` whose repr is masked.  Nothing here returns a value to an API.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets as _random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Connection

from opsgate.execute.errors import SecretError
from opsgate.store._schema import secrets as table

__all__ = [
    "KEY_FILE",
    "SecretInfo",
    "SecretStore",
    "SecretValue",
    "load_key",
    "parse_ref",
]

KEY_FILE = "secret.key"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_REF = re.compile(r"^secret:([A-Za-z0-9_.-]{1,128})$")
MAX_VALUE = 64 * 1024


class SecretValue:
    """A revealed secret.  ``str()``/``repr()`` are masked so a stray log line or
    f-string cannot print it; ``reveal()`` is the one way to the value."""

    __slots__ = ("_value", "name")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"SecretValue({self.name!r}, '[REDACTED]')"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """What anyone may learn about a secret: that it exists, and when it changed."""

    name: str
    created_at: float
    updated_at: float
    updated_by: str | None


def parse_ref(text: str) -> str | None:
    """``secret:NAME`` → NAME; anything else → None."""
    m = _REF.match(text)
    return m.group(1) if m else None


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise SecretError(
            f"invalid secret name {name!r}",
            hint="use letters, digits, '_', '.', '-' (at most 128)",
        )
    return name


def _decode_key(text: str, source: str) -> bytes:
    raw = text.strip()
    decoder = base64.urlsafe_b64decode if any(c in raw for c in "-_") else base64.b64decode
    try:
        key = decoder(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise SecretError(
            f"the secret key from {source} is not 32 bytes of base64",
            hint="generate one with: openssl rand -base64 32",
        )
    return key


def load_key(data_dir: Path, env: Mapping[str, str] | None = None) -> bytes:
    """The store's key: ``execute.secret_key`` (OPSGATE_SECRET_KEY), else
    ``data_dir/secret.key`` (created)."""
    from opsgate.config import resolve

    configured = resolve(env).text("execute.secret_key")
    if configured:
        return _decode_key(configured, "OPSGATE_SECRET_KEY")
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode & 0o077
        if mode:
            raise SecretError(
                f"{path} is readable by other users (mode {oct(path.stat().st_mode & 0o777)})",
                hint=f"chmod 600 {path}",
            ) from None
        return _decode_key(path.read_text("ascii"), str(path))
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(base64.b64encode(os.urandom(32)).decode("ascii") + "\n")
    return _decode_key(path.read_text("ascii"), str(path))


class SecretStore:
    """Encrypt, decrypt, list and delete, over a connection the caller's transaction
    owns (so a change and its audit entry commit together)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def put(
        self, conn: Connection, name: str, value: str, actor_id: str | None, now: float
    ) -> None:
        check_name(name)
        if not value or len(value.encode("utf-8")) > MAX_VALUE:
            raise SecretError(f"secret {name!r} must be 1 byte to {MAX_VALUE // 1024} KiB")
        nonce = _random.token_bytes(12)
        sealed = self._aead.encrypt(nonce, value.encode("utf-8"), name.encode("utf-8"))
        row = {
            "nonce": base64.b64encode(nonce).decode("ascii"),
            "ciphertext": base64.b64encode(sealed).decode("ascii"),
            "updated_at": now,
            "updated_by": actor_id,
        }
        updated = conn.execute(sa.update(table).where(table.c.name == name).values(**row))
        if updated.rowcount == 0:
            conn.execute(sa.insert(table).values(name=name, created_at=now, **row))

    def delete(self, conn: Connection, name: str) -> bool:
        return bool(conn.execute(sa.delete(table).where(table.c.name == name)).rowcount)

    def names(self, conn: Connection) -> list[SecretInfo]:
        rows = conn.execute(
            sa.select(
                table.c.name, table.c.created_at, table.c.updated_at, table.c.updated_by
            ).order_by(table.c.name)
        )
        return [SecretInfo(r.name, r.created_at, r.updated_at, r.updated_by) for r in rows]

    def reveal(self, conn: Connection, name: str) -> SecretValue:
        row = conn.execute(sa.select(table).where(table.c.name == name)).first()
        if row is None:
            raise SecretError(
                f"no secret named {name!r}",
                hint=f"an admin sets it with: opsgate secrets set {name} < file",
            )
        return SecretValue(name, self._open(row))

    def reveal_all(self, conn: Connection) -> list[SecretValue]:
        """Every value, for output redaction (never for output itself)."""
        return [SecretValue(r.name, self._open(r)) for r in conn.execute(sa.select(table))]

    def _open(self, row: Any) -> str:
        name: str = row.name
        try:
            plain = self._aead.decrypt(
                base64.b64decode(row.nonce),
                base64.b64decode(row.ciphertext),
                name.encode("utf-8"),
            )
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretError(
                f"secret {name!r} does not decrypt with this key",
                hint="check OPSGATE_SECRET_KEY / secret.key: every replica needs the same key",
            ) from None
        return plain.decode("utf-8")
