"""Issue 16 attacked from outside: ``opsgate serve`` (SQLite and PostgreSQL), the CLI
against it, the hook as a process, run as shipped by a hostile client on the same
machine or the network.

Black-box: every test drives real processes through their documented interfaces
(HTTP, the command line, the hook's JSON) and asserts what ``docs/*.md`` promise.
A strict xfail marks a promise that does not hold today, its finding in one line.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import OPSGATE, Serve, free_port, owner_password

MAX_BODY = 2 * 1024 * 1024
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


# --- helpers


def _env(home: Path | None, **extra: str) -> dict[str, str]:
    """A clean environment: none of the developer's OPSGATE_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    if home is not None:
        env["OPSGATE_HOME"] = str(home)
    env.update(extra)
    return env


def _cli(
    *args: str, env: dict[str, str], cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPSGATE, *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _login(url: str, name: str, password: str) -> httpx.Client:
    """A person's client: the session cookie, and this origin (the API takes the cookie
    for a state-changing call only from its own origin)."""
    r = httpx.post(f"{url}/api/v1/session", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    # the cookie by value: it is Secure where the public URL is not loopback (0.0.0.0)
    cookies = {"opsgate_session": r.cookies["opsgate_session"]}
    return httpx.Client(base_url=url, cookies=cookies, headers={"Origin": url}, timeout=30)


def _bearer(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _is_envelope(r: httpx.Response) -> bool:
    if not r.headers.get("content-type", "").startswith("application/json"):
        return False
    body = r.json()
    return (
        isinstance(body, dict) and isinstance(body.get("error"), dict) and "code" in body["error"]
    )


def _raw(port: int, data: bytes, *, timeout: float = 10) -> bytes:
    """Send raw bytes, return what the server answered before it closed or went quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with contextlib.suppress(OSError):  # it may close while we write (a refused body)
            s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
                if b"\r\n\r\n" in out and out.rstrip().endswith(b"}"):
                    break
        except OSError:
            pass
        return out


def _status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else 0


def _hook(home: Path, payload: dict[str, Any], **extra: str) -> dict[str, Any]:
    """The Claude Code hook as a real process (deciding in-process: no resident service
    outlives the test), fed the JSON the agent sends; its answer (``{}`` = no opinion)."""
    env = _env(home, OPSGATE_HOOK_DAEMON="0", **extra)
    proc = _cli("hook", "claude", env=env, stdin=json.dumps(payload))
    assert proc.returncode in (0, 2), proc.stderr
    out = proc.stdout.strip()
    return json.loads(out) if out else {}


def _decision(answer: dict[str, Any]) -> str:
    return str(answer.get("hookSpecificOutput", {}).get("permissionDecision", "allow"))


def _tool(cwd: Path, tool: str, **tool_input: str) -> dict[str, Any]:
    return {
        "hook_event_name": "PreToolUse",
        "session_id": "attack16",
        "cwd": str(cwd),
        "permission_mode": "default",
        "tool_name": tool,
        "tool_input": tool_input,
    }


# --- the SQLite server


class Edge:
    def __init__(self, serve: Serve) -> None:
        self.serve = serve
        self.url = serve.url
        self.port = serve.port
        self.home = serve.home
        password = owner_password(serve.home)
        assert password
        self.owner_password = password
        self.owner = _login(self.url, "owner", password)
        created = self.owner.post("/api/v1/tokens", json={"name": "agent16", "role": "agent"})
        assert created.status_code == 201, created.text
        self.agent_token: str = created.json()["secret"]
        self.agent = _bearer(self.url, self.agent_token)

    def pending_card(self, command: str) -> str:
        r = self.agent.post(
            "/api/v1/propose", json={"tool": "Bash", "input": {"command": command}, "cwd": "/tmp"}
        )
        assert r.status_code == 200, r.text
        card = r.json()["card"]
        assert card and card["state"] == "pending", r.text
        return str(card["id"])

    def add_user(self, name: str, password: str, role: str = "member") -> None:
        r = self.owner.post(
            "/api/v1/users", json={"name": name, "password": password, "role": role}
        )
        assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    home = tmp_path_factory.mktemp("edge16") / "home"
    serve = Serve(
        home,
        merge_stderr=True,
        extra_env={"OPSGATE_HEADER_TIMEOUT": "1", "OPSGATE_BODY_TIMEOUT": "1"},
    )
    try:
        edge = Edge(serve)
        yield edge
        edge.owner.close()
        edge.agent.close()
    finally:
        serve.stop()


def _ready(url: str) -> None:
    r = httpx.get(f"{url}/readyz", timeout=5)
    assert r.status_code == 200, r.text


# --- the edge: bodies


def _post_head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: x", "Content-Type: application/json", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_body_limit_holds_for_length_chunked_and_declared_sizes(edge: Edge) -> None:
    """Unauthenticated, before any route: 413 with the JSON envelope whether the size is
    declared, streamed in chunks, or only claimed."""
    big = b'{"name":"x","password":"' + b"a" * (MAX_BODY + 1024) + b'"}'
    declared = _raw(edge.port, _post_head("/api/v1/session", f"Content-Length: {len(big)}") + big)
    assert _status(declared) == 413, declared[:200]
    assert b'"code":"too_large"' in declared
    chunks = b"".join(
        b"%x\r\n" % len(big[i : i + 65536]) + big[i : i + 65536] + b"\r\n"
        for i in range(0, len(big), 65536)
    )
    chunked = _raw(
        edge.port,
        _post_head("/api/v1/session", "Transfer-Encoding: chunked") + chunks + b"0\r\n\r\n",
    )
    assert _status(chunked) == 413, chunked[:200]
    claimed = _raw(edge.port, _post_head("/api/v1/evaluate", "Content-Length: 999999999") + b"{}")
    assert _status(claimed) == 413, claimed[:200]
    _ready(edge.url)


def test_a_lying_content_length_is_refused_and_the_server_stays_up(edge: Edge) -> None:
    """Content-Length says 10, 3 MiB follow: the extra bytes are never a second request
    that succeeds, and the server keeps answering."""
    body = b"a" * (3 * 1024 * 1024)
    out = _raw(edge.port, _post_head("/api/v1/session", "Content-Length: 10") + body)
    assert out.count(b"HTTP/1.1 2") == 0, out[:300]
    assert _status(out) in (400, 413, 422), out[:300]
    _ready(edge.url)


def test_a_gzip_body_is_not_inflated_past_the_limit(edge: Edge) -> None:
    """3 KB of gzip that would inflate to 3 MiB: opsgate does not inflate request bodies, so
    the limit cannot be walked around by compression; a JSON error, never a 500."""
    inflated = b'{"name":"x","password":"' + b"a" * (3 * 1024 * 1024) + b'"}'
    packed = gzip.compress(inflated)
    r = httpx.post(
        f"{edge.url}/api/v1/session",
        content=packed,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert r.status_code in (400, 413, 415, 422), r.text
    assert _is_envelope(r), r.text


# --- the edge: slow clients


def test_slow_headers_are_cut_off(edge: Edge) -> None:
    """OPSGATE_HEADER_TIMEOUT=1: a client trickling headers is disconnected at ~1 s even
    though it keeps sending."""
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as s:
        start = time.monotonic()
        closed = False
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        for _ in range(20):
            time.sleep(0.25)
            try:
                s.sendall(b"X-Slow: 1\r\n")
            except OSError:
                closed = True
                break
        elapsed = time.monotonic() - start
    assert closed, "the trickling client was never disconnected"
    assert elapsed < 3.5, elapsed


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_slow_body_gets_408_with_the_envelope(edge: Edge, framing: str) -> None:
    header = "Content-Length: 100" if framing == "length" else "Transfer-Encoding: chunked"
    first = b'{"na' if framing == "length" else b'3\r\n{"n\r\n'
    start = time.monotonic()
    out = _raw(edge.port, _post_head("/api/v1/session", header) + first, timeout=8)
    assert _status(out) == 408, out[:300]
    assert b'"code":"request_timeout"' in out
    assert time.monotonic() - start < 4


def test_hundreds_of_stalled_bodies_do_not_stall_readiness(edge: Edge) -> None:
    socks = []
    try:
        for _ in range(300):
            s = socket.create_connection(("127.0.0.1", edge.port), timeout=5)
            s.sendall(_post_head("/api/v1/session", "Content-Length: 1000") + b"{")
            socks.append(s)
        start = time.monotonic()
        r = httpx.get(f"{edge.url}/readyz", timeout=10)
        assert r.status_code == 200
        assert time.monotonic() - start < 1.0
        decided = edge.agent.post(
            "/api/v1/evaluate", json={"tool": "Bash", "input": {"command": "ls"}}
        )
        assert decided.status_code == 200
    finally:
        for s in socks:
            s.close()


# --- the edge: JSON on every route


def _body_routes(url: str) -> list[tuple[str, str]]:
    """Every route of the API that takes a body, from the served schema."""
    schema = httpx.get(f"{url}/openapi.json").json()
    routes = []
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            if method in ("post", "put", "patch") or "requestBody" in op:
                concrete = (
                    path.replace("{card_id}", "c_0000000000000000")
                    .replace("{user_id}", "u_0000000000000000")
                    .replace("{token_id}", "t_0000000000000000")
                    .replace("{name}", "x")
                )
                routes.append((method.upper(), concrete))
    return routes


BAD_BODIES = {
    "nested-objects": b'{"tool":"Bash","input":' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}",
    "nested-arrays": b"[" * 100_000 + b"]" * 100_000,
    "truncated": b'{"tool":"Bash","input":{"command":"ls"',
    "not-utf8": b'{"tool":"\xff\xfe"}',
    "deep-but-parseable": b'{"tool":"Bash","input":{"command":"ls","x":'
    + b'{"a":' * 900
    + b"1"
    + b"}" * 900
    + b"}}",
}


@pytest.mark.parametrize("who", ["owner", "agent", "anonymous"])
def test_malformed_and_nested_json_answer_the_envelope_on_every_route(edge: Edge, who: str) -> None:
    client = {"owner": edge.owner, "agent": edge.agent}.get(who) or httpx.Client(
        base_url=edge.url, timeout=30
    )
    bad: list[str] = []
    for method, path in _body_routes(edge.url):
        for name, body in BAD_BODIES.items():
            r = client.request(
                method, path, content=body, headers={"Content-Type": "application/json"}
            )
            if path == "/api/v1/hooks/claude":
                # Claude Code's http hook reads a decision, not an envelope: it must block.
                ok = (r.status_code == 200 and "deny" in r.text) or r.status_code in (401, 403)
            else:
                ok = 400 <= r.status_code < 500 and _is_envelope(r)
            if not ok:
                bad.append(f"{method} {path} {name}: {r.status_code} {r.text[:80]!r}")
    if who == "anonymous":
        client.close()
    assert not bad, "\n".join(bad)


def test_deep_input_is_never_an_allow(edge: Edge) -> None:
    """Nesting the classifier would have to walk: refused (422) or denied, never allowed."""
    for depth in (200, 900):
        nest = {"a": 1}
        for _ in range(depth):
            nest = {"a": nest}
        for path in ("/api/v1/evaluate", "/api/v1/propose"):
            r = edge.agent.post(path, json={"tool": "Bash", "input": {"command": "ls", "x": nest}})
            assert r.status_code == 422 and _is_envelope(r), (depth, path, r.text[:200])
        r = edge.agent.post(
            "/api/v1/hooks/claude",
            json={
                "hook_event_name": "PreToolUse",
                "tool_name": "Bash",
                "session_id": "s",
                "cwd": "/tmp",
                "tool_input": {"command": "ls", "x": nest},
            },
        )
        assert r.json()["hookSpecificOutput"]["permissionDecision"] == "deny", r.text[:200]


def test_validation_errors_never_echo_a_password_or_secret(edge: Edge) -> None:
    """FastAPI's default 422 echoes the input: a password or a secret value would come
    back in the error (and into every log that records responses)."""
    secret = "Sup3r-S3cret-Value-16"
    tries: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/session", {"password": secret}),
        ("POST", "/api/v1/session", {"name": ["owner"], "password": secret}),
        ("POST", "/api/v1/session", {"name": "owner", "password": secret, "extra": secret}),
        ("POST", "/api/v1/users", {"name": "bob", "password": secret, "role": "emperor"}),
        ("POST", "/api/v1/users", {"name": {"x": 1}, "password": secret}),
        ("PUT", "/api/v1/secrets/db", {"value": [secret]}),
        ("PUT", "/api/v1/secrets/db", {"valu": secret}),
        ("PUT", "/api/v1/secrets/db", {"value": secret * 5000}),
        ("PUT", "/api/v1/users/u_0000000000000000/password", {"password": 1, "current": secret}),
    ]
    for method, path, body in tries:
        r = edge.owner.request(method, path, json=body)
        assert 400 <= r.status_code < 500, (path, r.text[:200])
        assert secret not in r.text, (path, r.text[:300])


# --- login throttling


def _try_login(url: str, name: str, password: str, address: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else {}
    return httpx.post(
        f"{url}/api/v1/session",
        json={"name": name, "password": password},
        headers=headers,
        timeout=30,
    )


def _audit(client: httpx.Client, **query: str) -> list[dict[str, Any]]:
    r = client.get("/api/v1/audit", params={"limit": "200", **query})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_account_lockout_counts_every_case_and_address_and_is_audited_once(edge: Edge) -> None:
    """Wrong passwords for "Carol16" spread over case variants and (spoofed) addresses
    still close the account; then the right password is refused with 429 and
    Retry-After, before it is checked; the lockout is one audit entry."""
    edge.add_user("carol16", "carol-right-password-16")
    variants = ["carol16", "CAROL16", "Carol16", "cArOl16", "CAROL16", "carol16"]
    for i, name in enumerate(variants):
        r = _try_login(edge.url, name, "wrong-password", address=f"198.51.100.{i + 1}")
        assert r.status_code in (401, 429), r.text
    right = _try_login(edge.url, "carol16", "carol-right-password-16", address="198.51.100.99")
    assert right.status_code == 429, right.text
    assert int(right.headers["retry-after"]) >= 1
    assert _is_envelope(right)
    for _ in range(3):  # more attempts while closed: no new audit entries
        _try_login(edge.url, "carol16", "wrong-password", address="198.51.100.98")
    locked = [
        e
        for e in _audit(edge.owner, event="user.login", outcome="locked")
        if "carol16" in json.dumps(e).lower()
    ]
    assert len(locked) == 1, locked


def test_name_variants_are_neither_the_account_nor_a_way_around_its_lock(edge: Edge) -> None:
    """While "dave16" is locked, padded, full-width and zero-width variants of the name
    with the right password do not log in as dave16."""
    edge.add_user("dave16", "dave-right-password-16")
    for i in range(7):
        _try_login(edge.url, "dave16", "wrong", address=f"198.51.101.{i + 1}")
    for name in (" dave16", "dave16 ", "ｄａｖｅ16", "dave16\u200b", "dave16\t", "DAVE16"):
        r = _try_login(edge.url, name, "dave-right-password-16", address="198.51.101.50")
        assert r.status_code in (401, 429), (name, r.status_code, r.text)


def test_a_locked_account_keeps_its_open_sessions_and_tokens(edge: Edge) -> None:
    """Lockout as a denial of service: a stranger's wrong passwords close the login form
    for the account, but the owner's open session and API tokens keep working."""
    edge.add_user("erin16", "erin-right-password-16", role="admin")
    erin = _login(edge.url, "erin16", "erin-right-password-16")
    token = erin.post("/api/v1/tokens", json={"name": "erin-script", "role": "viewer"})
    assert token.status_code == 201, token.text
    for i in range(8):
        _try_login(edge.url, "ERIN16", "wrong", address=f"198.51.102.{i + 1}")
    assert _try_login(edge.url, "erin16", "erin-right-password-16").status_code == 429
    assert erin.get("/api/v1/session").status_code == 200
    with _bearer(edge.url, token.json()["secret"]) as script:
        assert script.get("/api/v1/cards").status_code == 200
    erin.close()


def _until_429(attempt: Any, limit: int = 25) -> list[int]:
    codes: list[int] = []
    for i in range(limit):
        codes.append(attempt(i).status_code)
        if codes[-1] == 429:
            break
    return codes


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.254", 9))  # no packet is sent: just picks the route
        except OSError:
            return None
        address: str = s.getsockname()[0]
    return None if address.startswith("127.") else address


def test_spraying_many_names_closes_the_address_whatever_x_forwarded_for_says(
    tmp_path: Path,
) -> None:
    """One wrong password sprayed over many names, each try with a new X-Forwarded-For:
    from the network (uvicorn trusts the header only from 127.0.0.1) the address still
    closes after ~20 failures; a real user's right password from it is then refused,
    from elsewhere accepted.  (Without a non-loopback address here, the sprayer is one
    forwarded address seen through the loopback proxy.)"""
    network = _non_loopback_address()
    serve = Serve(tmp_path / "home", extra_env={"OPSGATE_HOST": "0.0.0.0"} if network else {})
    try:
        password = owner_password(serve.home)
        assert password
        with _login(serve.url, "owner", password) as owner:
            created = owner.post(
                "/api/v1/users", json={"name": "frank16", "password": "frank-right-password-16"}
            )
            assert created.status_code == 201, created.text
        if network:
            url = f"http://{network}:{serve.port}"
            codes = _until_429(lambda i: _try_login(url, f"ghost16-{i}", "w", f"10.1.{i}.1"))
            blocked = _try_login(url, "frank16", "frank-right-password-16", "10.9.9.9")
        else:
            url, sprayer = serve.url, "203.0.113.16"
            codes = _until_429(lambda i: _try_login(url, f"ghost16-{i}", "w", sprayer))
            blocked = _try_login(url, "frank16", "frank-right-password-16", sprayer)
        assert codes[-1] == 429 and len(codes) <= 22, codes
        assert blocked.status_code == 429, blocked.text
        elsewhere = _try_login(serve.url, "frank16", "frank-right-password-16", "203.0.113.17")
        assert elsewhere.status_code == 200, elsewhere.text
    finally:
        serve.stop()


# --- /docs, CSP, credentials on every route


def test_docs_are_off_and_pages_carry_the_csp(edge: Edge) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert httpx.get(f"{edge.url}{path}").status_code == 404, path
    assert httpx.get(f"{edge.url}/openapi.json").status_code == 200
    for path in ("/login", "/no-such-page"):
        r = httpx.get(f"{edge.url}{path}")
        if r.headers.get("content-type", "").startswith("text/html"):
            assert r.headers["content-security-policy"] == CSP, path
            assert r.headers["x-frame-options"] == "DENY"


OPEN_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/api/v1/session"),
    ("DELETE", "/api/v1/session"),
    ("POST", "/api/v1/hooks/claude"),  # answers a deny without a token (checked below)
    ("POST", "/api/v1/slack/interactions"),  # signed by Slack; refused when not configured
}


def _all_routes(url: str) -> list[tuple[str, str]]:
    schema = httpx.get(f"{url}/openapi.json").json()
    return [
        (
            m.upper(),
            p.replace("{card_id}", "c_0000000000000000")
            .replace("{user_id}", "u_0")
            .replace("{token_id}", "t_0")
            .replace("{name}", "x"),
        )
        for p, ops in schema["paths"].items()
        for m in ops
    ]


_ACTION = {"tool": "Bash", "input": {"command": "ls"}}
VALID_BODIES: dict[str, Any] = {
    "/api/v1/evaluate": _ACTION,
    "/api/v1/propose": _ACTION,
    "/api/v1/grants/check": _ACTION,
    "/api/v1/grants/consume": _ACTION,
}


@pytest.mark.parametrize(
    "credential", ["none", "garbage-bearer", "basic", "agent-token-as-cookie", "expired-session"]
)
def test_every_route_needs_a_credential(edge: Edge, credential: str) -> None:
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    if credential == "garbage-bearer":
        headers["Authorization"] = "Bearer og_" + "A" * 43
    elif credential == "basic":
        headers["Authorization"] = "Basic b3duZXI6b3duZXI="
    elif credential == "agent-token-as-cookie":
        cookies["opsgate_session"] = edge.agent_token
    elif credential == "expired-session":
        cookies["opsgate_session"] = "HdytAm22G-ljttwdls0mSQbTFvkPu6eZ8P8h5pf7xN8"
    bad = []
    with httpx.Client(
        base_url=edge.url, headers={"Origin": edge.url, **headers}, cookies=cookies
    ) as c:
        for method, path in _all_routes(edge.url):
            if (method, path) in OPEN_ROUTES:
                continue
            body = VALID_BODIES.get(path, {}) if method in ("POST", "PUT", "PATCH") else None
            r = c.request(method, path, json=body)
            if r.status_code != 401 or not _is_envelope(r):
                bad.append(f"{method} {path}: {r.status_code} {r.text[:80]}")
        hook = c.post("/api/v1/hooks/claude", json=_tool(Path("/tmp"), "Bash", command="ls"))
        assert "deny" in hook.text, hook.text
    assert not bad, "\n".join(bad)


AGENT_FORBIDDEN = [
    ("GET", "/api/v1/users", None),
    ("POST", "/api/v1/users", {"name": "evil", "password": "password-123", "role": "owner"}),
    ("PATCH", "/api/v1/users/{owner}", {"role": "viewer"}),
    ("POST", "/api/v1/users/{owner}/disable", None),
    ("PUT", "/api/v1/users/{owner}/password", {"password": "password-123"}),
    ("GET", "/api/v1/tokens", None),
    ("POST", "/api/v1/tokens", {"name": "t2", "role": "agent"}),
    ("PATCH", "/api/v1/settings", {"production_protection": False}),
    ("PATCH", "/api/v1/settings", {"write_actions": True}),
    (
        "PUT",
        "/api/v1/inventory/db",
        {"kind": "server", "environment": "development", "match": ["*"]},
    ),
    ("DELETE", "/api/v1/inventory/db", None),
    ("PUT", "/api/v1/secrets/db", {"value": "v"}),
    ("DELETE", "/api/v1/secrets/db", None),
    ("POST", "/api/v1/lockdown", {"reason": "x"}),
    ("POST", "/api/v1/lockdown/lift", {"reason": "x"}),
    ("GET", "/api/v1/audit", None),
    ("GET", "/api/v1/audit/verify", None),
    ("GET", "/metrics", None),
]


def test_an_agent_token_reaches_no_administrative_route(edge: Edge) -> None:
    owner_id = edge.owner.get("/api/v1/session").json()["user"]["id"]
    bad = []
    for method, path, body in AGENT_FORBIDDEN:
        r = edge.agent.request(method, path.replace("{owner}", owner_id), json=body)
        if r.status_code != 403:
            bad.append(f"{method} {path}: {r.status_code} {r.text[:100]}")
    assert not bad, "\n".join(bad)


def test_no_api_token_approves_by_any_path(edge: Edge, tmp_path: Path) -> None:
    """Agent, admin and owner API tokens alike: the API, the console's form, the CLI over
    OPSGATE_URL (environment or --token): never an approval; the card stays pending."""
    card = edge.pending_card("touch /etc/motd.d/attack16")
    tokens = {"agent": edge.agent_token}
    for role in ("admin", "owner"):
        r = edge.owner.post("/api/v1/tokens", json={"name": f"script-{role}", "role": role})
        assert r.status_code == 201, r.text
        tokens[role] = r.json()["secret"]
    for role, token in tokens.items():
        with _bearer(edge.url, token) as c:
            for verb, body in (("approve", {}), ("deny", {"reason": "x"})):
                r = c.post(f"/api/v1/cards/{card}/{verb}", json=body)
                assert r.status_code == 403, (role, verb, r.text)
            form = c.post(f"/cards/{card}/approve", data={"csrf": "x"})
            assert form.status_code in (401, 403), (role, form.status_code)
        env = _env(tmp_path, OPSGATE_URL=edge.url)
        for how in (
            ["approve", card],
            ["approve", card, "--token", token],
            ["deny", card, "--reason", "x"],
        ):
            run_env = {**env, "OPSGATE_TOKEN": token} if "--token" not in how else env
            proc = _cli(*how, env=run_env)
            assert proc.returncode == 4, (role, how, proc.stdout, proc.stderr)
            assert "--user" in proc.stderr, proc.stderr
    assert edge.owner.get(f"/api/v1/cards/{card}").json()["state"] == "pending"
    cancelled = edge.agent.post(f"/api/v1/cards/{card}/cancel")
    assert cancelled.status_code == 200


def test_login_session_file_is_0600_and_bound_to_its_server(edge: Edge, tmp_path: Path) -> None:
    """Under umask 000, `opsgate login` still writes a 0600 session; pointed at another
    server (an OPSGATE_URL the agent changed), the CLI never sends that session there."""
    home = tmp_path / "laptop"
    home.mkdir()
    env = _env(home, OPSGATE_URL=edge.url, OPSGATE_PASSWORD=edge.owner_password)
    old = os.umask(0)
    try:
        proc = _cli("login", "--user", "owner", env=env)
    finally:
        os.umask(old)
    assert proc.returncode == 0, proc.stderr
    session = home / "session.json"
    assert session.stat().st_mode & 0o777 == 0o600
    assert edge.owner_password not in proc.stdout + proc.stderr
    assert _cli("cards", "--json", env=_env(home, OPSGATE_URL=edge.url)).returncode == 0

    seen: list[str] = []
    catcher = _Catcher(seen)
    try:
        for url in (catcher.url, f"http://127.0.0.1:{edge.port}@127.0.0.1:{catcher.port}"):
            _cli("cards", env=_env(home, OPSGATE_URL=url))
            _cli("cards", "--url", url, env=_env(home))
    finally:
        catcher.stop()
    secret = json.loads(session.read_text())
    leaked = [h for h in seen if any(str(v) in h for v in secret.values() if len(str(v)) > 20)]
    assert not leaked, leaked


class _Catcher:
    """A stranger's HTTP server that records every request's headers."""

    def __init__(self, seen: list[str]) -> None:
        import http.server

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(str(self.headers))
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"error":{"code":"unauthenticated","message":"who?"}}')

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- secrets in logs, output, config show


AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY16"


def test_json_logs_carry_no_token_password_or_secret(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [
                OPSGATE,
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(home),
                "--create",
                "--log-format",
                "json",
                "--log-level",
                "debug",
            ],
            env=_env(home),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline
                try:
                    if httpx.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            password = owner_password(home)
            assert password
            owner = _login(url, "owner", password)
            session = owner.cookies["opsgate_session"]
            token = owner.post("/api/v1/tokens", json={"name": "a", "role": "agent"}).json()[
                "secret"
            ]
            secrets = [
                password,
                session,
                token,
                "QueryPass-16-xyz",
                "WrongPass-16-xyz",
                "SecretValue-16-xyz",
                "NewPassword-16-xyz",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCY16",
            ]
            httpx.get(
                f"{url}/api/v1/cards?token={token}&password=QueryPass-16-xyz",
                headers={"Authorization": f"Bearer {token}"},
            )
            httpx.post(
                f"{url}/api/v1/session", json={"name": "owner", "password": "WrongPass-16-xyz"}
            )
            httpx.post(f"{url}/api/v1/session", json={"name": "WrongPass-16-xyz", "password": "x"})
            with _bearer(url, token) as agent:
                agent.post(
                    "/api/v1/evaluate",
                    json={
                        "tool": "Bash",
                        "input": {"command": f"AWS_SECRET_ACCESS_KEY={AWS_SECRET} aws s3 ls"},
                    },
                )
            owner.put("/api/v1/secrets/db", json={"value": "SecretValue-16-xyz"})
            owner.post("/api/v1/users", json={"name": "bob", "password": "NewPassword-16-xyz"})
            owner.put("/api/v1/users/u_0/password", json={"password": "NewPassword-16-xyz"})
            owner.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    text = log.read_text()
    assert '"opsgate.access"' in text  # the JSON access lines are there
    found = [s for s in secrets if s in text]
    assert not found, found


def test_init_never_prints_the_owner_password_to_a_pipe(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = _cli("init", env=_env(home))
    assert proc.returncode == 0, proc.stderr
    password = owner_password(home)
    assert password and password not in proc.stdout + proc.stderr


SECRET_ENV = {
    "OPSGATE_DATABASE_URL": "postgresql://opsgate:DbPass16xyz@db.internal/opsgate",
    "OPSGATE_TOKEN": "og_TokenValue16xyzTokenValue16xyzTokenValue1",
    "OPSGATE_PASSWORD": "PasswordValue16xyz",
    "OPSGATE_WEBHOOK_URL": "https://hooks.example/T0/B0/WebhookPath16xyz",
    "OPSGATE_WEBHOOK_SECRET": "WebhookSecret16xyz",
    "OPSGATE_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/SlackPath16xyz",
    "OPSGATE_SLACK_BOT_TOKEN": "xoxb-16-SlackBot16xyz",
    "OPSGATE_SLACK_SIGNING_SECRET": "SlackSigning16xyz",
    "OPSGATE_SECRET_KEY": "U2VjcmV0S2V5MTZ4eXpTZWNyZXRLZXkxNnh5ejEyMzQ=",
    "OPSGATE_SECRET_KEY_PREVIOUS": "UHJldmlvdXMxNnh5elByZXZpb3VzMTZ4eXoxMjM0NTY=",
}


def _needles() -> list[str]:
    return [
        "DbPass16xyz",
        "TokenValue16xyz",
        "PasswordValue16xyz",
        "WebhookPath16xyz",
        "WebhookSecret16xyz",
        "SlackPath16xyz",
        "SlackBot16xyz",
        "SlackSigning16xyz",
        "U2VjcmV0S2V5MTZ4",
        "UHJldmlvdXMxNnh5",
    ]


def test_config_show_masks_every_secret_from_env_and_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    for fmt in ([], ["--json"]):
        proc = _cli("config", "show", *fmt, env=_env(home, **SECRET_ENV))
        assert proc.returncode == 0, proc.stderr
        shown = proc.stdout + proc.stderr
        assert not [n for n in _needles() if n in shown], shown
    config = home / "config.toml"
    config.write_text(
        'database_url = "postgresql://opsgate:DbPass16xyz@db.internal/opsgate"\n'
        '[notify]\nwebhook_secret = "WebhookSecret16xyz"\n'
        'slack_bot_token = "xoxb-16-SlackBot16xyz"\n'
    )
    config.chmod(0o644)
    loose = _cli("config", "show", env=_env(home))
    assert loose.returncode == 9 and "chmod 600" in loose.stderr, loose.stderr
    assert not [n for n in _needles() if n in loose.stdout + loose.stderr]
    config.chmod(0o600)
    for fmt in ([], ["--json"]):
        proc = _cli("config", "show", *fmt, env=_env(home))
        assert proc.returncode == 0, proc.stderr
        assert not [n for n in _needles() if n in proc.stdout + proc.stderr], proc.stdout


def test_metrics_and_errors_carry_no_secret(edge: Edge) -> None:
    for i in range(3):  # an agent choosing path segments must not choose label values
        edge.agent.post(
            f"/api/v1/operations/evil16-{i}/propose", json={"target": "x", "params": {}}
        )
    r = edge.owner.get("/metrics")
    assert r.status_code == 200
    assert "evil16-" not in r.text
    assert edge.agent_token not in r.text and edge.owner_password not in r.text
    for line in r.text.splitlines():
        if line.startswith("opsgate_decision_seconds") and "route=" in line:
            assert 'route="/api/v1/' in line, line


# --- configuration


def test_flags_beat_environment_beat_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    file_port, env_port = free_port(), free_port()
    (home / "config.toml").write_text(f"[server]\nport = {file_port}\n")

    def shown(env: dict[str, str]) -> dict[str, Any]:
        proc = _cli("config", "show", "--json", env=env)
        assert proc.returncode == 0, proc.stderr
        return {s["key"]: s for s in json.loads(proc.stdout)["settings"]}

    from_env = shown(_env(home, OPSGATE_PORT=str(env_port)))["server.port"]
    assert (from_env["value"], from_env["source"]) == (env_port, "environment OPSGATE_PORT")
    from_file = shown(_env(home))["server.port"]
    assert from_file["value"] == file_port and from_file["source"].startswith("file")
    serve = Serve(home, extra_env={"OPSGATE_PORT": str(env_port)})  # --port: a third port
    try:
        for other in (file_port, env_port):
            with pytest.raises(httpx.TransportError):
                httpx.get(f"http://127.0.0.1:{other}/healthz", timeout=1)
    finally:
        serve.stop()


def test_explicit_user_and_data_dir_beat_the_environment(edge: Edge, tmp_path: Path) -> None:
    """The tour's step 4 in the shell of step 3: an exported agent token and database URL
    do not override `--user owner` or `--data-dir`."""
    env = _env(
        tmp_path,
        OPSGATE_URL=edge.url,
        OPSGATE_TOKEN=edge.agent_token,
        OPSGATE_PASSWORD=edge.owner_password,
    )
    as_agent = _cli("users", "list", "--json", env=env)
    assert as_agent.returncode == 4, as_agent.stdout
    as_owner = _cli("users", "list", "--json", "--user", "owner", env=env)
    assert as_owner.returncode == 0, as_owner.stderr
    assert any(u["name"] == "owner" for u in json.loads(as_owner.stdout))
    local = _cli(
        "audit",
        "verify",
        "--json",
        "--data-dir",
        str(edge.home),
        env=_env(None, OPSGATE_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none"),
    )
    assert local.returncode == 0, local.stderr


DENY_LS = (
    "version: 1\nrules:\n"
    '  - {id: no-ls, action: shell.exec, resource: "ls*", effect: deny, reason: "ls banned"}\n'
)


def test_a_config_file_in_the_project_is_not_read(tmp_path: Path) -> None:
    """An agent writes config files into its own project: neither check nor the hook
    takes a setting from them."""
    home = tmp_path / "home"
    home.mkdir()
    project = tmp_path / "project"
    (project / ".opsgate").mkdir(parents=True)
    planted = tmp_path / "planted.yaml"
    planted.write_text(DENY_LS)
    for name in ("config.toml", ".opsgate/config.toml", "opsgate.toml", ".opsgate.toml"):
        (project / name).write_text(f'policy = "{planted}"\n')
    proc = _cli("check", "--", "ls", env=_env(home), cwd=project)
    assert proc.returncode == 0, proc.stdout
    assert _decision(_hook(home, _tool(project, "Bash", command="ls"))) == "allow"
    # the same file as the data directory's own config.toml is read, by both
    (home / "config.toml").write_text(f'policy = "{planted}"\n')
    assert _cli("check", "--", "ls", env=_env(home), cwd=project).returncode == 11
    assert _decision(_hook(home, _tool(project, "Bash", command="ls"))) == "deny"


def test_a_mistyped_data_dir_is_an_error_for_the_admin_commands_and_serve(tmp_path: Path) -> None:
    typo = tmp_path / "opsgaet"
    for args, env in (
        (["cards"], _env(typo)),
        (["cards", "--data-dir", str(typo)], _env(None)),
        (["audit", "verify"], _env(typo)),
        (["serve", "--data-dir", str(typo), "--port", str(free_port())], _env(None)),
    ):
        proc = _cli(*args, env=env)
        assert proc.returncode == 9, (args, proc.stderr)
        assert "does not exist" in proc.stderr
        assert not typo.exists(), args


def test_a_mistyped_data_dir_is_an_error_for_check(tmp_path: Path) -> None:
    typo = tmp_path / "opsgaet"
    proc = _cli("check", "--", "ls", env=_env(typo))
    assert proc.returncode == 9, proc.stdout
    assert not typo.exists()


def test_a_mistyped_data_dir_in_the_hook_blocks_and_creates_nothing(tmp_path: Path) -> None:
    typo = tmp_path / "opsgaet"
    answer = _hook(typo, _tool(tmp_path, "Bash", command="ls"))
    assert not typo.exists()
    assert _decision(answer) == "deny"


# --- the agent against its guard's configuration


def _write(cwd: Path, path: Path, content: str = "version: 1\nrules: []\n") -> dict[str, Any]:
    return _tool(cwd, "Write", file_path=str(path), content=content)


def _bash(cwd: Path, command: str) -> dict[str, Any]:
    return _tool(cwd, "Bash", command=command)


def test_the_hook_guards_its_config_session_and_connect_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    attempts = [
        _write(project, home / "config.toml", 'policy = "/tmp/allow.yaml"\n'),
        _bash(project, f"echo 'policy = \"/tmp/allow.yaml\"' >> {home}/config.toml"),
        _write(project, home / "policy.yaml"),
        _bash(project, f"sed -i 's/deny/allow/' {home}/policy.yaml"),
        _write(project, Path("/etc/opsgate/config.toml"), "[server]\n"),
        _write(project, home / "connect.json", '{"url": "http://127.0.0.1:1"}'),
        _tool(project, "Read", file_path=str(home / "session.json")),
        _bash(project, f"cat {home}/session.json"),
        _write(
            project, project / ".claude" / "settings.json", '{"env": {"OPSGATE_HOOK_DAEMON": "0"}}'
        ),
        _bash(project, "OPSGATE_URL=http://127.0.0.1:8470 opsgate approve c_0123456789abcdef"),
    ]
    allowed = [a["tool_input"] for a in attempts if _decision(_hook(home, a)) != "deny"]
    assert not allowed, allowed


@pytest.mark.parametrize("named_by", ["config-file", "environment"])
def test_the_hook_guards_the_policy_file_it_obeys(tmp_path: Path, named_by: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    policy = tmp_path / "policies" / "team-rules.yaml"
    policy.parent.mkdir()
    policy.write_text(DENY_LS)
    extra: dict[str, str] = {}
    if named_by == "config-file":
        (home / "config.toml").write_text(f'policy = "{policy}"\n')
    else:
        extra["OPSGATE_POLICY"] = str(policy)
    # the hook obeys that file ...
    assert _decision(_hook(home, _bash(project, "ls"), **extra)) == "deny"
    # ... and so must not let the agent rewrite it
    attempts = [
        _write(
            project, policy, "version: 1\nsettings: {production_protection: false}\nrules: []\n"
        ),
        _bash(project, f"sed -i 's/deny/allow/' {policy}"),
        _bash(project, f"cp /dev/null {policy}"),
        _tool(project, "Edit", file_path=str(policy), old_string="deny", new_string="allow"),
    ]
    allowed = [a["tool_input"] for a in attempts if _decision(_hook(home, a, **extra)) != "deny"]
    assert not allowed, allowed


def test_the_hook_guards_the_config_file_named_by_opsgate_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    config = tmp_path / "etc" / "site.toml"
    config.parent.mkdir()
    config.write_text("[audit]\ncheckpoint_every = 1000\n")
    attempt = _write(project, config, f'policy = "{tmp_path}/mine.yaml"\n')
    assert _decision(_hook(home, attempt, OPSGATE_CONFIG=str(config))) == "deny"


def test_the_hook_guards_its_files_against_downloads(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    url = "https://example.com/x"
    attempts = [
        f"curl -s -o {home}/config.toml {url}",
        f"curl --output {home}/policy.yaml {url}",
        f"curl -s {url} -o {home}/connect.json",
        f"wget -q -O {home}/config.toml {url}",
        f"wget -O {home}/session.json {url}",
        f"curl -o {project}/.claude/settings.json {url}",
    ]
    allowed = [c for c in attempts if _decision(_hook(home, _bash(project, c))) != "deny"]
    assert not allowed, allowed


def test_the_hook_guards_its_audit_log_against_sql(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    _hook(home, _bash(project, "ls"))  # the hook's own audit.db now exists
    assert (home / "audit.db").exists()
    attempts = [
        f'sqlite3 {home}/audit.db "DELETE FROM audit_entries"',
        f'sqlite3 {home}/audit.db "DROP TABLE audit_entries"',
        f"sqlite3 {home}/audit.db \"UPDATE audit_entries SET body = 'x'\"",
        f'cd {home} && sqlite3 audit.db "DELETE FROM audit_checkpoints"',
    ]
    allowed = [c for c in attempts if _decision(_hook(home, _bash(project, c))) != "deny"]
    assert not allowed, allowed


def _daemons_for(home: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"opsgate.hooks._daemon" in argv and str(home).encode() in argv:
            pids.append(int(entry.name))
    return pids


def test_hook_daemon_false_means_false(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shown = _cli("config", "show", "--json", env=_env(home, OPSGATE_HOOK_DAEMON="false"))
    daemon = {s["key"]: s for s in json.loads(shown.stdout)["settings"]}["hook.daemon"]
    assert daemon["value"] is False, daemon
    env = _env(home, OPSGATE_HOOK_DAEMON="false")
    _cli("hook", "claude", env=env, stdin=json.dumps(_bash(tmp_path, "ls")))
    time.sleep(0.5)
    started = _daemons_for(home)
    for pid in started:
        os.kill(pid, 15)
    assert not started


# --- scripts


@pytest.mark.parametrize(
    ("command", "code", "verdict"),
    [
        ("ls -la", 0, "allow"),
        ("rm -rf /srv/data", 10, "require_approval"),
        ("cat ~/.aws/credentials", 11, "deny"),
    ],
)
def test_check_exit_codes_tell_the_verdict(
    tmp_path: Path, command: str, code: int, verdict: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    plain = _cli("check", "--", command, env=_env(home))
    assert plain.returncode == code, plain.stdout
    as_json = _cli("check", "--json", "--", command, env=_env(home))
    assert as_json.returncode == code
    assert json.loads(as_json.stdout)["decision"] == verdict


def test_check_failures_are_not_verdicts(tmp_path: Path) -> None:
    """A broken policy or config is its own code, never 0 (allow) nor 10/11."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "policy.yaml").write_text("version: 1\nrules: [{effect: maybe}]\n")
    assert _cli("check", "--", "ls", env=_env(home)).returncode == 3
    (home / "policy.yaml").unlink()
    (home / "config.toml").write_text("polcy = 'x'\n")
    bad = _cli("check", "--", "ls", env=_env(home))
    assert bad.returncode == 9 and "policy" in bad.stderr, bad.stderr


def test_policy_settings_mean_the_same_in_check_hook_and_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "policy.yaml").write_text(
        "version: 1\nsettings: {write_actions: false, approval_ttl: 1h}\nrules: []\n"
    )
    write = "touch /etc/motd.d/attack16"
    checked = _cli("check", "--json", "--", write, env=_env(home))
    assert checked.returncode == 11
    assert json.loads(checked.stdout)["decided_by"] == "settings.write_actions"
    hooked = _hook(home, _bash(tmp_path, write))
    assert _decision(hooked) == "deny"
    assert "Write Actions" in json.dumps(hooked) or "write_actions" in json.dumps(hooked)
    serve = Serve(home)
    try:
        password = owner_password(home)
        assert password
        with _login(serve.url, "owner", password) as owner:
            settings = owner.get("/api/v1/settings").json()
            assert settings["write_actions"] is False and settings["approval_ttl_seconds"] == 3600
            token = owner.post("/api/v1/tokens", json={"name": "a", "role": "agent"}).json()[
                "secret"
            ]
            with _bearer(serve.url, token) as agent:
                r = agent.post(
                    "/api/v1/evaluate", json={"tool": "Bash", "input": {"command": write}}
                )
                assert (
                    r.json()["decision"] == "deny"
                    and r.json()["decided_by"] == "settings.write_actions"
                )
            for patch in ({"write_actions": True}, {"approval_ttl_seconds": 60}):
                refused = owner.patch("/api/v1/settings", json=patch)
                assert refused.status_code == 409 or refused.status_code == 422, refused.text
                assert "policy file" in refused.text
    finally:
        serve.stop()


@pytest.mark.parametrize("ttl", ["0s", "10s", "400d"])
def test_policy_approval_ttl_outside_the_bounds_is_refused(tmp_path: Path, ttl: str) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"version: 1\nsettings: {{approval_ttl: {ttl}}}\nrules: []\n")
    proc = _cli("policy", "validate", str(policy), env=_env(tmp_path))
    assert proc.returncode == 3, proc.stdout


def _export(*args: str, env: dict[str, str]) -> list[dict[str, Any]]:
    proc = _cli("audit", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_audit_export_honours_filters_and_resumes_locally_and_through_the_server(
    edge: Edge, tmp_path: Path
) -> None:
    for i in range(3):
        edge.agent.post("/api/v1/evaluate", json={"tool": "Bash", "input": {"command": f"ls /{i}"}})
    local = _env(None, OPSGATE_HOME=str(edge.home))
    everything = _export("export", env=local)
    seqs = [e["seq"] for e in everything]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    middle = seqs[len(seqs) // 2]
    remote = _env(
        tmp_path, OPSGATE_URL=edge.url, OPSGATE_PASSWORD=edge.owner_password, OPSGATE_USER="owner"
    )
    for env in (local, remote):
        decisions = _export("--filter", "event:decision.*", "export", env=env)
        assert decisions and {e["event"] for e in decisions} == {"decision.made"}
        after = _export("export", "--after-seq", str(middle), env=env)
        expected = [s for s in seqs if s > middle]  # and whatever was appended since
        assert [e["seq"] for e in after][: len(expected)] == expected
        both = _export(
            "--filter",
            "event:decision.*",
            "--actor",
            "agent16",
            "export",
            "--after-seq",
            str(middle),
            env=env,
        )
        assert all(e["seq"] > middle and e["event"] == "decision.made" for e in both)
        assert all(e["actor"]["name"] == "agent16" for e in both)
        assert _export("export", "--since", "2999-01-01T00:00:00Z", env=env) == []


def test_audit_backup_of_a_running_server_verifies_offline(edge: Edge, tmp_path: Path) -> None:
    edge.agent.post("/api/v1/evaluate", json={"tool": "Bash", "input": {"command": "ls"}})
    dest = tmp_path / "audit-backup.db"
    backed = _cli("audit", "backup", str(dest), "--json", env=_env(edge.home))
    assert backed.returncode == 0, backed.stderr
    report = json.loads(backed.stdout)
    assert dest.stat().st_mode & 0o777 == 0o600
    elsewhere = tmp_path / "verifier"
    elsewhere.mkdir()  # another machine: its own (different) signing key
    _cli("init", env=_env(elsewhere))
    verified = _cli(
        "audit",
        "verify",
        "--db",
        str(dest),
        "--key",
        report["public_key"],
        "--json",
        env=_env(elsewhere),
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["entries"] == report["entries"]
    import sqlite3

    with sqlite3.connect(dest) as db:  # the copy says an allowed action was denied
        seq, body = next(
            (seq, body)
            for seq, body in db.execute("SELECT seq, body FROM audit_entries")
            if b'"decision":"allow"' in body
        )
        forged = body.replace(b'"decision":"allow"', b'"decision":"deny"')
        db.execute("UPDATE audit_entries SET body = ? WHERE seq = ?", (forged, seq))
    tampered = _cli(
        "audit", "verify", "--db", str(dest), "--key", report["public_key"], env=_env(elsewhere)
    )
    assert tampered.returncode == 8, tampered.stdout + tampered.stderr


# --- a replica when PostgreSQL restarts


class _Load:
    """Decisions sent back to back on a thread: (sent, answered, status, verdict)."""

    def __init__(self, url: str, token: str) -> None:
        self.client = _bearer(url, token)
        self.client.timeout = httpx.Timeout(5)
        self.seen: list[tuple[float, float, int, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            path, command = (
                ("/api/v1/evaluate", f"ls /srv/{i}")
                if i % 2
                else ("/api/v1/propose", f"touch /etc/motd.d/{i}")
            )
            sent = time.monotonic()
            try:
                r = self.client.post(path, json={"tool": "Bash", "input": {"command": command}})
                status = r.status_code
                body = r.json() if status == 200 else {}
                verdict = str(
                    (body.get("decision") or {}).get("decision", "")
                    if path.endswith("propose")
                    else body.get("decision", "")
                )
            except (httpx.TransportError, ValueError):
                status, verdict = 0, ""
            self.seen.append((sent, time.monotonic(), status, verdict))
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.client.close()


def _wait_for(predicate: Any, within: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not within {within} s")


def _readyz(url: str) -> int:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code
    except httpx.TransportError:
        return 0


@pytest.mark.postgres
def test_a_postgres_restart_never_yields_an_allow_and_recovers(tmp_path: Path) -> None:
    from pg_cluster import missing_reason, pg_server

    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    with pg_server() as cluster:
        home = tmp_path / "replica"
        serve = Serve(home, env={"OPSGATE_DATABASE_URL": cluster.url}, merge_stderr=True)
        load: _Load | None = None
        try:
            password = owner_password(home)
            assert password
            with _login(serve.url, "owner", password) as owner:
                token = owner.post("/api/v1/tokens", json={"name": "a", "role": "agent"}).json()[
                    "secret"
                ]
            load = _Load(serve.url, token)
            time.sleep(0.5)

            cluster.stop("immediate")  # the database goes away
            down = time.monotonic()
            _wait_for(lambda: _readyz(serve.url) == 503, within=5)
            assert httpx.get(f"{serve.url}/healthz").status_code == 200  # alive, not ready
            time.sleep(1.0)
            up_started = time.monotonic()
            cluster.start()
            back = time.monotonic()
            recovered = _wait_for(lambda: _readyz(serve.url) == 200, within=10)
            _wait_for(lambda: any(s[0] > back and s[2] == 200 for s in load.seen), within=10)

            cluster.restart("immediate")  # and once more, the restart of the issue
            restarted = time.monotonic()
            _wait_for(lambda: any(s[0] > restarted and s[2] == 200 for s in load.seen), within=10)
            time.sleep(0.3)
        finally:
            if load:
                load.stop()
            serve.stop()
        assert load is not None
        outage = [s for s in load.seen if s[0] > down + 0.2 and s[1] < up_started]
        assert outage, "no request was sent while the database was down"
        answered = [s for s in outage if s[2] == 200]
        assert not answered, answered[:5]
        assert {s[2] for s in outage} <= {503, 0}, {s[2] for s in outage}
        assert recovered < 10
        acknowledged = [s for s in load.seen if s[2] == 200]
        env = _env(home, OPSGATE_DATABASE_URL=cluster.url)
        verified = _cli("audit", "verify", "--json", env=env)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        decisions = _export("--filter", "event:decision.*", "export", env=env)
        cards = _export("--filter", "event:card.created", "export", env=env)
        assert len(decisions) + len(cards) >= len(acknowledged)


# --- more of the edge: the metrics listener, a login flood, MCP


def test_the_metrics_listener_serves_metrics_only(tmp_path: Path) -> None:
    """OPSGATE_METRICS_ADDRESS serves /metrics without credentials: never the API."""
    metrics_port = free_port()
    serve = Serve(
        tmp_path / "home", extra_env={"OPSGATE_METRICS_ADDRESS": f"127.0.0.1:{metrics_port}"}
    )
    try:
        base = f"http://127.0.0.1:{metrics_port}"
        assert "opsgate_build_info" in httpx.get(f"{base}/metrics").text
        for path in ("/api/v1/cards", "/api/v1/users", "/openapi.json", "/login"):
            r = httpx.get(f"{base}{path}")
            assert '"items"' not in r.text and "<form" not in r.text and '"paths"' not in r.text
        assert httpx.post(f"{base}/api/v1/session", json={}).status_code >= 400
    finally:
        serve.stop()


def test_a_login_flood_is_refused_fast_without_stalling_readiness(edge: Edge) -> None:
    """300 concurrent wrong passwords: most refused at once (429), memory bounded,
    /readyz keeps answering quickly throughout."""
    import asyncio

    pid = edge.serve.proc.pid

    def rss_mb() -> int:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0]) // 1024

    async def flood() -> list[int]:
        limits = httpx.Limits(max_connections=400)
        async with httpx.AsyncClient(base_url=edge.url, limits=limits, timeout=60) as c:

            async def one(i: int) -> int:
                r = await c.post(
                    "/api/v1/session",
                    json={"name": f"flood16-{i % 9}", "password": "wrong"},
                    headers={"X-Forwarded-For": f"10.16.{i // 250}.{i % 250}"},
                )
                return r.status_code

            return list(await asyncio.gather(*(one(i) for i in range(300))))

    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.extend(asyncio.run(flood())))
    thread.start()
    worst, peak = 0.0, 0
    with httpx.Client(base_url=edge.url) as probe:
        while thread.is_alive():
            start = time.monotonic()
            assert probe.get("/readyz").status_code == 200
            worst = max(worst, time.monotonic() - start)
            peak = max(peak, rss_mb())
            time.sleep(0.05)
    thread.join()
    assert set(codes) <= {401, 429} and codes.count(429) > 200, codes
    assert peak < 300, peak
    assert worst < 0.5, worst  # 100 ms on a quiet machine; this one is shared


def test_mcp_never_approves_and_refuses_a_person_token(edge: Edge) -> None:
    """The MCP server offers no approving tool, does not run a pending card, and refuses
    to start with anything but an agent token."""
    import asyncio

    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    card = edge.pending_card("touch /etc/motd.d/attack16-mcp")

    async def talk() -> tuple[set[str], str]:
        params = StdioServerParameters(
            command=OPSGATE, args=["mcp"], env=_env(edge.home, OPSGATE_TOKEN=edge.agent_token)
        )
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            tools = {t.name for t in (await s.list_tools()).tools}
            ran = await s.call_tool("execute_card", {"card_id": card})
            return tools, json.dumps([c.model_dump() for c in ran.content])

    tools, ran = asyncio.run(talk())
    assert not {t for t in tools if any(w in t for w in ("approve", "deny", "decide", "allow"))}
    assert edge.owner.get(f"/api/v1/cards/{card}").json()["state"] == "pending", ran
    owner_token = edge.owner.post("/api/v1/tokens", json={"name": "mcp-owner", "role": "owner"})
    refused = subprocess.run(
        [OPSGATE, "mcp"],
        env=_env(edge.home, OPSGATE_TOKEN=owner_token.json()["secret"]),
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 4, refused.stderr
    edge.agent.post(f"/api/v1/cards/{card}/cancel")


def test_a_callers_request_id_never_becomes_the_audit_request(edge: Edge) -> None:
    """Any caller can send X-Request-Id: an agent reusing a person's request id gets it
    recorded as `caller_request`, never as the entry's `request`; malformed ids are
    dropped (never echoed, never logged)."""
    first = edge.agent.post(
        "/api/v1/evaluate", json={"tool": "Bash", "input": {"command": "ls /req16-a"}}
    )
    own = first.headers["x-request-id"]
    second = edge.agent.post(
        "/api/v1/evaluate",
        json={"tool": "Bash", "input": {"command": "ls /req16-b"}},
        headers={"X-Request-Id": own},
    )
    assert second.headers["x-request-id"] == own  # the trace id, echoed
    entries = [e for e in _audit(edge.owner, event="decision.made") if "/req16-" in json.dumps(e)]
    requests = [e.get("request") for e in entries]
    assert len(requests) == 2 and len(set(requests)) == 2, entries
    assert any(e.get("caller_request") == own for e in entries)
    for bad in (b"a" * 65, b"x y", b"<script>", b"id\xc3\xa9"):
        r = edge.agent.get("/api/v1/session", headers={"X-Request-Id": bad})
        assert r.headers["x-request-id"].encode() != bad


@pytest.mark.postgres
def test_replicas_with_their_own_keys_are_warned_and_verify_with_trusted_keys(
    tmp_path: Path,
) -> None:
    """The default (each replica its own signing key) on one shared log: the second
    replica warns at start-up naming both key ids; `audit verify` reports the unknown
    signer until the other replica's public key is trusted, then the chain is intact."""
    from pg_cluster import missing_reason, pg_server

    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    with pg_server() as cluster:
        shared = {"OPSGATE_DATABASE_URL": cluster.url}
        homes = [tmp_path / "a", tmp_path / "b"]
        first = Serve(homes[0], env=shared, merge_stderr=True)
        second: Serve | None = None
        try:
            password = owner_password(homes[0])
            assert password
            with _login(first.url, "owner", password) as owner:
                token = owner.post("/api/v1/tokens", json={"name": "a", "role": "agent"})
            agent_token = token.json()["secret"]
            with _bearer(first.url, agent_token) as agent:
                agent.post("/api/v1/evaluate", json=_ACTION)
            assert _cli("audit", "checkpoint", env=_env(homes[0], **shared)).returncode == 0
            second = Serve(homes[1], env=shared, merge_stderr=True)
            with _bearer(second.url, agent_token) as agent:
                agent.post("/api/v1/evaluate", json=_ACTION)
            assert _cli("audit", "checkpoint", env=_env(homes[1], **shared)).returncode == 0
            keys = []
            for home in homes:
                shown = _cli("audit", "key", "--json", env=_env(home))
                key = json.loads(shown.stdout)
                (home.parent / f"{home.name}.pub.pem").write_text(key["public_key"])
                keys.append(key["key_id"])
            time.sleep(0.3)
            warning = "".join(second.lines)
            assert keys[0] in warning and keys[1] in warning, warning
        finally:
            for serve in (first, second):
                if serve:
                    serve.stop()
        untrusted = _cli("audit", "verify", env=_env(homes[0], **shared))
        assert untrusted.returncode == 8, untrusted.stdout
        assert "resigned" in untrusted.stdout + untrusted.stderr
        trusted = _cli(
            "audit",
            "verify",
            "--json",
            env=_env(homes[0], OPSGATE_AUDIT_TRUSTED_KEYS=str(tmp_path / "b.pub.pem"), **shared),
        )
        assert trusted.returncode == 0, trusted.stdout + trusted.stderr
        assert json.loads(trusted.stdout)["ok"] is True


def test_incident_report_takes_json(edge: Edge, tmp_path: Path) -> None:
    proc = _cli("incident", "report", "--out", str(tmp_path / "art"), "--json", env=_env(edge.home))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)


def _form_login(url: str, name: str, password: str, address: str) -> httpx.Response:
    """The console's login form, as a browser posts it (CSRF double-submit cookie)."""
    import re

    with httpx.Client(base_url=url, headers={"X-Forwarded-For": address}) as browser:
        page = browser.get("/login")
        match = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert match, page.text[:300]
        return browser.post(
            "/login",
            data={"csrf": match.group(1), "next": "/inbox", "name": name, "password": password},
            headers={"Origin": url},
        )


def test_the_console_form_and_the_api_share_one_account_throttle(edge: Edge) -> None:
    edge.add_user("gina16", "gina-right-password-16")
    for i in range(6):
        wrong = _form_login(edge.url, "GINA16", "wrong", f"198.51.103.{i + 1}")
        assert wrong.status_code in (401, 429), wrong.status_code
    assert _try_login(edge.url, "gina16", "gina-right-password-16").status_code == 429
    form = _form_login(edge.url, "gina16", "gina-right-password-16", "198.51.103.99")
    assert form.status_code == 429
    assert "opsgate_session" not in form.cookies


def test_the_console_forms_429_says_when_to_retry(edge: Edge) -> None:
    edge.add_user("hank16", "hank-right-password-16")
    for i in range(6):
        _form_login(edge.url, "hank16", "wrong", f"198.51.104.{i + 1}")
    form = _form_login(edge.url, "hank16", "hank-right-password-16", "198.51.104.99")
    assert form.status_code == 429
    assert int(form.headers["retry-after"]) >= 1


def test_the_console_takes_no_api_token(edge: Edge) -> None:
    """The console's pages and streams need a person's session: an agent token, as a
    bearer or planted as the session cookie, gets the login page or 401."""
    card = edge.pending_card("touch /etc/motd.d/attack16-console")
    pages = ["/inbox", "/people", "/settings", "/audit", "/inventory", f"/cards/{card}"]
    streams = ["/events", f"/cards/{card}/fragment"]
    as_bearer = {"headers": {"Authorization": f"Bearer {edge.agent_token}"}}
    as_cookie = {"cookies": {"opsgate_session": edge.agent_token}}
    for how in (as_bearer, as_cookie):
        with httpx.Client(base_url=edge.url, timeout=5, **how) as c:  # type: ignore[arg-type]
            for path in pages:
                r = c.get(path)
                assert r.status_code == 303 and "/login" in r.headers["location"], path
            for path in streams:
                assert c.get(path).status_code == 401, path
    edge.agent.post(f"/api/v1/cards/{card}/cancel")
