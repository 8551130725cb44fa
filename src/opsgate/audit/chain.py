"""The hash chain, pure: canonical bytes in, hashes out.  No I/O.

Every hash has its own domain-separation prefix, so an entry hash can never be
replayed as a link hash, a genesis or a checkpoint message (and vice versa):

    genesis     = H("opsgate/audit/v1/genesis\\0"    || log_id)
    entry_hash  = H("opsgate/audit/v1/entry\\0"      || canonical body)
    link[seq]   = H("opsgate/audit/v1/link\\0"       || link[seq-1] || seq(u64 BE) || entry_hash)
    checkpoint signature over "opsgate/audit/v1/checkpoint\\0" || canonical checkpoint
    key introduction signature over "opsgate/audit/v1/key-introduction\\0" || canonical record

The genesis binds the chain to one log's identity, so entries cannot be spliced
from one log into another; binding ``seq`` into each link makes renumbering visible.
"""

from __future__ import annotations

from typing import Any

try:  # the built-in SHA-256 (3.12+: _sha2, 3.11: _sha256) avoids loading OpenSSL's
    # _hashlib, ~2.5 ms of the hook's budget; the digest is the same.
    from _sha2 import sha256 as _sha256  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - depends on the Python version
    try:
        from _sha256 import sha256 as _sha256  # type: ignore[import-not-found, no-redef, unused-ignore]
    except ImportError:
        from hashlib import sha256 as _sha256  # type: ignore[assignment, unused-ignore]

__all__ = [
    "CHECKPOINT_DOMAIN",
    "ENTRY_DOMAIN",
    "INTRODUCTION_DOMAIN",
    "LINK_DOMAIN",
    "canonical",
    "entry_hash",
    "genesis",
    "link_hash",
    "seal",
]

ENTRY_DOMAIN = b"opsgate/audit/v1/entry\x00"
LINK_DOMAIN = b"opsgate/audit/v1/link\x00"
GENESIS_DOMAIN = b"opsgate/audit/v1/genesis\x00"
CHECKPOINT_DOMAIN = b"opsgate/audit/v1/checkpoint\x00"
INTRODUCTION_DOMAIN = b"opsgate/audit/v1/key-introduction\x00"


def canonical(document: Any) -> bytes:
    """RFC 8785 (JCS) bytes.

    Most entries are plain — string keys, strings, safe integers, booleans, null,
    no floats — and for those the standard library's C encoder with sorted keys and
    no whitespace produces exactly the JCS bytes, provided the output is pure ASCII
    (then code-point and UTF-16 key order agree and no lone surrogate is present;
    both escape the same control characters the same way).  Everything else goes
    through ``rfc8785``.  Imported here, so only code that writes or re-encodes pays.
    """
    if _plain(document, 0):
        import json

        text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        if text.isascii():
            return text.encode()
    import rfc8785

    try:
        return bytes(rfc8785.dumps(document))
    except rfc8785.CanonicalizationError:
        if not _has_surrogate(document):
            raise
    # A lone surrogate (JSON allows "\\ud800"; UTF-8 cannot carry it) from an
    # agent's input: stored as the six characters of its escape, so the entry says
    # what was sent, and one agent's odd string cannot fail a batch it shares.
    return bytes(rfc8785.dumps(_escape_surrogates(document)))


_MAX_SAFE_INT = 2**53 - 1


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_surrogate(v) for v in value)
    return False


def _escape_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_escape_surrogates(k): _escape_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escape_surrogates(v) for v in value]
    return value


def _plain(value: Any, depth: int) -> bool:
    """No floats, no odd types, no huge integers, not too deep for the C encoder."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return bool(-_MAX_SAFE_INT <= value <= _MAX_SAFE_INT)
    if depth > 64:
        return False
    if kind is dict:
        return all(type(k) is str and _plain(v, depth + 1) for k, v in value.items())
    if kind is list:
        return all(_plain(v, depth + 1) for v in value)
    return False


def genesis(log_id: str) -> bytes:
    digest: bytes = _sha256(GENESIS_DOMAIN + log_id.encode()).digest()
    return digest


def entry_hash(body: bytes) -> bytes:
    digest: bytes = _sha256(ENTRY_DOMAIN + body).digest()
    return digest


def link_hash(prev: bytes, seq: int, body: bytes) -> bytes:
    digest: bytes = _sha256(LINK_DOMAIN + prev + seq.to_bytes(8, "big") + entry_hash(body)).digest()
    return digest


def seal(document: dict[str, Any], seq: int, prev: bytes) -> tuple[bytes, bytes]:
    """Number a document, encode it canonically and chain it: (body, link)."""
    document["seq"] = seq
    body = canonical(document)
    return body, link_hash(prev, seq, body)
