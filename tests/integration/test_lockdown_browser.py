"""The lockdown control in real Chromium against a real ``opsgate serve``: an admin
presses it in Agent Controls (the confirmation box is required), another person's
open inbox shows the banner and the cancelled card live, the agent's next write is
refused, a viewer sees the state without a control, and the owner lifts it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from test_web_browser import Server, browser, card, expect, login  # noqa: F401  (fixtures)

WHY = "agent looping on restarts"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("lockdown-web") / "home")
    yield s
    s.stop()


def test_lockdown_from_agent_controls(browser: Any, server: Server) -> None:  # noqa: F811
    card_id = server.propose("ssh web-staging-1 sudo systemctl restart nginx")["card"]["id"]
    watcher = login(browser, server, "owner")
    expect()(card(watcher, card_id).get_by_test_id("status")).to_have_text("Action Required")
    admin = login(browser, server, "ada")
    admin.goto(f"{server.url}/settings")
    admin.get_by_label("Why (shown to every agent refused)").fill(WHY)
    admin.get_by_test_id("lockdown-on").click()
    assert server.propose("ssh web-staging-1 sudo systemctl restart redis")["card"] is not None
    assert admin.url.endswith("/settings")  # the unticked box stopped the form: nothing sent
    admin.get_by_test_id("lockdown-confirm").check()
    started = time.monotonic()
    admin.get_by_test_id("lockdown-on").click()
    expect()(admin.get_by_test_id("lockdown-state")).to_contain_text(WHY)
    expect()(admin.get_by_test_id("lockdown-notice")).to_contain_text("Locked down")
    banner = watcher.get_by_test_id("lockdown-banner")
    expect()(banner).to_contain_text("locked down by ada", timeout=5000)
    print(f"the banner reached the other browser in {(time.monotonic() - started) * 1000:.0f} ms")
    expect()(card(watcher, card_id).get_by_test_id("status")).to_have_text("Cancelled")
    refused = server.propose("ssh web-staging-1 sudo systemctl restart nginx")
    assert refused["decision"]["decided_by"] == "lockdown" and refused["card"] is None

    viewer = login(browser, server, "vic")
    viewer.goto(f"{server.url}/settings")
    expect()(viewer.get_by_test_id("lockdown-state")).to_contain_text(WHY)
    expect()(viewer.get_by_test_id("lockdown-off")).to_have_count(0)

    owner = login(browser, server, "owner")
    owner.goto(f"{server.url}/settings")
    owner.get_by_test_id("lift-confirm").check()
    owner.get_by_test_id("lockdown-off").click()
    expect()(owner.get_by_test_id("lockdown-notice")).to_contain_text("Lockdown lifted")
    expect()(banner).to_contain_text("lifted", timeout=5000)
    status = httpx.get(f"{server.url}/api/v1/lockdown", headers=server.owner).json()
    assert status["locked"] is False
    for page in (watcher, admin, viewer, owner):
        page.context.close()
