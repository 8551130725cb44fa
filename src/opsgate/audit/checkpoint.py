"""Signed checkpoints: an Ed25519 signature over (log, seq, head hash, time).

``cryptography`` is imported inside the functions that sign or verify, never at
module level: the hook appends an entry per call and must not pay ~25 ms for a
library it needs once in N appends.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsgate.audit.chain import CHECKPOINT_DOMAIN, canonical
from opsgate.audit.errors import AuditConfigError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "Checkpoint",
    "key_id",
    "load_or_create_key",
    "load_public_key",
    "load_public_keys",
    "public_key_pem",
    "sign_checkpoint",
    "signature_valid",
]


_LOWER_HEX = re.compile("[0-9a-f]+")
_PUBLIC_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----\r?\n.*?-----END PUBLIC KEY-----", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    log: str
    seq: int
    head: str  # hex link hash at ``seq``
    time: str
    key_id: str
    public_key: str  # hex raw Ed25519 public key (trust comes from key_id, not from this)
    signature: str  # hex

    def unsigned(self) -> dict[str, Any]:
        return {
            "type": "opsgate.audit.checkpoint",
            "v": 1,
            "log": self.log,
            "seq": self.seq,
            "head": self.head,
            "time": self.time,
            "key_id": self.key_id,
            "public_key": self.public_key,
        }

    def message(self) -> bytes:
        return CHECKPOINT_DOMAIN + canonical(self.unsigned())

    def body(self) -> bytes:
        return canonical({**self.unsigned(), "signature": self.signature})

    @classmethod
    def parse(cls, body: bytes | str) -> Checkpoint:
        """Parse stored or witnessed bytes; raises ValueError when malformed."""
        doc = json.loads(body)
        if not isinstance(doc, dict) or doc.get("type") != "opsgate.audit.checkpoint":
            raise ValueError("not an opsgate checkpoint")
        try:
            cp = cls(
                log=str(doc["log"]),
                seq=int(doc["seq"]),
                head=str(doc["head"]),
                time=str(doc["time"]),
                key_id=str(doc["key_id"]),
                public_key=str(doc["public_key"]),
                signature=str(doc["signature"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"missing field {exc}") from exc
        # Only the exact bytes opsgate wrote are accepted: no re-spacing, no other
        # hex spelling of the same signature, nothing a signature doesn't cover.
        for name, size in (("head", 64), ("public_key", 64), ("signature", 128)):
            if not _LOWER_HEX.fullmatch(getattr(cp, name)) or len(getattr(cp, name)) != size:
                raise ValueError(f"{name} is not {size} lowercase hex digits")
        raw = body.encode() if isinstance(body, str) else bytes(body)
        if cp.body() != raw.strip():
            raise ValueError("not in canonical form")
        return cp


def key_id(raw_public: bytes) -> str:
    return "ed25519:" + hashlib.sha256(b"opsgate/audit/v1/key\x00" + raw_public).hexdigest()[:32]


def _raw_public(private: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization as s

    return private.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)


def public_key_pem(private: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives import serialization as s

    pem = private.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode()


def sign_checkpoint(
    private: Ed25519PrivateKey, *, log: str, seq: int, head: bytes, time: str
) -> Checkpoint:
    raw = _raw_public(private)
    draft = Checkpoint(log, seq, head.hex(), time, key_id(raw), raw.hex(), "")
    signature = private.sign(draft.message()).hex()
    return Checkpoint(log, seq, head.hex(), time, draft.key_id, raw.hex(), signature)


def signature_valid(cp: Checkpoint) -> bool:
    """The signature verifies under the public key the checkpoint names, and that
    key hashes to its key id.  Whether the key is *trusted* is the caller's check."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        raw = bytes.fromhex(cp.public_key)
        if key_id(raw) != cp.key_id:
            return False
        Ed25519PublicKey.from_public_bytes(raw).verify(bytes.fromhex(cp.signature), cp.message())
    except (ValueError, InvalidSignature):
        return False
    return True


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key at ``path``, created (mode 0600) on first use.

    Creation writes a temporary file and links it into place, so two processes
    racing on first use end with one key, never a half-written file.
    """
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):  # another process won: use its key
                os.link(tmp, path)
        except OSError as exc:
            raise AuditConfigError(
                f"cannot create the audit signing key {path}: {exc.strerror}",
                hint="make the data directory writable, or set OPSGATE_AUDIT_KEY to a key file",
            ) from exc
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    try:
        if path.stat().st_mode & 0o077:
            raise AuditConfigError(
                f"the audit signing key {path} is readable by other users",
                hint=f"chmod 600 {path}",
            )
        loaded = s.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise AuditConfigError(
            f"cannot read the audit signing key {path}: {exc.strerror}",
            hint="check OPSGATE_AUDIT_KEY / the data directory",
        ) from exc
    except ValueError as exc:
        raise AuditConfigError(
            f"{path} is not a PEM private key", hint="point to an Ed25519 key"
        ) from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise AuditConfigError(
            f"{path} is not an Ed25519 key",
            hint="generate one with `openssl genpkey -algorithm ed25519`",
        )
    return loaded


def load_public_key(ref: str) -> str:
    """A trusted key id from a reference: a PEM file (public or private key), PEM
    text, 64 hex characters of a raw key, or a key id ``ed25519:…`` itself."""
    if ref.startswith("ed25519:"):
        return ref
    text = ref
    if "-----BEGIN" not in ref:
        candidate = Path(ref).expanduser()
        if candidate.is_file():
            text = candidate.read_text()
            if text.lstrip().startswith("{"):  # a witness's key.json pin
                pinned = json.loads(text.splitlines()[0]).get("key_id")
                if isinstance(pinned, str):
                    return pinned
        else:
            try:
                raw = bytes.fromhex(ref)
            except ValueError:
                raw = b""
            if len(raw) != 32:
                raise AuditConfigError(
                    f"--key {ref!r} is neither a file, a PEM key, a hex key nor a key id",
                    hint="pass the witness's key.pub or `opsgate audit key` output",
                )
            return key_id(raw)
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import ed25519

    data = text.encode()
    try:
        if "PRIVATE KEY" in text:
            priv = s.load_pem_private_key(data, password=None)
            if not isinstance(priv, ed25519.Ed25519PrivateKey):
                raise ValueError("not ed25519")
            return key_id(_raw_public(priv))
        pub = s.load_pem_public_key(data)
        if not isinstance(pub, ed25519.Ed25519PublicKey):
            raise ValueError("not ed25519")
        return key_id(pub.public_bytes(s.Encoding.Raw, s.PublicFormat.Raw))
    except ValueError as exc:
        raise AuditConfigError(
            f"cannot read an Ed25519 key from {ref!r}", hint="pass a PEM file"
        ) from exc


def load_public_keys(ref: str) -> tuple[str, ...]:
    """The trusted key ids of a reference, as ``load_public_key``; a file of several
    PEM public keys (``DEST.pub.pem`` of ``opsgate audit backup``: every key the
    copy's checkpoints were signed with) gives each, in order."""
    path = Path(ref).expanduser()
    if ref.startswith("ed25519:") or "-----BEGIN" in ref or not path.is_file():
        return (load_public_key(ref),)
    text = path.read_text(errors="replace")
    blocks = _PUBLIC_PEM.findall(text)
    if not blocks or "PRIVATE KEY" in text:
        return (load_public_key(ref),)
    return tuple(dict.fromkeys(load_public_key(block) for block in blocks))
