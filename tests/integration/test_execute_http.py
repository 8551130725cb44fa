"""The HTTP runner against a real HTTP server on loopback, started here.

Success and failure by status, the whole exchange bounded by the step's timeout,
redirects never followed (the bearer token would go with them), the response body
capped and never read past the cap, and the
``token`` credential sent as a header yet never seen: not in the output, the error,
the audit trail or anything stored, even when the server echoes it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from execute_env import CANARY, Org, everything_stored, org
from opsgate.environments import InventoryTarget
from opsgate.execute.runner import Endpoint, Step, StepResult
from opsgate.execute.runners.http import MAX_BODY, HttpRunner
from opsgate.execute.secrets import SecretValue
from opsgate.models import Environment
from servers import free_port


class Site(ThreadingHTTPServer):
    """Records every request's path and Authorization header."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[tuple[str, str | None]] = []
        self.redirect_to = ""
        self.cut_off = threading.Event()  # the client hung up on an endless body

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Site

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Authorization")))
        if self.path == "/slow":
            time.sleep(3)
        if self.path in ("/endless", "/drip"):
            self._stream()
            return
        status, body, extra = {
            "/ok": (200, b"all good\n", {}),
            "/teapot": (418, b"no coffee\n", {}),
            "/moved": (302, b"", {"Location": f"{self.server.redirect_to}/stolen"}),
            "/big": (200, b"x" * (MAX_BODY * 8), {}),
            "/echo": (200, f"you sent {self.headers.get('Authorization')}\n".encode(), {}),
            "/slow": (200, b"late\n", {}),
        }.get(self.path, (404, b"not here\n", {}))
        self.send_response(status)
        for key, value in extra.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the client gave up (the timeout test)
            self.wfile.write(body)

    def _stream(self) -> None:
        """``/endless``: 256 MiB as fast as the client reads, no length given;
        ``/drip``: a short body one byte every 0.1 s, each read well inside a timeout."""
        self.send_response(200)
        if self.path == "/drip":
            self.send_header("Content-Length", "100")
        self.end_headers()
        chunk, pause, count = (b"x", 0.1, 100) if self.path == "/drip" else (b"x" * 65536, 0, 4096)
        try:
            for _ in range(count):
                self.wfile.write(chunk)
                self.wfile.flush()
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            self.server.cut_off.set()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run(site_url: str, path: str, timeout: float = 5.0) -> tuple[StepResult, str]:
    """One request through the runner, with a bearer token; (result, output)."""
    endpoint = Endpoint("site", "site", {"url": site_url}, {"token": SecretValue("t", CANARY)})
    chunks: list[str] = []
    result = asyncio.run(
        HttpRunner().run(endpoint, Step(path=path, timeout=timeout), chunks.append)
    )
    return result, "".join(chunks)


def test_a_2xx_succeeds_and_the_token_is_sent_as_a_bearer(site: Site) -> None:
    result, output = run(site.url, "/ok")
    assert result.exit_status == 0 and result.error is None
    assert output == "HTTP 200 OK\nall good\n"
    assert site.seen == [("/ok", f"Bearer {CANARY}")]


def test_a_non_2xx_status_fails_the_step(site: Site) -> None:
    result, output = run(site.url, "/teapot")
    assert result.exit_status == 1
    assert output.startswith("HTTP 418 ")
    missing, _ = run(site.url, "/nowhere")
    assert missing.exit_status == 1


def test_a_slow_server_is_cut_off_at_the_step_timeout(site: Site) -> None:
    started = time.monotonic()
    result, output = run(site.url, "/slow", timeout=0.5)
    assert time.monotonic() - started < 2.5
    assert result.exit_status is None  # did not finish: never a success
    assert result.error is not None and "Timeout" in result.error
    assert CANARY not in result.error and output == ""


def test_a_redirect_is_not_followed_so_the_token_stays_home(site: Site) -> None:
    elsewhere = Site()
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    try:
        site.redirect_to = elsewhere.url
        result, output = run(site.url, "/moved")
        assert output.startswith("HTTP 302 ")
        assert result.exit_status == 0  # 3xx is a success by default, reported as is
        assert elsewhere.seen == []
    finally:
        elsewhere.shutdown()
        elsewhere.server_close()


def test_the_response_body_is_capped(site: Site) -> None:
    result, output = run(site.url, "/big")
    assert result.exit_status == 0
    body = output.split("\n", 1)[1]
    assert body == "x" * MAX_BODY


def test_an_endless_body_is_not_read_past_the_cap(site: Site) -> None:
    """Only the first MAX_BODY characters are read: the runner hangs up, so the site
    cannot make it hold (or wait for) the rest."""
    started = time.monotonic()
    result, output = run(site.url, "/endless")
    assert result.exit_status == 0 and output == "HTTP 200 OK\n" + "x" * MAX_BODY
    assert site.cut_off.wait(10)  # the 256 MiB were never all taken
    assert time.monotonic() - started < 10


def test_a_dripping_body_is_cut_off_at_the_step_timeout(site: Site) -> None:
    """The step's timeout bounds the whole exchange, not each read."""
    started = time.monotonic()
    result, output = run(site.url, "/drip", timeout=0.5)
    assert time.monotonic() - started < 2.5
    assert result.exit_status is None and output == ""  # did not finish: never a success
    assert result.error is not None and "Timeout" in result.error


def test_an_unreachable_site_fails_without_the_token_in_the_error() -> None:
    result, output = run(f"http://127.0.0.1:{free_port()}", "/ok")
    assert result.exit_status is None
    assert result.error is not None and "ConnectError" in result.error
    assert CANARY not in result.error and CANARY not in output


def site_target(o: Org, url: str) -> None:
    connection = (("url", url), ("token", "secret:canary"))
    o.cp.put_target(
        o.owner, InventoryTarget("web", "site", Environment.STAGING, connection=connection)
    )


def test_the_executor_sends_the_secret_and_redacts_its_echo_everywhere(
    site: Site, tmp_path: Path, hook_env: None
) -> None:
    home = tmp_path / "home"
    with org(home) as o:
        site_target(o, site.url)
        result = asyncio.run(o.ex.run_read_only(o.agent, "http.check", "web", {"path": "/echo"}))
        assert result.status == "completed", result
        assert site.seen == [("/echo", f"Bearer {CANARY}")]  # the real value went out
        assert "HTTP 200 OK" in result.output and "you sent Bearer " in result.output
        assert CANARY not in result.output
        assert CANARY not in repr(list(o.cp.audit.entries()))
        failed = asyncio.run(o.ex.run_read_only(o.agent, "http.check", "web", {"path": "/teapot"}))
        assert failed.status == "failed" and failed.exit_status == 1
        assert CANARY not in failed.output
    assert CANARY.encode() not in everything_stored(home)
