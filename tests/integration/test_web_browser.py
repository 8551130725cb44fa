# ruff: noqa: F811  (the fixtures imported from web_support are redefined as parameters)
"""The web console in real Chromium (Debian's ``chromium``, driven by Playwright)
against a real ``opsgate serve`` process on a free port with a temporary data dir.

One server and one browser for the module; every test makes its own cards.
Execution is simulated by writing the card's state into the store the way a
runner would (the executor lands separately); what the page shows is real: it
arrives through the server's store watcher and the SSE stream.

The documentation's screenshots come from test_web_pages.py.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from web_support import (  # noqa: F401  (fixtures)
    PASSWORDS,
    Server,
    browser,
    card,
    expect,
    login,
    server,
)


def test_login_shows_user_and_role_with_secure_session(browser: Any, server: Server) -> None:
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(f"{server.url}/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    page.get_by_label("Name").fill("ada")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect()(page.get_by_role("alert")).to_contain_text("wrong name or password")
    page.get_by_label("Password").fill(PASSWORDS["ada"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}/inbox")
    expect()(page.get_by_test_id("user")).to_have_text("ada")
    expect()(page.get_by_test_id("role")).to_have_text("Admin")
    (session,) = [c for c in context.cookies() if c["name"] == "opsgate_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert PASSWORDS["ada"] not in page.content()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto(f"{server.url}/settings")
    assert "/login?next=/settings" in page.url
    context.close()


def test_caution_card_allowed_shows_executing_then_completed(browser: Any, server: Server) -> None:
    proposed = server.propose(
        "ssh web-staging-1 sudo systemctl restart nginx",
        reasoning="nginx serves stale config after the deploy",
        rollback="nothing to roll back: a restart changes no files",
    )
    card_id = proposed["card"]["id"]
    page = login(browser, server, "ada")
    c = card(page, card_id)
    expect()(c.get_by_test_id("status")).to_have_text("Action Required")
    expect()(c.get_by_test_id("impact")).to_contain_text("Caution")
    expect()(c).to_contain_text("Restart nginx on web-staging-1")
    expect()(c).to_contain_text("nginx serves stale config")
    expect()(c).to_contain_text("nothing to roll back")
    command = c.get_by_test_id("command")
    expect()(command).to_be_hidden()
    c.get_by_text("View command").click()
    expect()(command).to_have_text("ssh web-staging-1 sudo systemctl restart nginx")
    c.get_by_role("button", name="Allow").click()
    expect()(c.get_by_test_id("status")).to_have_text("Approved — waiting to run")
    assert server.card_state(card_id) == "approved"
    server.run_card(card_id, "executing")
    expect()(c.get_by_test_id("status")).to_have_text("Executing…")
    activity = page.get_by_test_id("activity")
    expect()(activity.locator("li").first).to_contain_text("Executing…")
    server.run_card(card_id, "completed", {"output": "nginx restarted; active (running)"})
    expect()(c.get_by_test_id("status")).to_contain_text("Completed")
    expect()(c.locator(".status .icon")).to_have_text("✓")
    expect()(c.get_by_test_id("output")).to_have_text("nginx restarted; active (running)")
    expect()(activity.locator("li").first).to_contain_text("Completed")
    # The card moved from Pending to Recent outcomes without a reload.
    expect()(page.locator(f"#recent #card-{card_id}")).to_have_count(1)

    failing = server.propose("ssh web-staging-1 sudo systemctl restart php-fpm")["card"]["id"]
    page.reload()
    card(page, failing).get_by_role("button", name="Allow").click()
    server.run_card(failing, "executing")
    server.run_card(failing, "failed", {"error": "Job for php-fpm.service failed"})
    expect()(card(page, failing).get_by_test_id("status")).to_contain_text("Failed")
    expect()(card(page, failing).get_by_test_id("output")).to_contain_text("php-fpm.service failed")
    page.context.close()


def test_destructive_allow_stays_disabled_until_the_name_is_typed(
    browser: Any, server: Server
) -> None:
    proposed = server.propose(
        "kubectl --context staging delete namespace api",
        reasoning="the api namespace was replaced by api-v2",
    )
    card_id = proposed["card"]["id"]
    page = login(browser, server, "ada")
    page.goto(f"{server.url}/cards/{card_id}")
    c = card(page, card_id)
    expect()(c.get_by_test_id("impact")).to_contain_text("Destructive")
    expect()(c.locator(".confirm-prompt")).to_contain_text("staging")
    allow = c.get_by_role("button", name="Allow")
    expect()(allow).to_be_disabled()
    box = c.get_by_label("Type the name to confirm")
    box.fill("stag")
    expect()(allow).to_be_disabled()
    box.fill("staging-x")
    expect()(allow).to_be_disabled()
    # The server checks again: a post with the wrong name is refused.
    token = page.locator("form.approve input[name=csrf]").input_value()
    forged = page.request.post(
        f"{server.url}/cards/{card_id}/approve", form={"csrf": token, "confirmation": "stag"}
    )
    assert forged.status == 422
    assert server.card_state(card_id) == "pending"
    box.fill("StAgInG")  # case does not matter
    expect()(allow).to_be_enabled()
    allow.click()
    expect()(c.get_by_test_id("status")).to_have_text("Approved — waiting to run")
    assert server.card_state(card_id) == "approved"
    page.context.close()


def test_a_denial_appears_live_in_another_browser(browser: Any, server: Server) -> None:
    card_id = server.propose("ssh web-staging-1 sudo systemctl reload haproxy")["card"]["id"]
    watcher = login(browser, server, "owner")
    decider = login(browser, server, "ada")
    expect()(card(watcher, card_id).get_by_test_id("status")).to_have_text("Action Required")
    started = time.monotonic()
    card(decider, card_id).get_by_role("button", name="Deny").focus()
    decider.keyboard.press("Enter")  # keyboard alone decides
    status = card(watcher, card_id).get_by_test_id("status")
    expect()(status).to_have_text("Denied by ada", timeout=5000)
    elapsed = time.monotonic() - started
    assert elapsed < 1.5, f"the denial took {elapsed:.2f} s to reach the other browser"
    print(f"denial reached the other browser in {elapsed * 1000:.0f} ms")
    # Focus stays on the decided card (the page itself is in the background here).
    expect()(decider.locator(f"#card-{card_id}")).to_be_focused()  # once the page settles
    expect()(watcher.get_by_test_id("activity").locator("li").first).to_contain_text(
        "Denied by ada"
    )
    # A card proposed while the page is open appears without a reload.
    fresh = server.propose("ssh web-staging-1 sudo systemctl restart redis")["card"]["id"]
    expect()(watcher.locator(f"#pending #card-{fresh}")).to_have_count(1)
    watcher.context.close()
    decider.context.close()


def test_viewer_sees_no_allow_and_forged_posts_are_refused(browser: Any, server: Server) -> None:
    card_id = server.propose("ssh web-staging-1 sudo systemctl restart memcached")["card"]["id"]
    page = login(browser, server, "vic")
    expect()(page.get_by_test_id("role")).to_have_text("Viewer")
    c = card(page, card_id)
    expect()(c).to_be_visible()
    expect()(c.get_by_role("button", name="Allow")).to_have_count(0)
    expect()(c.get_by_role("button", name="Deny")).to_have_count(0)
    expect()(c.get_by_test_id("read-only")).to_be_visible()
    token = page.locator("form[action='/logout'] input[name=csrf]").input_value()
    with_token = page.request.post(f"{server.url}/cards/{card_id}/approve", form={"csrf": token})
    assert with_token.status == 403
    assert "viewer role never approves" in with_token.text()
    without = page.request.post(f"{server.url}/cards/{card_id}/deny", form={"reason": "x"})
    assert without.status == 403
    assert "security token" in without.text()
    assert server.card_state(card_id) == "pending"
    page.goto(f"{server.url}/settings")
    expect()(page.get_by_test_id("toggle-production_protection")).to_be_disabled()
    forged = page.request.post(
        f"{server.url}/settings", form={"csrf": token, "setting": "write_actions", "value": "off"}
    )
    assert forged.status == 403
    page.goto(f"{server.url}/inventory")
    expect()(page.get_by_role("button", name="Save")).to_have_count(0)
    page.context.close()


def test_production_protection_toggle_refuses_the_next_production_write(
    browser: Any, server: Server
) -> None:
    page = login(browser, server, "owner")
    page.goto(f"{server.url}/settings")
    toggle = page.get_by_test_id("toggle-production_protection")
    expect()(toggle).to_contain_text("Enabled")
    toggle.click()  # saves at once: no other button
    expect()(page.get_by_test_id("toggle-production_protection")).to_contain_text("Disabled")
    expect()(page.get_by_test_id("toggle-production_protection")).to_be_focused()
    allowed = server.propose("ssh web-prod-1 sudo systemctl restart nginx")
    assert allowed["decision"]["decision"] == "require_approval" and allowed["card"]
    page.get_by_test_id("toggle-production_protection").press("Enter")  # keyboard works too
    expect()(page.get_by_test_id("toggle-production_protection")).to_contain_text("Enabled")
    expect()(page.get_by_test_id("toggle-production_protection")).to_have_attribute(
        "aria-checked", "true"
    )
    before = httpx.get(f"{server.url}/api/v1/cards", headers=server.owner).json()["total"]
    refused = server.propose("ssh web-prod-1 sudo systemctl restart nginx")
    assert refused["decision"]["decision"] == "deny"
    assert "Production Protection is active" in str(refused["decision"])
    assert refused["card"] is None
    after = httpx.get(f"{server.url}/api/v1/cards", headers=server.owner).json()["total"]
    assert after == before
    page.reload()
    expect()(page.get_by_test_id("toggle-production_protection")).to_contain_text("Enabled")
    page.context.close()


def test_inventory_audit_and_phone_width(browser: Any, server: Server) -> None:
    page = login(browser, server, "ada", viewport={"width": 390, "height": 844})
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390, f"the inbox scrolls sideways at phone width ({width} px)"
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{server.url}/inventory")
    row = page.locator("tr[data-target='web-staging-1']")
    row.get_by_label("Access of web-staging-1").select_option("read_only")
    row.get_by_role("button", name="Save").click()
    expect()(page.get_by_role("status").first).to_contain_text("Saved web-staging-1")
    expect()(page.get_by_label("Access of web-staging-1")).to_have_value("read_only")
    # An admin cannot take a target out of production (owners only, SPEC §6).
    prod = page.locator("tr[data-target='web-prod-1']")
    prod.get_by_label("Environment of web-prod-1").select_option("staging")
    prod.get_by_role("button", name="Save").click()
    expect()(page.get_by_test_id("inventory-error")).to_contain_text("owner")
    # This test's own settings change (the module's other tests may run or not):
    # a longer approval TTL, then back.
    ttl = httpx.get(f"{server.url}/api/v1/settings", headers=server.owner).json()
    for seconds in (ttl["approval_ttl_seconds"] + 60, ttl["approval_ttl_seconds"]):
        r = httpx.patch(
            f"{server.url}/api/v1/settings",
            headers=server.owner,
            json={"approval_ttl_seconds": seconds},
        )
        assert r.status_code == 200, r.text
    page.goto(f"{server.url}/audit?event=settings.*")
    rows = page.locator("table.audit tbody tr")
    expect()(rows.first).to_contain_text("settings.changed")
    rows.first.locator("a").click()
    expect()(page.get_by_test_id("entry-json")).to_contain_text("approval_ttl_seconds")
    page.goto(f"{server.url}/audit")
    page.get_by_role("link", name="Verify the chain").click()
    expect()(page.get_by_test_id("verdict")).to_contain_text("Intact")
    page.context.close()


def test_a_leaked_token_is_revoked_from_the_people_page(browser: Any, server: Server) -> None:
    """An admin creates an agent token (its secret shown once), the token works, the
    admin revokes it (confirmed first), and the API refuses it from then on."""
    page = login(browser, server, "ada")
    page.get_by_role("link", name="People").click()
    expect()(page.locator("tr[data-user='vic']")).to_contain_text("viewer")
    page.get_by_label("Token name").fill("laptop-agent")
    page.get_by_label("Token role").select_option("agent")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_test_id("new-secret").locator("code").inner_text().strip()
    assert secret.startswith("og_")
    bearer = {"Authorization": f"Bearer {secret}"}
    body = {"tool": "Bash", "input": {"command": "ls"}}
    assert httpx.post(f"{server.url}/api/v1/evaluate", headers=bearer, json=body).status_code == 200
    page.goto(f"{server.url}/people")  # a fresh GET, not the creating POST again
    expect()(page.locator("tr[data-token='laptop-agent']")).to_be_visible()
    assert secret not in page.content()  # shown once, never again
    page.get_by_role("button", name="Revoke laptop-agent").click()
    # Destructive: asked first, in place; the token works until the answer is yes.
    expect()(page.get_by_test_id("ask")).to_contain_text("Revoke the token laptop-agent?")
    assert httpx.post(f"{server.url}/api/v1/evaluate", headers=bearer, json=body).status_code == 200
    page.get_by_test_id("ask").get_by_role("button", name="Revoke laptop-agent").click()
    expect()(page.get_by_role("status").first).to_contain_text("Revoked laptop-agent")
    expect()(page.locator("tr[data-token='laptop-agent']")).to_contain_text("revoked")
    assert httpx.post(f"{server.url}/api/v1/evaluate", headers=bearer, json=body).status_code == 401
    page.context.close()


def test_verification_shows_where_the_chain_breaks(browser: Any, server: Server) -> None:
    """Last: it tampers with the audit log."""
    import sqlite3

    db = sqlite3.connect(server.home / "audit.db")
    with db:
        db.execute(
            "UPDATE audit_entries SET body = CAST(replace(CAST(body AS TEXT), "
            '\'"actor":{\', \'"actor":{"x":1,\') AS BLOB) WHERE seq = 3'
        )
    db.close()
    page = login(browser, server, "vic")
    page.goto(f"{server.url}/audit/verify")
    expect()(page.get_by_test_id("verdict")).to_contain_text("Broken")
    expect()(page.locator("ul.problems")).to_contain_text("entry 3")
    page.context.close()


def test_production_protection_cancels_an_open_card_on_every_page_within_a_second(
    browser: Any, server: Server
) -> None:
    """Issue 15.1: the approver is never left with an approvable card that can no
    longer run; every open page shows it cancelled, with the reason."""
    settings = f"{server.url}/api/v1/settings"
    off = httpx.patch(settings, headers=server.owner, json={"production_protection": False})
    assert off.status_code == 200, off.text
    card_id = server.propose("ssh web-prod-1 sudo systemctl restart nginx")["card"]["id"]
    pages = [login(browser, server, "ada"), login(browser, server, "vic")]
    for page in pages:
        expect()(card(page, card_id).get_by_test_id("status")).to_have_text("Action Required")
    started = time.monotonic()
    on = httpx.patch(settings, headers=server.owner, json={"production_protection": True})
    assert on.status_code == 200, on.text
    for page in pages:
        expect()(card(page, card_id).get_by_test_id("status")).to_have_text(
            "Cancelled", timeout=5000
        )
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"the cancellation took {elapsed:.2f} s to reach every page"
    for page in pages:
        reason = card(page, card_id).get_by_test_id("reason")
        expect()(reason).to_contain_text("Production Protection was turned on by owner")
        expect()(card(page, card_id).get_by_role("button", name="Allow")).to_have_count(0)
        page.context.close()
    assert server.card_state(card_id) == "cancelled"


def test_an_approved_card_says_when_the_agents_retry_used_it(browser: Any, server: Server) -> None:
    """Issue 15.1: not "waiting to run" forever: the page shows the retry that used it."""
    command = "ssh app-staging-2 sudo systemctl restart varnish"  # not the read-only one
    proposed = server.propose(command)
    assert proposed["card"] is not None, proposed["decision"]
    card_id = proposed["card"]["id"]
    page = login(browser, server, "ada")
    c = card(page, card_id)
    c.get_by_role("button", name="Allow").click()
    expect()(c.get_by_test_id("status")).to_have_text("Approved — waiting to run")
    expect()(c.get_by_test_id("approved-by")).to_contain_text("Approved by ada at")
    retry = server.propose(command)
    assert retry["grant"] is not None and retry["card"] is None
    expect()(c.get_by_test_id("status")).to_have_text(
        "Approved — used by the agent's retry", timeout=5000
    )
    expect()(c.get_by_test_id("used-by")).to_contain_text("Used by claude's retry at")
    expect()(c.get_by_test_id("used-by")).to_contain_text("audit entry")
    assert server.card_state(card_id) == "used"
    page.context.close()
