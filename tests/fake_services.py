"""Decision services that misbehave, on a real Unix socket: for the hook clients'
fault tests and ``benchmarks/fuzz_native.py``.

Each behaviour handles one connection the way a broken, dying or hostile service
would: close at once, stop reading half-way, answer garbage or impossible lengths,
dribble, hang.  ``FakeService`` serves one behaviour at a path until closed.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["BEHAVIOURS", "FakeService"]


def _read_all(conn: socket.socket) -> None:
    conn.settimeout(10)
    while conn.recv(65536):
        pass


def _close(conn: socket.socket) -> None:
    return None


def _read_some_then_close(conn: socket.socket) -> None:
    conn.recv(100)


def _reply(data: bytes) -> Callable[[socket.socket], None]:
    def behave(conn: socket.socket) -> None:
        _read_all(conn)
        conn.sendall(data)

    return behave


def _reply_without_reading(conn: socket.socket) -> None:
    conn.sendall(b"OK 2 0 5\nnope\n")


def _dribble(conn: socket.socket) -> None:
    _read_all(conn)
    for byte in b"OK 0 0 0\n":
        conn.sendall(bytes([byte]))
        time.sleep(1.0)


def _hang(conn: socket.socket) -> None:
    _read_all(conn)
    time.sleep(8)


BEHAVIOURS: dict[str, Callable[[socket.socket], None]] = {
    "accepts-and-closes": _close,
    "stops-reading": _read_some_then_close,
    "answers-without-reading": _reply_without_reading,
    "short-reply": _reply(b"OK 0 10 0\nabc"),
    "garbage": _reply(b"\x00\xff garbage \n\n\x01"),
    "huge-lengths": _reply(b"OK 0 99999999999 0\n"),
    "wrapping-lengths": _reply(b"OK 0 18446744073709551615 1\nx"),
    "negative-length": _reply(b"OK 2 -1 5\nhello"),
    "exit-1": _reply(b"OK 1 0 0\n"),
    "retry": _reply(b"RETRY version\n"),
    "allows": _reply(b"OK 0 0 0\n"),
    "dribbles": _dribble,
    "hangs": _hang,
}


class FakeService:
    """Serve ``behaviour`` on ``path`` (replacing whatever is there) until closed."""

    def __init__(self, path: Path, behaviour: str) -> None:
        self.path = path
        self.behave = BEHAVIOURS[behaviour]
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.fake{os.getpid()}")
        self.server.bind(str(tmp))
        tmp.chmod(0o666)
        tmp.replace(path)
        self.server.listen(64)
        self.server.settimeout(0.2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            try:
                self.behave(conn)
            except OSError:
                return

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.server.close()

    def __enter__(self) -> FakeService:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
