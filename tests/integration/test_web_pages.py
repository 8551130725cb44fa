# ruff: noqa: F811  (the fixtures imported from web_support are redefined as parameters)
"""Every page of the console at 1440 and 390 px, in real Chromium: axe-core finds
no violation, nothing scrolls sideways and no control is cut off, the browser
logs no error (the favicon included), and the review's polish holds (card pages
titled by their description with an h1, a titled 404 page, the live status in the
header rather than over the content, a confirmation input wide enough for long
names, names that break only after their dots and dashes).

It also makes the documentation's screenshots:

    OPSGATE_SCREENSHOTS=docs/screenshots .venv/bin/pytest tests/integration/test_web_pages.py

writes ``<page>-1440.png`` and ``<page>-390.png`` for every page below.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from web_support import (  # noqa: F401  (fixtures)
    DESKTOP,
    PASSWORDS,
    PHONE,
    Server,
    assert_accessible,
    browser,
    expect,
    hidden_controls,
    server,
    shot,
    sideways,
)

WIDTHS = {"1440": DESKTOP, "390": PHONE}


class Tour:
    """A server with the kind of history a team has after a morning of agent work."""

    def __init__(self, server: Server) -> None:
        self.server = server
        s = server
        httpx.put(
            f"{s.url}/api/v1/inventory/orders-db-staging",
            headers=s.owner,
            json={"kind": "database", "environment": "staging", "access": "read_only",
                  "match": ["orders-db.staging.example.com"]},
        )  # fmt: skip
        self.caution = s.propose(
            "ssh web-staging-1 sudo systemctl restart nginx",
            reasoning="nginx still serves the old TLS certificate after the renewal",
            rollback="nothing to undo: a restart changes no files",
        )["card"]["id"]
        self.destructive = s.propose(
            "kubectl --context staging delete namespace payments-sandbox-2024-q3-experiment",
            reasoning="the sandbox from the Q3 experiment is unused and costs money",
        )["card"]["id"]
        s.propose("ssh orders-db.staging.example.com sudo systemctl restart pgbouncer")
        done = s.propose("ssh web-staging-1 sudo systemctl reload haproxy")["card"]["id"]
        denied = s.propose("ssh web-staging-1 sudo systemctl stop postgresql")["card"]["id"]
        ada = s.api_login("ada")
        httpx.post(f"{s.url}/api/v1/cards/{done}/approve", headers=ada, json={})
        s.run_card(done, "completed", {"output": "haproxy reloaded"})
        httpx.post(
            f"{s.url}/api/v1/cards/{denied}/deny",
            headers=ada,
            json={"reason": "not during business hours"},
        )
        httpx.post(f"{s.url}/api/v1/tokens", headers=ada, json={"name": "ci-deploy"})
        httpx.post(f"{s.url}/api/v1/session", json={"name": "vic", "password": "wrong"})
        session = s.api_login("vic")  # a login and its logout: one "session" line
        httpx.delete(f"{s.url}/api/v1/session", headers=session)

    def pages(self) -> list[tuple[str, str, str]]:
        """(name, path, who looks): an admin for the cards (the owner made the agent's
        token, so its cards are the owner's own requests), the owner for the rest."""
        return [
            ("inbox", "/inbox", "ada"),
            ("card-caution", f"/cards/{self.caution}", "ada"),
            ("card-destructive", f"/cards/{self.destructive}", "ada"),
            ("audit", "/audit", "owner"),
            ("audit-entry", "/audit/2", "owner"),
            ("audit-verify", "/audit/verify", "owner"),
            ("inventory", "/inventory", "owner"),
            ("settings", "/settings", "owner"),
            ("people", "/people", "owner"),
            ("not-found", "/no-such-page", "owner"),
        ]


@pytest.fixture(scope="module")
def tour(server: Server) -> Iterator[Tour]:
    yield Tour(server)


def _page(
    browser: Any, tour: Tour, viewport: dict[str, int], who: str = "owner", **opts: Any
) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport=viewport, has_touch=viewport is PHONE, **opts)
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and "/no-such-page" not in str(m.location.get("url"))
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and "/no-such-page" not in r.url
            else None
        ),
    )
    page.goto(f"{tour.server.url}/login")
    page.get_by_label("Name").fill(who)
    page.get_by_label("Password").fill(PASSWORDS[who])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{tour.server.url}/inbox")
    if opts.get("java_script_enabled", True):
        page.wait_for_selector("body[data-connected='1']")
    return page, problems


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_every_page_is_accessible_fits_and_logs_no_error(
    browser: Any, tour: Tour, width: str
) -> None:
    viewport = WIDTHS[width]
    logged_out = browser.new_context(viewport=viewport)
    login = logged_out.new_page()
    login.goto(f"{tour.server.url}/login")
    assert_accessible(login, f"/login at {width}")
    shot(login, f"login-{width}", full_page=True)
    logged_out.close()

    pages = {who: _page(browser, tour, viewport, who=who) for who in ("ada", "owner")}
    for name, path, who in tour.pages():
        page, problems = pages[who]
        page.goto(f"{tour.server.url}{path}")
        page.wait_for_load_state("load")
        time.sleep(0.1)  # the script has localised times and collapsed cards
        where = f"{path} at {width} px"
        assert_accessible(page, where)
        assert sideways(page) == 0, f"{where} scrolls sideways"
        assert hidden_controls(page) == [], f"{where} cuts off controls"
        shot(page, f"{name}-{width}", full_page=True)
    for page, problems in pages.values():
        assert problems == [], problems  # favicon and all: no error in normal use
        page.context.close()


def test_a_viewer_and_the_no_script_confirmation_are_accessible(browser: Any, tour: Tour) -> None:
    page, _ = _page(browser, tour, DESKTOP, who="vic")
    assert_accessible(page, "/inbox as a viewer")
    shot(page, "inbox-viewer-1440", full_page=True)
    page.context.close()
    # Without the script, a destructive action is confirmed on a page of its own:
    # the form is posted natively here (as a browser without the script would).
    page, _ = _page(browser, tour, DESKTOP)
    page.goto(f"{tour.server.url}/people")
    revoke = page.get_by_role("button", name="Revoke ci-deploy")
    revoke.evaluate("b => { b.form.dataset.native = '1'; delete b.dataset.confirm; }")
    revoke.click()
    expect()(page.get_by_test_id("confirm-question")).to_contain_text("Revoke the token ci-deploy?")
    assert_accessible(page, "the confirmation page")
    shot(page, "confirm-1440", full_page=True)
    page.get_by_role("link", name="Cancel").click()
    expect()(page.locator("tr[data-token='ci-deploy']")).not_to_contain_text("revoked")
    page.context.close()


def test_card_pages_are_titled_and_headed_by_their_description(browser: Any, tour: Tour) -> None:
    page, _ = _page(browser, tour, DESKTOP)
    page.goto(f"{tour.server.url}/cards/{tour.caution}")
    heading = page.locator("h1")
    expect()(heading).to_have_count(1)
    description = heading.inner_text().strip()
    assert description.startswith("Systemctl restart") or "nginx" in description
    assert page.title().startswith(description[:40]) and page.title().endswith("· opsgate")
    page.goto(f"{tour.server.url}/no-such-page")
    assert page.title() == "Not found · opsgate"
    expect()(page.locator("h1")).to_have_text("Not found")
    assert httpx.get(f"{tour.server.url}/favicon.ico").status_code == 200
    api = httpx.get(f"{tour.server.url}/api/v1/no-such-route")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
    page.context.close()


def test_phone_polish_live_status_confirmation_width_and_word_breaks(
    browser: Any, tour: Tour
) -> None:
    page, _ = _page(browser, tour, PHONE, who="ada")  # may decide: the owner made the token
    status = page.get_by_test_id("live-status")
    expect()(status).to_have_text("Live")
    header = page.locator("header.top").bounding_box()
    box = status.bounding_box()
    assert header and box and box["y"] + box["height"] <= header["y"] + header["height"]
    page.goto(f"{tour.server.url}/cards/{tour.destructive}")
    field = page.get_by_label("Type the name to confirm")
    width = field.bounding_box()["width"]  # type: ignore[index]
    assert width >= 0.8 * (PHONE["width"] - 60), f"the confirmation input is {width} px wide"
    page.context.close()
    page, _ = _page(browser, tour, DESKTOP, who="ada")
    page.goto(f"{tour.server.url}/cards/{tour.destructive}")
    width = page.get_by_label("Type the name to confirm").bounding_box()["width"]  # type: ignore[index]
    assert width >= 400, f"the confirmation input is {width} px wide"
    page.context.close()
    # Long names break after their dots and dashes, never inside a word.
    page, _ = _page(browser, tour, PHONE)
    for path in ("/inbox", "/audit?target=*orders-db*"):
        page.goto(f"{tour.server.url}{path}")
        bad = page.evaluate(_MID_WORD_BREAKS)
        assert bad == [], f"{path}: {bad}"
    page.context.close()


# Every line break inside a card's target or the audit's target column: the
# character before it must be a separator.
_MID_WORD_BREAKS = """() => {
    const bad = [];
    const cells = document.querySelectorAll('[data-testid=target], td.target');
    for (const cell of cells) {
        const text = cell.textContent;
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        let top = null, prev = '';
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (let i = 0; i < node.length; i++) {
                const range = document.createRange();
                range.setStart(node, i); range.setEnd(node, i + 1);
                const r = range.getBoundingClientRect();
                if (r.width === 0) continue;
                if (top !== null && r.top > top + 2 && !'.-/:_ '.includes(prev)) {
                    bad.push(text);
                }
                top = r.top; prev = node.data[i];
            }
        }
    }
    return bad;
}"""
