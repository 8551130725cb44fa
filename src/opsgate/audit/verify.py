"""Verification, pure and offline: rows and checkpoints in, a report out.

Each row is checked against its predecessor's *stored* link (so one edit is
reported once, at its own sequence, and checking resumes after it), while the
chain is also recomputed from the genesis (so a log re-hashed from some point on,
which passes the local check, still fails against every signed checkpoint).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from hashlib import sha256  # OpenSSL: ~3x the built-in SHA-256 on entry-sized bodies

from opsgate.audit.chain import ENTRY_DOMAIN, LINK_DOMAIN, genesis
from opsgate.audit.checkpoint import Checkpoint, signature_valid

__all__ = ["Problem", "Report", "verify"]

_MAX_REPORTED = 20  # after a shift every later row is wrong; the first ones say why


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int
    kind: (
        str  # edited, inserted, deleted, reordered, truncated, rewritten, forged, resigned, foreign
    )
    message: str


@dataclass
class Report:
    log: str
    entries: int = 0
    head_seq: int = 0
    head: bytes = b""
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    suppressed: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: Problem) -> None:
        if len(self.problems) < _MAX_REPORTED:
            self.problems.append(problem)
        else:
            self.suppressed += 1

    def summary(self) -> str:
        if self.ok:
            return (
                f"audit log {self.log}: intact — {self.entries} entries, head seq "
                f"{self.head_seq}, {self.checkpoints} signed checkpoint(s) verified"
            )
        lines = [
            f"audit log {self.log}: TAMPERED — {len(self.problems) + self.suppressed} problem(s)"
        ]
        lines += [f"  seq {p.seq}: {p.kind}: {p.message}" for p in self.problems]
        if self.suppressed:
            lines.append(f"  … and {self.suppressed} more")
        return "\n".join(lines)


def verify(
    log: str,
    rows: Iterable[tuple[int, bytes, bytes]],
    checkpoints: Iterable[tuple[str, bytes]] = (),
    trusted_keys: Iterable[str] | None = None,
) -> Report:
    """Check ``rows`` (seq, body, stored link; ascending seq) and ``checkpoints``
    (source, body) for log ``log``.  ``trusted_keys`` are key ids; ``None`` means
    signatures are checked for consistency only (a warning says so)."""
    report = Report(log=log)
    parsed = _parse_checkpoints(report, checkpoints, trusted_keys)
    wanted = {cp.seq for _, cp in parsed}
    at: dict[int, bytes] = {}
    stored_prev = true_prev = genesis(log)
    expected = 1
    count = 0
    # chain.link_hash inlined (the hot loop of a million-entry verify): the entry
    # hash is computed once and shared by the local and the from-genesis link.
    for seq, body, link in rows:
        if seq != expected:
            _gap(report, expected, seq)
        tail = seq.to_bytes(8, "big") + sha256(ENTRY_DOMAIN + body).digest()
        local = sha256(LINK_DOMAIN + stored_prev + tail).digest()
        true = (
            local if true_prev == stored_prev else sha256(LINK_DOMAIN + true_prev + tail).digest()
        )
        if local != link:
            report.add(_explain(seq, body))
        if seq in wanted:
            at[seq] = true
        stored_prev, true_prev = link, true
        expected = seq + 1
        count += 1
    report.entries = count
    report.head_seq, report.head = expected - 1, stored_prev
    for source, cp in parsed:
        _check_against_chain(report, source, cp, at)
    if not parsed:
        report.warnings.append(
            "no signed checkpoints: a truncated tail or a fully re-hashed log cannot be "
            "detected — run `opsgate audit checkpoint --witness …`"
        )
    return report


def _gap(report: Report, expected: int, seq: int) -> None:
    missing = f"{expected}" if seq == expected + 1 else f"{expected}–{seq - 1}"
    report.add(Problem(expected, "deleted", f"entry seq {missing} missing: deleted from the log"))


def _explain(seq: int, body: bytes) -> Problem:
    """Why a row fails its local check: which kind of tampering fits the evidence."""
    try:
        written = json.loads(body).get("seq")
    except (ValueError, AttributeError):
        written = None
    if isinstance(written, int) and written != seq:
        if written == seq - 1:
            return Problem(
                seq,
                "inserted",
                f"holds the entry written as seq {written}: an entry was inserted before it",
            )
        if written == seq + 1:
            return Problem(
                seq,
                "deleted",
                f"holds the entry written as seq {written}: an entry was deleted before it",
            )
        return Problem(
            seq, "reordered", f"holds the entry written as seq {written}: entries were reordered"
        )
    if written is None:
        return Problem(seq, "edited", "stored bytes are not a valid entry: edited")
    if seq == 1:
        return Problem(
            seq,
            "edited",
            "entry 1 does not chain from this log's genesis: edited, or the log identity "
            "was changed",
        )
    return Problem(
        seq,
        "edited",
        f"stored bytes do not match the chain: entry {seq} was edited (or its hash, or entry "
        f"{seq - 1} was edited and re-hashed)",
    )


def _parse_checkpoints(
    report: Report, sources: Iterable[tuple[str, bytes]], trusted: Iterable[str] | None
) -> list[tuple[str, Checkpoint]]:
    trusted_set = set(trusted) if trusted is not None else None
    if trusted_set is None:
        report.warnings.append(
            "no trusted key given: checkpoint signatures checked for consistency only"
        )
    seen: set[bytes] = set()
    good: list[tuple[str, Checkpoint]] = []
    for source, body in sources:
        if body in seen:
            continue  # the same checkpoint in the store and at the witness
        seen.add(body)
        try:
            cp = Checkpoint.parse(body)
        except ValueError as exc:
            report.add(Problem(0, "forged", f"checkpoint from {source} is malformed ({exc})"))
            continue
        report.checkpoints += 1
        if cp.log != report.log:
            report.add(
                Problem(
                    cp.seq,
                    "foreign",
                    f"checkpoint from {source} belongs to log {cp.log}, not {report.log}",
                )
            )
        elif not signature_valid(cp):
            report.add(
                Problem(
                    cp.seq,
                    "forged",
                    f"checkpoint from {source}: signature does not verify — forged",
                )
            )
        elif trusted_set is not None and cp.key_id not in trusted_set:
            report.add(
                Problem(
                    cp.seq,
                    "resigned",
                    f"checkpoint from {source} is signed by {cp.key_id}, not the trusted key "
                    f"{', '.join(sorted(trusted_set))} — re-signed with another key, unless "
                    f"that is a key you issued (replicas share one key; pass each public key "
                    f"you trust with --key, or list it in audit.trusted_keys; a witness "
                    f"trusts a new key once `opsgate audit introduce-key` recorded it there)",
                )
            )
        else:
            good.append((source, cp))
    return good


def _check_against_chain(report: Report, source: str, cp: Checkpoint, at: dict[int, bytes]) -> None:
    if cp.seq > report.head_seq:
        report.add(
            Problem(
                report.head_seq + 1,
                "truncated",
                f"checkpoint from {source} covers seq {cp.seq} (signed {cp.time}) but the log "
                f"ends at "
                f"seq {report.head_seq}: the tail was truncated",
            )
        )
    elif cp.seq in at and at[cp.seq].hex() != cp.head:
        report.add(
            Problem(
                cp.seq,
                "rewritten",
                f"checkpoint from {source} (signed {cp.time}) does not match the log: "
                f"entries up to "
                f"seq {cp.seq} were rewritten",
            )
        )
