"""Witnesses: places the writer cannot rewrite that keep copies of checkpoints.

A witness is a directory (one file per checkpoint, created exclusively, plus the
signing key pinned on first export), an append-only file (JSON Lines; its first
line pins the key), or an HTTP(S) endpoint that receives each checkpoint as a
POST.  Making the place unwritable for the writer (another host, another user,
``chattr +a``) is the operator's part; opsgate never overwrites what it wrote.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from opsgate.audit.checkpoint import Checkpoint
from opsgate.audit.errors import AuditConfigError

__all__ = ["WitnessRecord", "export", "read_witness"]

_KEY_FILE = "key.json"
_TIMEOUT = 5.0


@dataclass
class WitnessRecord:
    """What a witness holds: its pinned key id and the checkpoints it received."""

    source: str
    key_ids: list[str] = field(default_factory=list)
    checkpoints: list[bytes] = field(default_factory=list)


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


def _pin_line(cp: Checkpoint) -> bytes:
    pin = {"type": "opsgate.audit.key", "key_id": cp.key_id, "public_key": cp.public_key}
    return json.dumps(pin).encode() + b"\n"


def _to_dir(root: Path, cp: Checkpoint, body: bytes) -> None:
    root.mkdir(parents=True, exist_ok=True)
    _write_new(root / _KEY_FILE, _pin_line(cp), same_ok=True)
    _write_new(root / f"checkpoint-{cp.seq:012d}.json", body + b"\n", same_ok=True)


def _write_new(path: Path, data: bytes, *, same_ok: bool) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        if same_ok and path.read_bytes() == data:
            return
        if path.name == _KEY_FILE:
            return  # already pinned; verify compares keys, export never re-pins
        raise OSError(
            f"{path} already exists with other content; a witness is never rewritten"
        ) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _to_file(path: Path, cp: Checkpoint, body: bytes) -> None:
    # O_APPEND: each write lands at the end even with concurrent writers.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(fd, "ab") as fh:
        if fh.tell() == 0:
            fh.write(_pin_line(cp))
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


def read_witness(witness: str) -> WitnessRecord:
    """Checkpoints and the pinned key from a witness directory or file.

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
    record = WitnessRecord(source=witness)
    try:
        if path.is_dir():
            lines = (
                (path / _KEY_FILE).read_bytes().splitlines() if (path / _KEY_FILE).exists() else []
            )
            for item in sorted(path.glob("checkpoint-*.json")):
                lines.append(item.read_bytes().strip())
        else:
            lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise AuditConfigError(
            f"cannot read witness {witness}: {exc}", hint="pass --witness DIR|FILE"
        ) from exc
    for line in filter(None, (ln.strip() for ln in lines)):
        if b'"opsgate.audit.key"' in line:
            try:
                pinned = json.loads(line)["key_id"]
            except (ValueError, KeyError, TypeError):
                pinned = None
            if isinstance(pinned, str) and pinned not in record.key_ids:
                record.key_ids.append(pinned)
        else:
            record.checkpoints.append(line)
    return record
