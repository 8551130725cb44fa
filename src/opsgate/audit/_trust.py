"""Which checkpoint signing keys a verification trusts when none is given on the
command line: the current signing key, and the public keys an operator lists in
``audit.trusted_keys`` — earlier keys after a rotation, or the other replicas' keys
where replicas do not share one.

A key is trusted because it is configured, never because it signed a checkpoint
(then any forger's key would be).  A listed file that is missing, unreadable or not
an Ed25519 public key stops the command or the server's start: skipping it would
report an intact log as TAMPERED, and quietly trusting less than was configured
hides a mistake an operator must fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from opsgate.audit.errors import AuditConfigError

if TYPE_CHECKING:
    from opsgate.audit.log import AuditLog

__all__ = ["Trust", "local_trust", "previous_key_ids", "public_pem_blocks", "trusted_key_ids"]

_WHERE = "audit.trusted_keys (OPSGATE_AUDIT_TRUSTED_KEYS, or [audit] trusted_keys)"
_PUBLIC_PEM = re.compile(rb"-----BEGIN PUBLIC KEY-----\r?\n.*?-----END PUBLIC KEY-----", re.DOTALL)
_MAX_KEY_FILE = 64 * 1024  # a PEM public key is ~113 bytes; anything far larger is not one


@dataclass(frozen=True, slots=True)
class Trust:
    """The key ids a verification trusts (None: no key at all, signatures are checked
    for consistency only) and, in words, where they come from."""

    key_ids: tuple[str, ...] | None
    anchor: str


def trusted_key_ids(path: Path) -> tuple[str, ...]:
    """The key ids of the Ed25519 public keys in the PEM file ``path``: one (the
    output of ``opsgate audit key`` will do: the text around a PEM block is ignored)
    or several (``DEST.pub.pem`` of ``opsgate audit backup``: every key the copy's
    checkpoints need)."""
    data = _read(path)
    if b"PRIVATE KEY-----" in data:
        raise AuditConfigError(
            f"the trusted audit key {path} ({_WHERE}) holds a private key",
            hint=f"list only its public half: openssl pkey -in {path} -pubout -out "
            f"{path}.pub.pem — and keep an old private key nowhere",
        )
    blocks = public_pem_blocks(data)
    if not blocks:
        raise _not_a_key(path)
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from opsgate.audit.checkpoint import key_id

    ids = []
    for block in blocks:
        try:
            public = s.load_pem_public_key(block)
        except ValueError:
            raise _not_a_key(path) from None
        if not isinstance(public, Ed25519PublicKey):
            raise _not_a_key(path)
        ids.append(key_id(public.public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)))
    return tuple(dict.fromkeys(ids))


def public_pem_blocks(data: bytes) -> list[bytes]:
    """Every PEM public-key block in ``data``, in order."""
    return [found.group(0) for found in _PUBLIC_PEM.finditer(data)]


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(_MAX_KEY_FILE)
    except FileNotFoundError:
        raise AuditConfigError(
            f"the trusted audit key {path} ({_WHERE}) does not exist",
            hint="restore the public key file, or remove it from audit.trusted_keys — the "
            "checkpoints it signed then verify as re-signed (TAMPERED)",
        ) from None
    except OSError as exc:
        raise AuditConfigError(
            f"cannot read the trusted audit key {path} ({_WHERE}): {exc.strerror}",
            hint="make it a file this user can read (a public key need not be private)",
        ) from exc


def _not_a_key(path: Path) -> AuditConfigError:
    return AuditConfigError(
        f"the trusted audit key {path} ({_WHERE}) is not an Ed25519 public key in PEM",
        hint="list the public halves of audit signing keys: `opsgate audit key` prints the "
        "current one, `openssl pkey -in KEY.pem -pubout` any other",
    )


def previous_key_ids(paths: Iterable[Path]) -> tuple[str, ...]:
    """The key ids of the configured trusted keys, each file checked (in order)."""
    return tuple(dict.fromkeys(k for p in paths for k in trusted_key_ids(Path(p))))


def local_trust(log: AuditLog) -> Trust:
    """The keys to trust without an anchor given on the command line: this log's
    signing key (when it exists) and the configured trusted keys."""
    from opsgate.audit.checkpoint import load_public_key

    listed = previous_key_ids(log.trusted_keys)
    current = (load_public_key(str(log.key_path)),) if log.key_path.is_file() else ()
    ids = tuple(dict.fromkeys(current + listed))
    if not ids:
        return Trust(None, "no key: signatures checked for consistency only")
    what = "the local signing key" if current else ""
    if listed:
        also = f"{len(listed)} key(s) of audit.trusted_keys"
        what = f"{what} and {also}" if what else also
    return Trust(ids, what)
