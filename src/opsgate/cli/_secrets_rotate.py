"""``opsgate secrets rotate-key --new-key-file FILE|-``: re-seal every stored secret
under a new key, in one transaction (``execute._rekey``).

Owners only, on the database directly (the data directory, or the shared
``database_url``), never through a server: the new key would have to travel over
the API to a process that cannot hand it to the other replicas anyway.  The new
key comes from a file only its owner can read, or from stdin — never from an
argument (argv is visible in ``ps`` and shell history) — and is never printed.
The current key is the configured one (``OPSGATE_SECRET_KEY`` or ``secret.key``),
with ``OPSGATE_SECRET_KEY_PREVIOUS`` also tried mid-rotation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from opsgate.errors import InputError

__all__ = ["add_parser"]

_MAX_KEY_TEXT = 4096  # a base64 key is 44 characters


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    rotate = sub.add_parser(
        "rotate-key",
        parents=[common],
        help="re-seal every stored secret under a new key (owners; on the database directly)",
        description="Re-seal every stored secret (values and helper commands) under a new "
        "key in one transaction: all or nothing. The current key is the configured one "
        "(OPSGATE_SECRET_KEY or secret.key; OPSGATE_SECRET_KEY_PREVIOUS is tried too). "
        "Runs where the database is (--data-dir, or OPSGATE_DATABASE_URL), never through "
        "a server. The procedure: docs/deploy.md, 'Rotating the secret store's key'.",
    )
    rotate.add_argument(
        "--new-key-file", required=True, metavar="FILE",
        help="the new key (32 bytes, base64: openssl rand -base64 32) in a file only you "
        "can read, or - to read it from stdin; never give a key as an argument",
    )  # fmt: skip
    rotate.set_defaults(func=rotate_key)


def rotate_key(ns: argparse.Namespace) -> int:
    from opsgate.cli._acting import acting_locally, remote_url
    from opsgate.config import current

    config = current()
    if remote_url(config) is not None:
        raise InputError(
            "`opsgate secrets rotate-key` runs on the database directly, not through a server "
            "(the new key is not sent over the API)",
            hint="run it where the database is: --data-dir DIR, or OPSGATE_DATABASE_URL with "
            "OPSGATE_URL unset; the key the replicas use in OPSGATE_SECRET_KEY",
        )
    new_key = _new_key(ns.new_key_file)
    from opsgate.approvals.control import SqlControlPlane
    from opsgate.execute._rekey import rotate_key as rotate
    from opsgate.execute.secrets import SecretStore

    with acting_locally(config) as (control, me):
        assert isinstance(control, SqlControlPlane)  # what open_control_plane opens
        key, previous = _current_keys(config, control.data_dir)
        store = SecretStore(key, previous=previous)
        done = rotate(control, me, store, new_key)
    following = _NEXT_SAME if new_key == key else _NEXT_OTHER
    if ns.json:
        from opsgate.cli._output import print_json

        print_json({"rotated": True, **done.to_json(), "next": " ".join(following.split())})
        return 0
    print(
        f"opsgate: re-sealed {done.total} secret(s) under the new key ({done.values} value(s), "
        f"{done.commands} helper command(s)) in one transaction.\n{following}"
    )
    return 0


_NEXT_SAME = """\
  The new key is the configured current key: once every replica runs with it, remove
  OPSGATE_SECRET_KEY_PREVIOUS (or execute.secret_key_previous_file), restart them, and
  destroy the old key."""
_NEXT_OTHER = """\
  Now give every replica the new key (OPSGATE_SECRET_KEY, or secret.key, mode 0600) and
  restart them: until then they cannot open the secrets (operations that need one fail)."""


def _current_keys(config: Any, data_dir: Path) -> tuple[bytes, bytes | None]:
    """The configured keys (current, previous); a key is never created here (a new
    one would open nothing, and a stray key file is worse than an error)."""
    from opsgate.execute.secrets import KEY_FILE, load_key, load_previous_key

    if not config.text("execute.secret_key") and not (data_dir / KEY_FILE).is_file():
        raise InputError(
            f"no current secret key: OPSGATE_SECRET_KEY is unset and {data_dir / KEY_FILE} "
            "does not exist",
            hint="set OPSGATE_SECRET_KEY to the key the control plane uses",
        )
    return load_key(data_dir), load_previous_key(data_dir)


def _new_key(where: str) -> bytes:
    from opsgate.execute.secrets import decode_key

    if where == "-":
        return decode_key(_from_stdin(), "stdin")
    path = Path(where).expanduser()
    if not path.exists():
        if _looks_like_a_key(where):
            raise InputError(
                "--new-key-file takes a file, and this looks like a key itself",
                hint="a key on the command line is in your shell history and `ps`: make "
                "another (openssl rand -base64 32 > FILE) and pass the file, or - for stdin",
            )
        raise InputError(f"the new key file {path} does not exist")
    try:
        if path.stat().st_mode & 0o077:
            raise InputError(f"the new key file {path} is readable by other users",
                             hint=f"chmod 600 {path}")  # fmt: skip
        with path.open("r", encoding="ascii") as fh:
            text = fh.read(_MAX_KEY_TEXT)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not base64 text"
        raise InputError(f"cannot read the new key file {path}: {reason}") from exc
    return decode_key(text, str(path))


def _from_stdin() -> str:
    if sys.stdin.isatty():
        import getpass

        try:
            return getpass.getpass("new secret key (base64, not shown): ")
        except EOFError:
            raise InputError("no new key was given") from None
    text = sys.stdin.read(_MAX_KEY_TEXT)
    if not text.strip():
        raise InputError("no new key on stdin", hint="openssl rand -base64 32 | opsgate …")
    return text


def _looks_like_a_key(text: str) -> bool:
    from opsgate.execute.errors import SecretError
    from opsgate.execute.secrets import decode_key

    try:
        decode_key(text, "the argument")
    except SecretError:
        return False
    return True
