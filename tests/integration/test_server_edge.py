"""The server's edge over a real socket (uvicorn, as ``opsgate serve`` runs it):
body size, slow bodies, slow headers, malformed and deeply nested JSON, lone
surrogates, and no third-party API docs page.

The server runs in a thread of the test on a free port, with short timeouts, so
slow clients are refused in a second rather than the default tens of seconds.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from test_server_api import Org, make_org

from opsgate.approvals.control import open_control_plane
from opsgate.server import AppConfig, create_app
from opsgate.server._edge import EdgeLimits
from opsgate.server._protocol import with_header_timeout

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import free_port

LIMITS = EdgeLimits(max_body=64 * 1024, body_timeout=1.0, header_timeout=1.0)
SAFE = {"tool": "Bash", "input": {"command": "ls -la"}}


@dataclass
class Live:
    url: str
    port: int
    org: Org
    home: Path

    def agent(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.org.agent_token}"}


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    import os

    for key in list(os.environ):
        if key.startswith("OPSGATE_"):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    control = open_control_plane(data_dir=home)
    org = make_org(control)
    app = create_app(control, config=AppConfig(limits=LIMITS, cookie_secure=False))
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        http=with_header_timeout(LIMITS.header_timeout),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Live(f"http://127.0.0.1:{port}", port, org, home)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        control.close()  # type: ignore[attr-defined]


def _raw(port: int, data: bytes, *, wait: float = 5.0) -> bytes:
    """Send ``data`` on a fresh connection; everything the server answers until it
    closes the connection (or ``wait`` passes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


def _envelope(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def test_a_declared_oversized_body_is_refused_before_it_is_read(live: Live) -> None:
    """The server answers on the headers alone: the client never sends the body."""
    request = (
        b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 209715200\r\n\r\n"
    )
    started = time.monotonic()
    status, body = _envelope(_raw(live.port, request))
    assert status == 413
    assert body["error"]["code"] == "too_large"  # type: ignore[index]
    assert time.monotonic() - started < 2


def test_a_chunked_body_is_counted_as_it_arrives(live: Live) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b"x" * 8192  # 512 KiB in all, over the 64 KiB limit

    r = httpx.post(
        f"{live.url}/api/v1/evaluate",
        content=chunks(),
        headers={**live.agent(), "content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"


def test_the_claude_hook_route_answers_an_oversized_body_with_a_deny(live: Live) -> None:
    """Claude Code runs the tool on any error status: the refusal is a 200 deny."""
    payload = {
        "hook_event_name": "PreToolUse",
        "tool_name": "Write",
        "tool_input": {"file_path": "/srv/x", "content": "x" * (128 * 1024)},
    }
    r = httpx.post(f"{live.url}/api/v1/hooks/claude", json=payload, headers=live.agent())
    assert r.status_code == 200
    out = r.json()["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    assert "larger than" in out["permissionDecisionReason"]


def test_a_dripping_body_is_refused_with_408(live: Live) -> None:
    request = (
        b"POST /api/v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + live.org.agent_token.encode() + b"\r\n"
        b'Content-Length: 1000\r\n\r\n{"tool":'
    )
    started = time.monotonic()
    status, body = _envelope(_raw(live.port, request, wait=10))
    elapsed = time.monotonic() - started
    assert status == 408, body
    assert body["error"]["code"] == "request_timeout"  # type: ignore[index]
    assert LIMITS.body_timeout <= elapsed < LIMITS.body_timeout + 3


def test_slow_headers_are_cut_off(live: Live) -> None:
    """A client that never finishes its headers (slowloris) is disconnected."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        for _ in range(20):
            time.sleep(0.2)
            try:
                sock.sendall(b"X-Drip: 1\r\n")
            except OSError:
                break
        assert sock.recv(1024) == b""  # closed by the server, without an answer
        assert time.monotonic() - started < LIMITS.header_timeout + 2
    # An idle connection is closed too, and a normal request still works.
    assert httpx.get(f"{live.url}/healthz").status_code == 200


def test_a_kept_alive_connection_still_serves_requests(live: Live) -> None:
    with httpx.Client(base_url=live.url) as client:
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
            time.sleep(LIMITS.header_timeout / 3)


@pytest.mark.parametrize("depth", [65, 900, 5_000, 100_000])
@pytest.mark.parametrize("route", ["/api/v1/evaluate", "/api/v1/propose"])
def test_deep_json_answers_the_error_envelope(live: Live, route: str, depth: int) -> None:
    body = '{"tool":"Bash","input":{"command":"ls","x":' + "[" * depth + "]" * depth + "}}"
    r = httpx.post(
        f"{live.url}{route}",
        content=body,
        headers={**live.agent(), "content-type": "application/json"},
    )
    assert r.status_code in (400, 413, 422), r.text  # 413: deeper than the body limit
    assert r.headers["content-type"] == "application/json"
    assert set(r.json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("body", ['{"tool": "Bash", "input": {', "[1,2", "\xff\xfe", "null"])
def test_malformed_json_answers_the_error_envelope(live: Live, body: str) -> None:
    r = httpx.post(
        f"{live.url}/api/v1/evaluate",
        content=body.encode("utf-8", "surrogateescape"),
        headers={**live.agent(), "content-type": "application/json"},
    )
    assert r.status_code in (400, 422), r.text
    assert set(r.json()["error"]) == {"code", "message", "details"}


def test_a_lone_surrogate_fails_only_its_own_request(live: Live) -> None:
    """One agent's ``\\ud800`` used to fail the audit batch it shared, so other
    agents' concurrent decisions got 503 (38 of 54 in the review)."""
    odd = '{"tool":"Bash","input":{"command":"echo \\ud800"}}'
    headers = {**live.agent(), "content-type": "application/json"}

    def send(n: int) -> int:
        with httpx.Client(base_url=live.url, headers=headers, timeout=30) as client:
            if n % 6 == 0:
                return client.post("/api/v1/evaluate", content=odd).status_code * -1
            return client.post("/api/v1/evaluate", json=SAFE).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(send, range(60)))
    legitimate = [c for c in codes if c > 0]
    assert legitimate == [200] * 50, codes
    assert {-c for c in codes if c < 0} == {422}


def test_the_hook_route_denies_a_lone_surrogate(live: Live) -> None:
    raw = (
        '{"hook_event_name":"PreToolUse","tool_name":"Bash",'
        '"tool_input":{"command":"rm -rf /srv/\\ud800"}}'
    )
    r = httpx.post(
        f"{live.url}/api/v1/hooks/claude",
        content=raw,
        headers={**live.agent(), "content-type": "application/json"},
    )
    assert r.status_code == 200
    assert r.json()["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_no_api_docs_page_loads_third_party_scripts(live: Live) -> None:
    for page in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert httpx.get(f"{live.url}{page}").status_code == 404
    assert httpx.get(f"{live.url}/openapi.json").json()["info"]["title"]
