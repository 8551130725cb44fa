"""The verification an artifact states: ``opsgate audit verify`` run on the same
log, at the moment the artifact is made, and the chain head it vouches for."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from opsgate.audit import AuditLog

__all__ = ["Verification", "verify_log"]


@dataclass(frozen=True, slots=True)
class Verification:
    log: str
    ok: bool
    summary: str  # the verifier's own words (``opsgate audit verify`` prints the same)
    entries: int
    head_seq: int
    head: str  # the chain's head hash, hex
    checkpoints: int
    problems: tuple[tuple[int, str, str], ...]  # (seq, kind, message)
    warnings: tuple[str, ...]
    anchor: str  # which key the checkpoints were checked against
    signed_through: int = 0  # the newest checkpoint's seq: entries after it are unsigned

    @property
    def suspect(self) -> frozenset[int]:
        """Sequence numbers the verifier named: where tampering starts."""
        return frozenset(seq for seq, _, _ in self.problems)


def verify_log(log: AuditLog, trusted_keys: list[str] | None = None) -> Verification:
    """Verify every entry and every stored checkpoint; without ``trusted_keys`` the
    local signing key and ``audit.trusted_keys`` are trusted (as ``opsgate audit
    verify`` does by default)."""
    from opsgate.audit._trust import local_trust
    from opsgate.audit.verify import verify

    anchor = "the keys given"
    if trusted_keys is None:
        local = local_trust(log)
        trusted_keys = list(local.key_ids) if local.key_ids is not None else None
        anchor = local.anchor
        if local.key_ids is not None:
            anchor += " (pass --key for an independent anchor)"
    from opsgate.audit.checkpoint import Checkpoint

    bodies = log.store.checkpoint_bodies()
    sources = [(f"store {log.store.location}", b) for b in bodies]
    report = verify(log.log_id, log.store.rows(), sources, trusted_keys)
    signed = []
    for body in bodies:
        with contextlib.suppress(ValueError):  # a malformed one is the verifier's problem
            signed.append(Checkpoint.parse(body).seq)
    return Verification(
        log=log.log_id,
        ok=report.ok,
        summary=report.summary(),
        entries=report.entries,
        head_seq=report.head_seq,
        head=report.head.hex(),
        checkpoints=report.checkpoints,
        problems=tuple((p.seq, p.kind, p.message) for p in report.problems),
        warnings=tuple(report.warnings),
        anchor=anchor,
        signed_through=max(signed, default=0),
    )
