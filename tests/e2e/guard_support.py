"""Side effects an end-to-end guard test can check on the real filesystem: a web
server whose install script leaves a marker when it runs (``curl … | bash``), and a
``kubectl`` on PATH that leaves one when it runs (a staging restart).  Each marker's
absence proves the agent's tool call never ran; the control runs prove they would."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class SideEffects:
    root: Path
    url: str  # the install script's URL

    @property
    def fetched_ran(self) -> Path:
        return self.root / "fetched-script-ran"

    @property
    def kubectl_ran(self) -> Path:
        return self.root / "kubectl-ran"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def path(self) -> str:
        """PATH for the agent: the fake kubectl first, then opsgate's own programs."""
        opsgate_bin = str(Path(sys.executable).parent)
        return os.pathsep.join([str(self.bin), opsgate_bin, os.environ.get("PATH", "")])


@contextmanager
def side_effects(root: Path) -> Iterator[SideEffects]:
    root.mkdir(parents=True, exist_ok=True)
    fx = SideEffects(root, "")
    fx.bin.mkdir(exist_ok=True)
    kubectl = fx.bin / "kubectl"
    kubectl.write_text(f'#!/bin/sh\necho "$@" > "{fx.kubectl_ran}"\n')
    kubectl.chmod(0o755)
    script = f'#!/bin/sh\necho ran > "{fx.fetched_ran}"\n'.encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/x-sh")
            self.send_header("Content-Length", str(len(script)))
            self.end_headers()
            self.wfile.write(script)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    fx.url = f"http://127.0.0.1:{httpd.server_address[1]}/install.sh"
    try:
        yield fx
    finally:
        httpd.shutdown()
        httpd.server_close()
