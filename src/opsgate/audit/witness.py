"""Witnesses: places the writer cannot rewrite that keep copies of checkpoints.

A witness is a directory (one file per checkpoint, created exclusively, plus the
signing key pinned on first export), an append-only file (JSON Lines; its first
line pins the key), or an HTTP(S) endpoint that receives each checkpoint as a
POST.  Making the place unwritable for the writer (another host, another user,
``chattr +a``) is the operator's part; opsgate never overwrites what it wrote.

After a rotation a witness trusts the new key only through a key introduction
signed by a key it already trusts (:mod:`opsgate.audit.introduction`; a
``key-*.json`` file, or a line of the file).  A pin anywhere but the first
line — which the writer could append — is reported, never trusted.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from opsgate.audit.checkpoint import Checkpoint
from opsgate.audit.errors import AuditConfigError
from opsgate.audit.introduction import INTRODUCTION_TYPE, KeyIntroduction, trust_chain

__all__ = ["WitnessRecord", "export", "export_introduction", "read_witness"]

_KEY_FILE = "key.json"
_TIMEOUT = 5.0
_PIN = b'"opsgate.audit.key"'
_INTRO = f'"{INTRODUCTION_TYPE}"'.encode()


@dataclass
class WitnessRecord:
    """What a witness holds: the key ids it trusts (its pin, then the keys
    introduced from it), the checkpoints it received, and the key records it
    refused (each a sentence)."""

    source: str
    key_ids: list[str] = field(default_factory=list)
    checkpoints: list[bytes] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def export(cp: Checkpoint, witness: str) -> None:
    """Send one checkpoint to a witness; raises AuditConfigError on failure."""
    body = cp.body()
    try:
        if witness.startswith(("http://", "https://")):
            _post(witness, body)
        elif witness.endswith(os.sep) or Path(witness).is_dir():
            _to_dir(Path(witness), cp, body)
        else:
            _to_file(Path(witness), cp, body)
    except OSError as exc:
        raise AuditConfigError(
            f"cannot export checkpoint {cp.seq} to witness {witness}: {exc}",
            hint="check the witness path or URL (--witness / OPSGATE_AUDIT_WITNESS)",
        ) from exc


def export_introduction(intro: KeyIntroduction, witness: str) -> None:
    """Record a key introduction at a witness (pinning the introducing key first
    where nothing is pinned yet); raises AuditConfigError on failure."""
    body = intro.body()
    try:
        if witness.startswith(("http://", "https://")):
            _post(witness, body)
            return
        pin = _pin_line(intro.by, intro.by_public_key)
        if witness.endswith(os.sep) or Path(witness).is_dir():
            root = Path(witness)
            root.mkdir(parents=True, exist_ok=True)
            _write_new(root / _KEY_FILE, pin, same_ok=True)
            name = f"key-{intro.by.partition(':')[2]}-{intro.key_id.partition(':')[2]}.json"
            _write_new(root / name, body + b"\n", same_ok=True)
        else:
            _append(Path(witness), pin, body)
    except OSError as exc:
        raise AuditConfigError(
            f"cannot record the introduction of {intro.key_id} at witness {witness}: {exc}",
            hint="check the witness path or URL (--witness / OPSGATE_AUDIT_WITNESS)",
        ) from exc


def _pin_line(key_id: str, public_key: str) -> bytes:
    pin = {"type": "opsgate.audit.key", "key_id": key_id, "public_key": public_key}
    return json.dumps(pin).encode() + b"\n"


def _to_dir(root: Path, cp: Checkpoint, body: bytes) -> None:
    root.mkdir(parents=True, exist_ok=True)
    _write_new(root / _KEY_FILE, _pin_line(cp.key_id, cp.public_key), same_ok=True)
    _write_new(root / f"checkpoint-{cp.seq:012d}.json", body + b"\n", same_ok=True)


def _write_new(path: Path, data: bytes, *, same_ok: bool) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        if same_ok and path.read_bytes() == data:
            return
        if path.name == _KEY_FILE or path.name.startswith("key-"):
            return  # already pinned or introduced; never re-pinned, never rewritten
        raise OSError(
            f"{path} already exists with other content; a witness is never rewritten"
        ) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _to_file(path: Path, cp: Checkpoint, body: bytes) -> None:
    _append(path, _pin_line(cp.key_id, cp.public_key), body)


def _append(path: Path, pin: bytes, body: bytes) -> None:
    # O_APPEND: each write lands at the end even with concurrent writers.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(fd, "ab") as fh:
        if fh.tell() == 0:
            fh.write(pin)
        fh.write(body + b"\n")
        fh.flush()
        os.fsync(fh.fileno())


def _post(url: str, body: bytes) -> None:
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - the scheme is checked by the caller
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:  # noqa: S310
        if response.status >= 300:
            raise OSError(f"HTTP {response.status}")


def read_witness(witness: str, log: str | None = None) -> WitnessRecord:
    """Checkpoints and the trusted keys from a witness directory or file: the pin
    (``key.json``'s first line, or the file's first line), then the keys introduced
    from it (introductions of ``log`` only, when given).

    An HTTP(S) witness only receives checkpoints (a POST each); the protocol has
    no way to list or fetch them, so verify cannot read one: its operator mirrors
    what it received to a directory or JSON Lines file, and verify reads that."""
    if witness.startswith(("http://", "https://")):
        raise AuditConfigError(
            f"cannot read witness {witness}: an HTTP witness only receives checkpoints "
            "(POST); verify cannot list or fetch them",
            hint="mirror the checkpoints the endpoint received to a directory or JSON Lines "
            "file and pass that with --witness DIR|FILE",
        )
    path = Path(witness)
    try:
        if path.is_dir():
            pinned = path / _KEY_FILE
            lines = pinned.read_bytes().splitlines()[:1] if pinned.exists() else []
            for item in sorted(path.glob("key-*.json")) + sorted(path.glob("checkpoint-*.json")):
                lines.append(item.read_bytes().strip())
        else:
            lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise AuditConfigError(
            f"cannot read witness {witness}: {exc}", hint="pass --witness DIR|FILE"
        ) from exc
    return _record(witness, [ln.strip() for ln in lines if ln.strip()], log)


def _record(source: str, lines: list[bytes], log: str | None) -> WitnessRecord:
    record = WitnessRecord(source=source)
    anchor = _pin_of(lines[0]) if lines and _PIN in lines[0] else None
    intros: list[KeyIntroduction] = []
    for number, line in enumerate(lines):
        if _INTRO in line:
            try:
                intros.append(KeyIntroduction.parse(line))
            except ValueError as exc:
                record.problems.append(f"a key introduction is malformed ({exc})")
        elif _PIN in line:
            if number and _pin_of(line) != anchor:  # the writer can append; only line 1 pins
                record.problems.append(
                    f"a pin of {_pin_of(line) or 'an unreadable key'} after the first line — "
                    "only the first pin is trusted; a new key needs an introduction"
                )
        else:
            record.checkpoints.append(line)
    if anchor is not None:
        record.key_ids, refused = trust_chain(anchor, intros, log)
        record.problems += refused
    return record


def _pin_of(line: bytes) -> str | None:
    try:
        pinned = json.loads(line)["key_id"]
    except (ValueError, KeyError, TypeError):
        return None
    return pinned if isinstance(pinned, str) else None
