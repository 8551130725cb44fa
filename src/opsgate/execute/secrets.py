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

During a key rotation (``opsgate secrets rotate-key``, ``_rekey``) a previous key
may be configured too (``OPSGATE_SECRET_KEY_PREVIOUS``, or a file): a value that
does not open with the current key is tried with it, so replicas restarted with the
new key still open what was sealed with the old one.  Writes always use the
current key.

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
    "decode_key",
    "learn",
    "load_key",
    "load_previous_key",
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


def decode_key(text: str, source: str) -> bytes:
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
        return decode_key(configured, "OPSGATE_SECRET_KEY")
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
        return decode_key(path.read_text("ascii"), str(path))
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(base64.b64encode(os.urandom(32)).decode("ascii") + "\n")
    return decode_key(path.read_text("ascii"), str(path))


def load_previous_key(data_dir: Path, env: Mapping[str, str] | None = None) -> bytes | None:
    """The key of before a rotation, when one is configured: ``execute.secret_key_previous``
    (OPSGATE_SECRET_KEY_PREVIOUS), or the file ``execute.secret_key_previous_file``
    names (it must exist and be private).  Never created."""
    from opsgate.config import resolve

    config = resolve(env)
    given = config.text("execute.secret_key_previous")
    path = config.path("execute.secret_key_previous_file")
    if given and path is not None:
        raise SecretError(
            "both OPSGATE_SECRET_KEY_PREVIOUS and execute.secret_key_previous_file are set",
            hint="set one of the two",
        )
    if given:
        return decode_key(given, "OPSGATE_SECRET_KEY_PREVIOUS")
    return _key_from_file(path) if path is not None else None


def _key_from_file(path: Path) -> bytes:
    source = f"{path} (execute.secret_key_previous_file)"
    try:
        if path.stat().st_mode & 0o077:
            raise SecretError(f"the previous secret key file {source} is readable by other "
                              "users", hint=f"chmod 600 {path}")  # fmt: skip
        text = path.read_text("ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a base64 key"
        raise SecretError(
            f"cannot read the previous secret key file {source}: {reason}",
            hint="fix the path, or unset it once every secret is sealed with the current key",
        ) from exc
    return decode_key(text, source)


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
        previous: bytes | None = None,
        environ: Mapping[str, str] | None = None,
        helper: Callable[[str, HelperSpec, Mapping[str, str] | None], str] = run_helper,
    ) -> None:
        self._aead = AESGCM(key)
        # Opening tries the current key, then the previous one (a rotation under way).
        self._openers = (self._aead,) if previous is None else (self._aead, AESGCM(previous))
        self._environ = environ
        self._helper = helper

    def put(
        self, conn: Connection, name: str, value: str, actor_id: str | None, now: float
    ) -> None:
        check_name(name)
        if not value or len(value.encode("utf-8")) > MAX_VALUE:
            raise SecretError(f"must be 1 byte to {MAX_VALUE // 1024} KiB", secret=name)
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
        nonce, ciphertext = self.seal(name, source or "value", plain)
        row = {
            "nonce": nonce,
            "ciphertext": ciphertext,
            "updated_at": now,
            "updated_by": actor_id,
            "source": source,
        }
        updated = conn.execute(sa.update(table).where(table.c.name == name).values(**row))
        if updated.rowcount == 0:
            conn.execute(sa.insert(table).values(name=name, created_at=now, **row))

    def seal(self, name: str, source: str, plain: bytes) -> tuple[str, str]:
        """(nonce, ciphertext), base64, of ``plain`` under the current key."""
        nonce = _random.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plain, _aad(name, source))
        return base64.b64encode(nonce).decode("ascii"), base64.b64encode(sealed).decode("ascii")

    def unseal(self, sealed: Sealed) -> bytes:
        """The sealed bytes (a value, or a helper's command) — for re-sealing under
        another key, never for output; a SecretError when no configured key opens them."""
        nonce, ciphertext = _b64(sealed.nonce), _b64(sealed.ciphertext)
        for aead in self._openers:
            try:
                return aead.decrypt(nonce, ciphertext, _aad(sealed.name, sealed.source))
            except (InvalidTag, ValueError):
                continue
        which = "this key" if len(self._openers) == 1 else "this key nor the previous key"
        raise SecretError(
            f"secret {sealed.name!r} does not decrypt with {which}",
            hint="check OPSGATE_SECRET_KEY / secret.key: every replica needs the same key "
            "(during a rotation, the old one as OPSGATE_SECRET_KEY_PREVIOUS)",
        )

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
        not run here: their values are learnt when they are resolved.  A value that
        does not open does not stop the others being learnt; the SecretError raised
        afterwards names every one that did not."""
        rows = conn.execute(sa.select(table).where(sa.or_(table.c.source.is_(None),
                                                          table.c.source != COMMAND)))  # fmt: skip
        found, closed = [], []
        for r in rows:
            try:
                value = self._decrypt(Sealed(r.name, "value", r.nonce, r.ciphertext))
            except SecretError:
                closed.append(r.name)
                continue
            learn(value)
            found.append(SecretValue(r.name, value))
        if closed:
            raise SecretError(
                f"{len(closed)} stored secret(s) do not decrypt with the configured key(s): "
                + ", ".join(repr(n) for n in sorted(closed)),
                hint="check OPSGATE_SECRET_KEY / secret.key (and, during a rotation, "
                "OPSGATE_SECRET_KEY_PREVIOUS): every replica needs the same key",
            )
        return found

    def _decrypt(self, sealed: Sealed) -> str:
        return self.unseal(sealed).decode("utf-8")


def _b64(text: str) -> bytes:
    """Stored base64; a damaged column is one more value that does not open."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""
