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

A secret's source is either a stored value or an owner's credential-helper
command (``_helper``): then the row seals the command (argv, timeout, the
environment variable names it may see) — with the kind in the associated data,
so a value row cannot be turned into a command row without the key — and the
command runs each time the secret is revealed.  Every value revealed is given to
every redactor of the process (``audit.redact.learn_secrets``): from then on it
is masked in the audit trail, on cards, in the console and in what MCP returns.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets as _random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Connection

from opsgate.execute._helper import HelperSpec, run_helper
from opsgate.execute.errors import SecretError
from opsgate.store._schema import secrets as table

__all__ = [
    "COMMAND",
    "KEY_FILE",
    "HelperSpec",
    "Sealed",
    "SecretInfo",
    "SecretStore",
    "SecretValue",
    "learn",
    "load_key",
    "parse_ref",
]

COMMAND = "command"  # the ``source`` of a secret fetched by a helper command

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
    """What anyone may learn about a secret: that it exists, and when it changed;
    where it comes from (``value``, or ``command`` for a helper) is for admins."""

    name: str
    created_at: float
    updated_at: float
    updated_by: str | None
    source: str = "value"


@dataclass(frozen=True, slots=True)
class Sealed:
    """A row as read, still sealed: opened (and a helper run) outside any transaction."""

    name: str
    source: str
    nonce: str
    ciphertext: str


def learn(value: str) -> None:
    """Every redactor of this process masks ``value`` (and its usual encodings)."""
    from opsgate.audit.redact import learn_secrets
    from opsgate.execute.redact import forms

    learn_secrets(forms(value))


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


def _aad(name: str, source: str) -> bytes:
    if source == COMMAND:
        return b"opsgate-secret-command\x00" + name.encode("utf-8")
    return name.encode("utf-8")  # a value's, as written since the store began


class SecretStore:
    """Encrypt, decrypt, list and delete, over a connection the caller's transaction
    owns (so a change and its audit entry commit together).  ``environ``: where a
    helper's named variables come from (the server's environment)."""

    def __init__(
        self,
        key: bytes,
        *,
        environ: Mapping[str, str] | None = None,
        helper: Callable[[str, HelperSpec, Mapping[str, str] | None], str] = run_helper,
    ) -> None:
        self._aead = AESGCM(key)
        self._environ = environ
        self._helper = helper

    def put(
        self, conn: Connection, name: str, value: str, actor_id: str | None, now: float
    ) -> None:
        check_name(name)
        if not value or len(value.encode("utf-8")) > MAX_VALUE:
            raise SecretError(f"secret {name!r} must be 1 byte to {MAX_VALUE // 1024} KiB")
        self._write(conn, name, value.encode("utf-8"), None, actor_id, now)
        learn(value)

    def put_command(
        self, conn: Connection, name: str, spec: HelperSpec, actor_id: str | None, now: float
    ) -> None:
        """Store a reference: the command that fetches the value, never the value."""
        check_name(name)
        sealed = json.dumps(spec.to_json(), separators=(",", ":")).encode("utf-8")
        self._write(conn, name, sealed, COMMAND, actor_id, now)

    def _write(
        self,
        conn: Connection,
        name: str,
        plain: bytes,
        source: str | None,
        actor_id: str | None,
        now: float,
    ) -> None:
        nonce = _random.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plain, _aad(name, source or "value"))
        row = {
            "nonce": base64.b64encode(nonce).decode("ascii"),
            "ciphertext": base64.b64encode(sealed).decode("ascii"),
            "updated_at": now,
            "updated_by": actor_id,
            "source": source,
        }
        updated = conn.execute(sa.update(table).where(table.c.name == name).values(**row))
        if updated.rowcount == 0:
            conn.execute(sa.insert(table).values(name=name, created_at=now, **row))

    def delete(self, conn: Connection, name: str) -> bool:
        return bool(conn.execute(sa.delete(table).where(table.c.name == name)).rowcount)

    def names(self, conn: Connection) -> list[SecretInfo]:
        rows = conn.execute(
            sa.select(
                table.c.name, table.c.created_at, table.c.updated_at, table.c.updated_by,
                table.c.source,
            ).order_by(table.c.name)
        )  # fmt: skip
        return [SecretInfo(r.name, r.created_at, r.updated_at, r.updated_by, r.source or "value")
                for r in rows]  # fmt: skip

    def fetch(self, conn: Connection, name: str) -> Sealed:
        row = conn.execute(sa.select(table).where(table.c.name == name)).first()
        if row is None:
            raise SecretError(
                f"no secret named {name!r}",
                hint=f"an admin sets it with: opsgate secrets set {name} < file",
            )
        return Sealed(row.name, row.source or "value", row.nonce, row.ciphertext)

    def open(self, sealed: Sealed) -> SecretValue:
        """The value: decrypted, or fetched by its helper command (which runs now,
        outside any transaction); learnt by every redactor of the process."""
        plain = self._decrypt(sealed)
        if sealed.source == COMMAND:
            spec = HelperSpec.from_json(json.loads(plain))
            value = self._helper(sealed.name, spec, self._environ)
        else:
            value = plain
        learn(value)
        return SecretValue(sealed.name, value)

    def reveal(self, conn: Connection, name: str) -> SecretValue:
        """``open(fetch(...))``: for a helper, prefer those two (no transaction held)."""
        return self.open(self.fetch(conn, name))

    def helper(self, conn: Connection, name: str) -> HelperSpec | None:
        """The helper command of a command-sourced secret (for its owner), else None."""
        sealed = self.fetch(conn, name)
        if sealed.source != COMMAND:
            return None
        return HelperSpec.from_json(json.loads(self._decrypt(sealed)))

    def reveal_all(self, conn: Connection) -> list[SecretValue]:
        """Every stored value, for redaction (never for output itself).  Helpers are
        not run here: their values are learnt when they are resolved."""
        rows = conn.execute(sa.select(table).where(sa.or_(table.c.source.is_(None),
                                                          table.c.source != COMMAND)))  # fmt: skip
        found = []
        for r in rows:
            value = self._decrypt(Sealed(r.name, "value", r.nonce, r.ciphertext))
            learn(value)
            found.append(SecretValue(r.name, value))
        return found

    def _decrypt(self, sealed: Sealed) -> str:
        try:
            plain = self._aead.decrypt(
                base64.b64decode(sealed.nonce),
                base64.b64decode(sealed.ciphertext),
                _aad(sealed.name, sealed.source),
            )
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretError(
                f"secret {sealed.name!r} does not decrypt with this key",
                hint="check OPSGATE_SECRET_KEY / secret.key: every replica needs the same key",
            ) from None
        return plain.decode("utf-8")
