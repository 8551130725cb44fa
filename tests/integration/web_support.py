"""The web console's browser tests, shared: a real ``opsgate serve`` with people,
an agent token and inventory; real Chromium (Debian's ``chromium``, driven by
Playwright, never a downloaded browser); axe-core from npm (pinned in
``tests/web/package-lock.json``, installed with ``npm ci`` on first use, never
fetched at run time from anywhere else).

Test modules import the fixtures from here (``from web_support import browser,
server``), as ``e2e_support`` does, so their names cannot collide with the
suite's conftest.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import Serve, owner_password

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):  # CI installs it (.ci/run): missing there is a failure
        raise RuntimeError(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORDS = {"ada": "admin password!", "bob": "second admin pw!", "vic": "viewer password!"}
SHOTS = os.environ.get("OPSGATE_SCREENSHOTS")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
WEB_DEPS = Path(__file__).resolve().parents[1] / "web"
AXE = WEB_DEPS / "node_modules" / "axe-core" / "axe.min.js"


class Server(Serve):
    """``opsgate serve`` with an owner, admins ada and bob, a viewer (vic), an agent
    token made by the owner (so ada and bob may approve its cards) and two
    inventory targets (staging and production)."""

    def __init__(self, home: Path, *, port: int | None = None, fresh: bool = True,
                 extra_env: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(home, merge_stderr=True, port=port, extra_env=extra_env)
        if not fresh:
            return
        found = owner_password(home)
        assert found, "".join(self.lines)
        PASSWORDS["owner"] = found
        self.owner = self.api_login("owner")
        for name, role in (("ada", "admin"), ("bob", "admin"), ("vic", "viewer")):
            r = httpx.post(
                f"{self.url}/api/v1/users",
                headers=self.owner,
                json={"name": name, "password": PASSWORDS[name], "role": role},
            )
            assert r.status_code == 201, r.text
        r = httpx.post(f"{self.url}/api/v1/tokens", headers=self.owner, json={"name": "claude"})
        self.agent = {"Authorization": f"Bearer {r.json()['secret']}"}
        for name, environment in (("web-staging-1", "staging"), ("web-prod-1", "production")):
            r = httpx.put(
                f"{self.url}/api/v1/inventory/{name}",
                headers=self.owner,
                json={
                    "kind": "server",
                    "environment": environment,
                    "access": "full",
                    "match": [name],
                },
            )
            assert r.status_code == 200, r.text

    def api_login(self, name: str) -> dict[str, str]:
        r = httpx.post(
            f"{self.url}/api/v1/session", json={"name": name, "password": PASSWORDS[name]}
        )
        assert r.status_code == 200, r.text
        return {"Cookie": f"opsgate_session={r.cookies['opsgate_session']}"}

    def propose(self, command: str, **extra: str) -> dict[str, Any]:
        r = httpx.post(
            f"{self.url}/api/v1/propose",
            headers=self.agent,
            json={"tool": "Bash", "input": {"command": command}, **extra},
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def card_state(self, card_id: str) -> str:
        r = httpx.get(f"{self.url}/api/v1/cards/{card_id}", headers=self.owner)
        state: str = r.json()["state"]
        return state

    def settings(self, **changes: Any) -> dict[str, Any]:
        r = httpx.patch(f"{self.url}/api/v1/settings", headers=self.owner, json=changes)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def run_card(self, card_id: str, state: str, result: dict[str, Any] | None = None) -> None:
        """What a runner does to an approved card: write its new state to the store."""
        import sqlalchemy as sa

        from opsgate.store import open_store
        from opsgate.store._schema import cards

        store = open_store(self.home)
        try:
            with store.write() as conn:
                conn.execute(
                    sa.update(cards)
                    .where(cards.c.id == card_id)
                    .values(state=state, version=cards.c.version + 1, result=result or {})
                )
        finally:
            store.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("web") / "home")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def login(browser: Any, server: Server, name: str, **options: Any) -> Any:
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{server.url}/inbox")
    assert "/login" in page.url  # not logged in: sent to the login page
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORDS[name])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}/inbox")
    page.wait_for_selector("body[data-connected='1']")  # the live stream is open
    return page


def shot(page: Any, name: str, **options: Any) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), **options)


def card(page: Any, card_id: str) -> Any:
    return page.locator(f"#card-{card_id}")


def expect() -> Any:
    return sync_api.expect


def wait_for(check: Any, timeout: float = 10.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# --- accessibility ---------------------------------------------------------------------------


def axe_source() -> str:
    """axe-core's script, installed from the pinned lock file on first use."""
    if not AXE.is_file():
        with _installing():  # test processes running side by side install it once
            if not AXE.is_file():
                _install_axe()
    return AXE.read_text("utf-8")


@contextlib.contextmanager
def _installing() -> Iterator[None]:
    WEB_DEPS.mkdir(parents=True, exist_ok=True)
    with open(WEB_DEPS / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _install_axe() -> None:
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("CI"):
            raise RuntimeError("npm is missing; the accessibility tests need axe-core")
        pytest.skip("npm is not available to install axe-core for the accessibility tests")
    proc = subprocess.run(
        [npm, "ci", "--prefix", str(WEB_DEPS), "--no-audit", "--no-fund"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0 and AXE.is_file(), f"npm ci failed:\n{proc.stderr}"


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.x A/AA and best-practice violations on the page as it is.
    The script is evaluated through the DevTools protocol, so the page's CSP (no
    inline script) stays as it is for the page itself."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    return found


def assert_accessible(page: Any, where: str) -> None:
    found = axe_violations(page)
    assert not found, f"axe-core on {where}: " + json.dumps(found, indent=1)


def sideways(page: Any) -> int:
    """How far the page scrolls sideways (0 when nothing is off-screen)."""
    width: int = page.evaluate(
        "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width


def hidden_controls(page: Any) -> list[str]:
    """Buttons, links and fields that are cut off sideways: outside the viewport,
    or inside a box that scrolls sideways (the review's "off-screen Revoke")."""
    found: list[str] = page.evaluate(_HIDDEN_CONTROLS)
    return found


_HIDDEN_CONTROLS = """() => {
    const out = [];
    const vw = document.documentElement.clientWidth;
    const scrolls = (s) => ['auto', 'scroll', 'hidden'].includes(s.overflowX);
    for (const el of document.querySelectorAll(
            'main button, main a, main input, main select')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;  // not rendered (collapsed)
        let clipped = r.right > vw + 1 || r.left < -1;
        for (let p = el.parentElement; p && !clipped; p = p.parentElement) {
            if (scrolls(getComputedStyle(p)) && p.scrollWidth > p.clientWidth + 1) {
                clipped = true;
            }
        }
        const name = el.getAttribute('aria-label') || el.textContent || el.name;
        if (clipped) out.push((name || el.tagName).trim().slice(0, 60));
    }
    return out;
}"""
