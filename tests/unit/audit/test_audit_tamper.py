"""The tamper corpus: one named case per kind of tampering, each caught with the
right kind at the right sequence.  Tampering is done on the real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from audit_helpers import kinds, run_verify
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from opsgate.audit import EventType, open_log
from opsgate.audit.chain import genesis, link_hash
from opsgate.audit.checkpoint import Checkpoint, sign_checkpoint
from opsgate.audit.log import AuditLog


@pytest.fixture
def case(tmp_path: Path) -> tuple[AuditLog, Path]:
    """15 entries; checkpoints at seq 1 (store only) and 11 (store + witness)."""
    witness = tmp_path / "witness"
    log = open_log(tmp_path / "data")
    log.every = 10**9
    for i in range(10):
        _decision(log, i)
    log.checkpoint(str(witness) + "/")  # seq 11 signed; checkpoint.created is seq 12
    for i in range(10, 13):
        _decision(log, i)
    assert log.store.head()[0] == 15
    return log, witness


def _decision(log: AuditLog, i: int) -> None:
    log.append(
        EventType.DECISION_MADE,
        actor={"type": "agent", "name": "claude-code"},
        action={"kind": "shell.exec", "input": {"command": f"echo n{i:03d}"}},
        decision="allow",
    )


def _rows(con: sqlite3.Connection) -> list[tuple[int, bytes, bytes]]:
    return list(con.execute("SELECT seq, body, link FROM audit_entries ORDER BY seq"))


def _rewrite(con: sqlite3.Connection, rows: list[tuple[int, bytes, bytes]]) -> None:
    con.execute("DELETE FROM audit_entries")
    con.executemany("INSERT INTO audit_entries VALUES (?, ?, ?)", rows)


def _rehash(log_id: str, rows: list[tuple[int, bytes, bytes]]) -> list[tuple[int, bytes, bytes]]:
    """What an attacker without the key can do: recompute every link."""
    prev, out = genesis(log_id), []
    for seq, body, _ in rows:
        prev = link_hash(prev, seq, body)
        out.append((seq, body, prev))
    return out


def _body(seq: int, text: str) -> bytes:
    return json.dumps({"seq": seq, "event": "decision.made", "note": text}).encode()


def edit_body(con: sqlite3.Connection, log: AuditLog) -> None:
    con.execute(
        "UPDATE audit_entries SET body = CAST(REPLACE(CAST(body AS TEXT), 'n003', 'n004') AS BLOB)"
        " WHERE seq = 5"
    )


def edit_link(con: sqlite3.Connection, log: AuditLog) -> None:
    con.execute("UPDATE audit_entries SET link = zeroblob(32) WHERE seq = 5")


def edit_and_rehash_one(con: sqlite3.Connection, log: AuditLog) -> None:
    rows = _rows(con)
    seq, body, _ = rows[4]
    body = body.replace(b"n003", b"n004")
    rows[4] = (seq, body, link_hash(rows[3][2], seq, body))
    _rewrite(con, rows)


def rehash_everything(con: sqlite3.Connection, log: AuditLog) -> None:
    rows = _rows(con)
    rows[4] = (5, rows[4][1].replace(b"n003", b"n004"), b"")
    _rewrite(con, _rehash(log.log_id, rows))


def insert_renumbered(con: sqlite3.Connection, log: AuditLog) -> None:
    rows = _rows(con)
    forged = (5, _body(5, "forged"), link_hash(rows[3][2], 5, _body(5, "forged")))
    _rewrite(con, [*rows[:4], forged, *((s + 1, b, lk) for s, b, lk in rows[4:])])


def delete_gap(con: sqlite3.Connection, log: AuditLog) -> None:
    con.execute("DELETE FROM audit_entries WHERE seq = 5")


def delete_renumbered(con: sqlite3.Connection, log: AuditLog) -> None:
    rows = _rows(con)
    _rewrite(con, [*rows[:4], *((s - 1, b, lk) for s, b, lk in rows[5:])])


def reorder(con: sqlite3.Connection, log: AuditLog) -> None:
    rows = _rows(con)
    rows[4], rows[7] = (5, rows[7][1], rows[7][2]), (8, rows[4][1], rows[4][2])
    _rewrite(con, rows)


def truncate_tail(con: sqlite3.Connection, log: AuditLog) -> None:
    # A careful attacker also drops the store's own checkpoints past the cut;
    # only the witness still knows seq 11 existed.
    con.execute("DELETE FROM audit_entries WHERE seq >= 9")
    con.execute("DELETE FROM audit_checkpoints WHERE seq >= 9")


def forge_checkpoint(con: sqlite3.Connection, log: AuditLog) -> None:
    body = con.execute("SELECT body FROM audit_checkpoints WHERE seq = 11").fetchone()[0]
    doc = json.loads(body)
    doc["seq"] = 14  # claim a later head than was signed
    con.execute(
        "UPDATE audit_checkpoints SET body = ? WHERE seq = 11",
        (
            Checkpoint.parse(body)
            .__class__(
                **{
                    k: doc[k]
                    for k in ("log", "seq", "head", "time", "key_id", "public_key", "signature")
                }
            )
            .body(),
        ),
    )


def resign_checkpoints(con: sqlite3.Connection, log: AuditLog) -> None:
    """Rewrite history, re-hash it and re-sign every checkpoint with a new key."""
    rehash_everything(con, log)
    key = Ed25519PrivateKey.generate()
    con.execute("DELETE FROM audit_checkpoints")
    for seq, _, link in _rows(con):
        if seq in (1, 11):
            cp = sign_checkpoint(
                key, log=log.log_id, seq=seq, head=link, time="2030-01-01T00:00:00.000000Z"
            )
            con.execute("INSERT INTO audit_checkpoints VALUES (?, 0, ?)", (seq, cp.body()))


def foreign_checkpoint(con: sqlite3.Connection, log: AuditLog) -> None:
    body = con.execute("SELECT body FROM audit_checkpoints WHERE seq = 11").fetchone()[0]
    con.execute(
        "UPDATE audit_checkpoints SET body = ? WHERE seq = 11",
        (body.replace(log.log_id.encode(), b"0" * 32),),
    )


def change_log_identity(con: sqlite3.Connection, log: AuditLog) -> None:
    con.execute("UPDATE audit_meta SET value = ? WHERE key = 'log_id'", ("f" * 32,))


def garbage_body(con: sqlite3.Connection, log: AuditLog) -> None:
    con.execute("UPDATE audit_entries SET body = x'00ff' WHERE seq = 7")


CORPUS: dict[str, tuple[Callable[[sqlite3.Connection, AuditLog], None], tuple[int, str]]] = {
    "edit-entry-bytes": (edit_body, (5, "edited")),
    "edit-entry-hash": (edit_link, (5, "edited")),
    "edit-and-rehash-one-entry": (edit_and_rehash_one, (6, "edited")),
    "rehash-whole-chain-after-edit": (rehash_everything, (11, "rewritten")),
    "insert-and-renumber": (insert_renumbered, (6, "inserted")),
    "delete-leaving-gap": (delete_gap, (5, "deleted")),
    "delete-and-renumber": (delete_renumbered, (5, "deleted")),
    "reorder-two-entries": (reorder, (5, "reordered")),
    "truncate-tail-and-its-checkpoints": (truncate_tail, (9, "truncated")),
    "forge-checkpoint": (forge_checkpoint, (14, "forged")),
    "resign-with-another-key": (resign_checkpoints, (1, "resigned")),
    "checkpoint-from-another-log": (foreign_checkpoint, (11, "foreign")),
    "change-log-identity": (change_log_identity, (1, "edited")),
    "garbage-entry-bytes": (garbage_body, (7, "edited")),
}


def test_untampered_log_verifies(case: tuple[AuditLog, Path]) -> None:
    log, witness = case
    report = run_verify(log, witness)
    assert report.ok, report.summary()
    assert (report.entries, report.head_seq, report.checkpoints) == (15, 15, 2)


@pytest.mark.parametrize("name", list(CORPUS))
def test_tamper_is_detected(case: tuple[AuditLog, Path], name: str) -> None:
    log, witness = case
    tamper, expected = CORPUS[name]
    con = sqlite3.connect(log.store.location, isolation_level=None)  # type: ignore[attr-defined]
    tamper(con, log)
    con.close()
    report = run_verify(log, witness)
    assert not report.ok
    assert expected in kinds(report), report.summary()
    assert f"seq {expected[0]}: {expected[1]}" in report.summary()


def test_rehash_without_any_checkpoint_is_only_a_warning(tmp_path: Path) -> None:
    """The documented limit: with no checkpoint anywhere, a re-hashed chain is
    self-consistent.  Verify must say so rather than claim more."""
    from opsgate.audit.verify import verify

    log = open_log(tmp_path / "d")
    for i in range(5):
        _decision(log, i)
    report = verify(log.log_id, log.store.rows(), [], None)
    assert report.ok
    assert any("no signed checkpoints" in w for w in report.warnings)
