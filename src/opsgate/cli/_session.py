"""The session of ``opsgate login``: ``$OPSGATE_HOME/session.json`` (0600), bound to
the control plane it was opened on.  ``opsgate logout`` ends it on the server and
removes the file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from opsgate.errors import ConfigError

__all__ = ["SESSION_FILE", "Session", "forget", "load", "save"]

SESSION_FILE = "session.json"


@dataclass(frozen=True, slots=True)
class Session:
    url: str
    user: str
    secret: str
    created_at: float

    def __repr__(self) -> str:  # never show the secret
        return f"Session({self.user}@{self.url})"


def _path(home: Path) -> Path:
    return home / SESSION_FILE


def load(home: Path) -> Session | None:
    path = _path(home)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as f:
        if os.fstat(f.fileno()).st_mode & 0o077:
            raise ConfigError(f"{path} holds a session but other users can read it",
                              hint=f"chmod 600 {path}, or opsgate logout")  # fmt: skip
        try:
            data = json.loads(f.read(65536))
            return Session(str(data["url"]), str(data["user"]), str(data["secret"]),
                           float(data["created_at"]))  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path} is not a session file",
                              hint="remove it and run opsgate login again") from exc  # fmt: skip


def save(home: Path, session: Session) -> Path:
    """Write the file atomically, readable by this user only."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = _path(home)
    tmp = path.with_name(f".{SESSION_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump({"url": session.url, "user": session.user, "secret": session.secret,
                       "created_at": session.created_at}, out)  # fmt: skip
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def forget(home: Path) -> bool:
    try:
        _path(home).unlink()
    except FileNotFoundError:
        return False
    return True
