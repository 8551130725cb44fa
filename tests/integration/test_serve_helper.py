"""The tests' own ``Serve`` (tests/servers.py): a server that writes more to stderr than
a pipe holds (64 KiB) keeps answering, because its stderr is always read — it used to
be a pipe nobody read unless ``merge_stderr=True``, and a server logging a line per
bad request blocked on it and hung the test."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

import httpx

from servers import Serve

LINE = "Invalid HTTP request received."  # uvicorn's warning, about 42 bytes a line


def _garbage(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GARBAGE\r\n\r\n")
        with contextlib.suppress(OSError):  # closed without an answer: a bad request's lot
            conn.recv(100)


def test_a_server_that_fills_its_stderr_keeps_answering(tmp_path: Path) -> None:
    serve = Serve(tmp_path / "home")  # stderr not merged: read into err_lines
    try:
        for _ in range(3000):  # about 126 KB of warnings: twice what a pipe holds
            _garbage(serve.port)
        assert httpx.get(f"{serve.url}/readyz", timeout=10).status_code == 200
    finally:
        serve.stop()
    assert sum(LINE in line for line in serve.err_lines) >= 2000, serve.err_lines[-3:]
    assert not any(LINE in line for line in serve.lines)  # stdout stays its own
