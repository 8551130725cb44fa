"""Key introductions: a trusted checkpoint key vouching for its successor.

A witness trusts the key it pinned first.  After a rotation it trusts a new key
only when a record signed by a key it already trusts introduces it — made by
``opsgate audit introduce-key`` while the old private key still exists — never
because a checkpoint names the key, and never because of a pin line: whoever can
append to a witness (the writer) could write one.

Each key introduces at most one successor.  Two different successors of one key
are a conflict: both are reported and neither is trusted, so a retired key that
leaked cannot quietly start a second line of keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsgate.audit.chain import INTRODUCTION_DOMAIN, canonical
from opsgate.audit.errors import AuditConfigError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "INTRODUCTION_TYPE",
    "KeyIntroduction",
    "introduce",
    "introduction_valid",
    "public_raw",
    "trust_chain",
]

INTRODUCTION_TYPE = "opsgate.audit.key_introduction"
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class KeyIntroduction:
    log: str
    time: str
    by: str  # key id of the key that signs (already trusted)
    by_public_key: str  # its raw public key, hex
    key_id: str  # the key introduced
    public_key: str  # its raw public key, hex
    signature: str  # hex, by ``by`` over the domain and the unsigned record

    def unsigned(self) -> dict[str, Any]:
        return {
            "type": INTRODUCTION_TYPE,
            "v": 1,
            "log": self.log,
            "time": self.time,
            "by": self.by,
            "by_public_key": self.by_public_key,
            "key_id": self.key_id,
            "public_key": self.public_key,
        }

    def message(self) -> bytes:
        return INTRODUCTION_DOMAIN + canonical(self.unsigned())

    def body(self) -> bytes:
        return canonical({**self.unsigned(), "signature": self.signature})

    @classmethod
    def parse(cls, body: bytes) -> KeyIntroduction:
        """Parse witnessed bytes; ValueError unless they are exactly what opsgate writes."""
        doc = json.loads(body)
        if not isinstance(doc, dict) or doc.get("type") != INTRODUCTION_TYPE:
            raise ValueError("not an opsgate key introduction")
        try:
            intro = cls(**{f.name: str(doc[f.name]) for f in fields(cls)})
        except KeyError as exc:
            raise ValueError(f"missing field {exc}") from exc
        if intro.body() != body.strip():
            raise ValueError("not in canonical form")
        return intro


def introduce(
    private: Ed25519PrivateKey, new_public: bytes, *, log: str, time: str
) -> KeyIntroduction:
    """``private``'s signed statement that the key ``new_public`` (raw) succeeds it."""
    from cryptography.hazmat.primitives import serialization as s

    from opsgate.audit.checkpoint import key_id

    mine = private.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
    if mine == new_public:
        raise AuditConfigError(
            "the new key is the key that would introduce it",
            hint="introduce the next key, signed by the current one (see docs/deploy.md)",
        )
    draft = KeyIntroduction(log, time, key_id(mine), mine.hex(), key_id(new_public),
                            new_public.hex(), "")  # fmt: skip
    return KeyIntroduction(log, time, draft.by, draft.by_public_key, draft.key_id,
                           draft.public_key, private.sign(draft.message()).hex())  # fmt: skip


def introduction_valid(intro: KeyIntroduction) -> bool:
    """Signed by the key it names as ``by``, whose id and the new key's id match
    their public keys, and not a key introducing itself."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from opsgate.audit.checkpoint import key_id

    hexes = (intro.by_public_key, intro.public_key, intro.signature)
    if not all(set(h) <= _HEX and h for h in hexes) or intro.by == intro.key_id:
        return False
    try:
        by, new = bytes.fromhex(intro.by_public_key), bytes.fromhex(intro.public_key)
        if key_id(by) != intro.by or key_id(new) != intro.key_id:
            return False
        Ed25519PublicKey.from_public_bytes(by).verify(
            bytes.fromhex(intro.signature), intro.message()
        )
    except (ValueError, InvalidSignature):
        return False
    return True


def trust_chain(
    anchor: str, intros: Iterable[KeyIntroduction], log: str | None
) -> tuple[list[str], list[str]]:
    """The key ids trusted from ``anchor`` through valid introductions (anchor
    first), and what was refused, in words."""
    problems: list[str] = []
    valid: list[KeyIntroduction] = []
    for intro in intros:
        if log is not None and intro.log != log:
            problems.append(f"the introduction of {intro.key_id} belongs to log {intro.log}")
        elif not introduction_valid(intro):
            problems.append(
                f"the introduction of {intro.key_id} by {intro.by} does not verify — forged"
            )
        else:
            valid.append(intro)
    successors: dict[str, set[str]] = {}
    for intro in valid:
        successors.setdefault(intro.by, set()).add(intro.key_id)
    conflicted = {by for by, new in successors.items() if len(new) > 1}
    problems += [
        f"{by} introduced {len(successors[by])} different keys "
        f"({', '.join(sorted(successors[by]))}) — a key introduces one successor; none of "
        "them is trusted"
        for by in sorted(conflicted)
    ]
    pending = [i for i in valid if i.by not in conflicted]
    trusted = [anchor]
    grew = True
    while grew:
        grew = False
        for intro in pending:
            if intro.by in trusted and intro.key_id not in trusted:
                trusted.append(intro.key_id)
                grew = True
    problems += [
        f"the introduction of {i.key_id} is signed by {i.by}, a key the witness does not "
        "trust — not accepted"
        for i in pending
        if i.by not in trusted
    ]
    return trusted, problems


def public_raw(path: Path) -> bytes:
    """The raw Ed25519 public key of a PEM file (public key, or a private key's
    public half)."""
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from opsgate.audit.checkpoint import load_or_create_key

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditConfigError(f"cannot read the key {path}: {exc.strerror}",
                               hint="name the new key's PEM file") from exc  # fmt: skip
    if b"PRIVATE KEY" in data:
        public: object = load_or_create_key(path).public_key()
    else:
        try:
            public = s.load_pem_public_key(data)
        except ValueError:
            public = None
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise AuditConfigError(f"{path} is not an Ed25519 key in PEM",
                               hint="openssl genpkey -algorithm ed25519 -out KEY.pem")  # fmt: skip
    return public.public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
