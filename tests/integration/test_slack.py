# ruff: noqa: F811  (pytest fixtures imported from test_server_api are redefined as parameters)
"""Approving where people are (issue 15.5): Slack interactive messages.

The control plane runs in-process; Slack is ``slack_fake.FakeSlack``, a real HTTP
server speaking the Web API's request and response shapes, and every click is a
request signed exactly as Slack signs it (v0 HMAC-SHA256 of
``v0:{timestamp}:{body}``).  Forged, tampered, stale, future-dated and replayed
requests are refused before anything happens; a linked person acts with their own
role through the same service calls as the console.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_fake import BOT_TOKEN, SIGNING_SECRET, TEAM, FakeSlack, block_action, signed
from test_server_api import (  # noqa: F401  (fixtures)
    CAUTION,
    DESTRUCTIVE,
    PUBLIC,
    ApiClient,
    Org,
    control,
    home,
    org,
    propose,
)

from opsgate.approvals.service import ControlPlane
from opsgate.server import AppConfig, create_app, slack
from opsgate.server.notify import NotifyConfig
from opsgate.web._security import csrf_token

CHANNEL = "C0APPROVALS"
URL = "/api/v1/slack/interactions"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    f = FakeSlack(channels=(CHANNEL,))
    yield f
    f.close()


def configured(fake: FakeSlack, **extra: Any) -> NotifyConfig:
    return NotifyConfig(
        slack_bot_token=BOT_TOKEN,
        slack_channel=CHANNEL,
        slack_signing_secret=SIGNING_SECRET,
        slack_team_id=TEAM,
        slack_api_url=fake.url,
        backoff=0.01,
        **extra,
    )


@pytest.fixture
def client(control: ControlPlane, fake: FakeSlack) -> Iterator[ApiClient]:
    app = create_app(
        control,
        config=AppConfig(public_url=PUBLIC, expire_interval=0),
        notify=configured(fake),
    )
    with ApiClient(app) as c:
        yield c


def actions(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def context(message: dict[str, Any]) -> str:
    return " ".join(
        e["text"] for b in message["blocks"] if b["type"] == "context" for e in b["elements"]
    )


def click(client: ApiClient, payload: dict[str, Any], **options: Any) -> Any:
    body, headers = signed(payload, **options)
    return client.post(URL, content=body, headers=headers)


def link(client: ApiClient, org: Org, fake: FakeSlack, role: str, slack_user: str) -> None:
    """The console's flow: the person names their Slack member ID; Slack's user
    clicks Confirm link in the direct message opsgate sends."""
    session = org.sessions[role]
    before = len(fake.calls_to("chat.postMessage"))
    r = client.post(
        "/people",
        data={"csrf": csrf_token(session), "action": "slack-link", "slack_user": slack_user},
        headers={"Cookie": f"opsgate_session={session}"},
    )
    assert r.status_code == 303, r.text
    sent = fake.wait("chat.postMessage", before + 1)[-1]
    assert sent["channel"] == slack_user
    (confirm,) = [a for a in actions(sent) if a["action_id"] == slack.LINK]
    channel, ts = next(reversed(fake.messages))
    payload = block_action(slack.LINK, confirm["value"], user=slack_user, channel=channel,
                           message_ts=ts)  # fmt: skip
    r = click(client, payload)
    assert r.status_code == 200, r.text
    assert "Linked" in fake.messages[(channel, ts)]["text"]


def card_updates(fake: FakeSlack) -> list[dict[str, Any]]:
    return [u for u in fake.calls_to("chat.update") if u["channel"] == CHANNEL]


def wait_update(fake: FakeSlack, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while len(card_updates(fake)) < count:
        assert time.monotonic() < deadline, fake.calls
        time.sleep(0.02)
    return card_updates(fake)[-1]


def state(org: Org, card_id: str) -> str:
    return org.control.get_card(org.principals["owner"], card_id).state.value


# --- messages ----------------------------------------------------------------------------------


def test_a_pending_card_posts_with_approve_and_deny_and_follows_a_console_decision(
    client: ApiClient, org: Org, fake: FakeSlack
) -> None:
    card = propose(client, org, {**CAUTION, "reasoning": "token=sk-live-abcdef123456"})["card"]
    (posted,) = fake.wait("chat.postMessage", 1)
    assert posted["channel"] == CHANNEL
    buttons = {a["action_id"]: a for a in actions(posted)}
    assert buttons[slack.APPROVE]["value"] == card["id"]
    assert buttons[slack.APPROVE]["style"] == "primary" and "confirm" in buttons[slack.APPROVE]
    assert buttons[slack.DENY]["value"] == card["id"] and buttons[slack.DENY]["style"] == "danger"
    assert buttons["opsgate_open"]["url"] == f"{PUBLIC}/cards/{card['id']}"
    assert "needs approval" in posted["text"]
    assert "sk-live" not in str(posted) and "rollout restart" not in str(posted)  # no input
    r = client.post(f"/api/v1/cards/{card['id']}/approve", json={}, headers=org.headers("admin"))
    assert r.status_code == 200, r.text
    updated = wait_update(fake, 1)
    assert (updated["channel"], updated["ts"]) in fake.messages
    assert updated["ts"] == next(iter(fake.messages))[1]
    assert "Approved by ada" in context(updated)
    assert [a["action_id"] for a in actions(updated)] == ["opsgate_open"]  # no more buttons


def test_a_destructive_card_links_to_the_console_instead_of_offering_approve(
    client: ApiClient, org: Org, fake: FakeSlack
) -> None:
    card = propose(client, org, DESTRUCTIVE)["card"]
    (posted,) = fake.wait("chat.postMessage", 1)
    ids = [a["action_id"] for a in actions(posted)]
    assert slack.APPROVE not in ids and slack.DENY in ids
    typed = [a for a in actions(posted) if "console" in a["text"]["text"]]
    assert typed and typed[0]["url"] == f"{PUBLIC}/cards/{card['id']}"
    # A forged Approve for it (the button is not there, a request can still say it):
    link(client, org, fake, "admin", "U0ADA")
    assert click(client, block_action(slack.APPROVE, card["id"], user="U0ADA")).status_code == 200
    assert state(org, card["id"]) == "pending"  # the typed name is the console's
    note = fake.wait("chat.postEphemeral", 1)[-1]
    assert note["user"] == "U0ADA" and "type the name there" in note["text"]


# --- clicks ------------------------------------------------------------------------------------


def test_a_linked_admin_approves_and_denies_from_slack(
    client: ApiClient, org: Org, fake: FakeSlack
) -> None:
    link(client, org, fake, "admin", "U0ADA")
    approved = propose(client, org, CAUTION)["card"]
    r = click(client, block_action(slack.APPROVE, approved["id"], user="U0ADA"))
    assert r.status_code == 200, r.text
    card = org.control.get_card(org.principals["owner"], approved["id"])
    assert card.state.value == "approved" and card.decided_by == org.user_ids["admin"]
    update = wait_update(fake, 1)
    assert "Approved by ada" in context(update)

    denied = propose(
        client,
        org,
        {
            "tool": "Bash",
            "input": {"command": "kubectl --context staging scale deploy/x --replicas=0"},
        },
    )["card"]
    r = click(client, block_action(slack.DENY, denied["id"], user="U0ADA"))
    assert r.status_code == 200
    card = org.control.get_card(org.principals["owner"], denied["id"])
    assert card.state.value == "denied" and card.reason == "denied by ada in Slack"
    page = client.get("/api/v1/audit?event=card.denied", headers=org.headers("owner")).json()
    assert page["items"][0]["actor"]["name"] == "ada"


def test_the_same_role_rules_apply_and_strangers_are_told_to_link(
    client: ApiClient, org: Org, fake: FakeSlack
) -> None:
    card = propose(client, org, CAUTION)["card"]
    # Nobody linked U0EVE; a display name of "ada" changes nothing.
    payload = block_action(slack.APPROVE, card["id"], user="U0EVE")
    payload["user"].update(username="ada", name="ada")
    assert click(client, payload).status_code == 200
    assert state(org, card["id"]) == "pending"
    note = fake.wait("chat.postEphemeral", 1)[-1]
    assert note["user"] == "U0EVE" and "not linked" in note["text"]
    # A viewer never approves, in Slack or anywhere.
    link(client, org, fake, "viewer", "U0VIC")
    assert click(client, block_action(slack.APPROVE, card["id"], user="U0VIC")).status_code == 200
    assert state(org, card["id"]) == "pending"
    note = fake.wait("chat.postEphemeral", 2)[-1]
    assert note["user"] == "U0VIC" and "viewer role never approves" in note["text"]


@pytest.mark.parametrize(
    "forgery",
    ["wrong-secret", "tampered-body", "stale", "future", "no-signature", "no-timestamp", "v1"],
)
def test_requests_slack_did_not_sign_just_now_are_refused(
    client: ApiClient, org: Org, fake: FakeSlack, forgery: str
) -> None:
    link(client, org, fake, "admin", "U0ADA")
    card = propose(client, org, CAUTION)["card"]
    payload = block_action(slack.APPROVE, card["id"], user="U0ADA")
    body, headers = signed(payload)
    if forgery == "wrong-secret":
        body, headers = signed(payload, secret="not-the-signing-secret")
    elif forgery == "tampered-body":
        other = block_action(slack.APPROVE, "c_someotherid000", user="U0ADA")
        body = signed(other)[0]  # another body under this body's signature
    elif forgery == "stale":
        body, headers = signed(payload, at=time.time() - slack.MAX_AGE - 5)
    elif forgery == "future":
        body, headers = signed(payload, at=time.time() + slack.MAX_AGE + 5)
    elif forgery == "no-signature":
        headers.pop("X-Slack-Signature")
    elif forgery == "no-timestamp":
        headers.pop("X-Slack-Request-Timestamp")
    elif forgery == "v1":
        headers["X-Slack-Signature"] = headers["X-Slack-Signature"].replace("v0=", "v1=")
    r = client.post(URL, content=body, headers=headers)
    assert r.status_code == 401, r.text
    assert state(org, card["id"]) == "pending"
    assert fake.calls_to("chat.postEphemeral") == []  # nothing was acted on, nobody told


def test_a_replayed_request_is_refused_and_acts_once(
    client: ApiClient, org: Org, fake: FakeSlack
) -> None:
    link(client, org, fake, "admin", "U0ADA")
    card = propose(client, org, CAUTION)["card"]
    body, headers = signed(block_action(slack.APPROVE, card["id"], user="U0ADA"))
    assert client.post(URL, content=body, headers=headers).status_code == 200
    assert state(org, card["id"]) == "approved"
    again = client.post(URL, content=body, headers=headers)
    assert again.status_code == 409 and "replay" in again.text
    assert fake.calls_to("chat.postEphemeral") == []  # the replay never reached the service
    approvals = client.get(
        "/api/v1/audit?event=card.approved", headers=org.headers("owner")
    ).json()["items"]
    assert len([e for e in approvals if e["result"]["card"] == card["id"]]) == 1


def test_another_workspace_and_an_unconfigured_app_are_refused(
    client: ApiClient, org: Org, control: ControlPlane, fake: FakeSlack
) -> None:
    card = propose(client, org, CAUTION)["card"]
    r = click(client, block_action(slack.APPROVE, card["id"], user="U0ADA", team="T0ELSEWHERE"))
    assert r.status_code == 403
    bare = create_app(control, config=AppConfig(public_url=PUBLIC, expire_interval=0))
    with ApiClient(bare) as other:
        body, headers = signed(block_action(slack.APPROVE, card["id"], user="U0ADA"))
        assert other.post(URL, content=body, headers=headers).status_code == 404
    assert state(org, card["id"]) == "pending"


# --- linking -----------------------------------------------------------------------------------


def test_a_link_is_completed_only_by_the_slack_account_it_names(
    client: ApiClient, org: Org, fake: FakeSlack
) -> None:
    session = org.sessions["admin"]
    cookie = {"Cookie": f"opsgate_session={session}"}
    form = {"csrf": csrf_token(session), "action": "slack-link", "slack_user": "U0ADA"}

    def ask() -> tuple[str, str, str]:
        """Start a link; (code, channel, ts) of the direct message it sent."""
        before = len(fake.calls_to("chat.postMessage"))
        assert client.post("/people", data=form, headers=cookie).status_code == 303
        sent = fake.wait("chat.postMessage", before + 1)[-1]
        assert "ada" in sent["text"]
        channel, ts = next(reversed(fake.messages))
        code = next(a["value"] for a in actions(sent) if a["action_id"] == slack.LINK)
        return code, channel, ts

    def press(action: str, code: str, user: str, channel: str, ts: str) -> str:
        payload = block_action(action, code, user=user, channel=channel, message_ts=ts)
        assert click(client, payload).status_code == 200
        return str(fake.messages[(channel, ts)]["text"])

    code, channel, ts = ask()
    assert channel == "D0ADA"  # the app's direct message with that member
    # Someone else clicking the (forwarded) message does not link anyone.
    said = press(slack.LINK, code, "U0EVE", channel, ts)
    assert "Not linked: this link was made for another account" in said
    assert org.control.linked_principal("slack", f"{TEAM}:U0EVE") is None
    assert org.control.linked_principal("slack", f"{TEAM}:U0ADA") is None
    # The code was used up by that attempt: ada starts again and confirms.
    code, channel, ts = ask()
    assert "Linked" in press(slack.LINK, code, "U0ADA", channel, ts)
    me = org.control.linked_principal("slack", f"{TEAM}:U0ADA")
    assert me is not None and me.name == "ada" and me.role.value == "admin"
    assert "expired or was used" in press(slack.LINK, code, "U0ADA", channel, ts)  # single use
    page = client.get("/people", headers=cookie).text
    assert re.search(r"Linked to the Slack member <code>U0ADA</code>", page)
    # "Not me" drops a pending link.
    code, channel, ts = ask()
    assert "Not linked" in press(slack.NOT_ME, code, "U0ADA", channel, ts)
    assert "expired or was used" in press(slack.LINK, code, "U0ADA", channel, ts)
    # Unlinking from the console.
    unlink = {"csrf": csrf_token(session), "action": "slack-unlink"}
    assert client.post("/people", data=unlink, headers=cookie).status_code == 303
    assert org.control.linked_principal("slack", f"{TEAM}:U0ADA") is None


def test_a_bad_member_id_is_refused_and_nothing_is_sent(
    client: ApiClient, org: Org, fake: FakeSlack
) -> None:
    session = org.sessions["admin"]
    r = client.post(
        "/people",
        data={"csrf": csrf_token(session), "action": "slack-link", "slack_user": "@ada"},
        headers={"Cookie": f"opsgate_session={session}"},
    )
    assert r.status_code == 422 and "member ID" in r.text
    assert fake.calls_to("chat.postMessage") == []


def test_verify_accepts_five_minutes_and_not_a_second_more() -> None:
    body = b"payload=%7B%7D"
    now = 1_700_000_000
    for age in (0, slack.MAX_AGE, -slack.MAX_AGE):
        stamp = str(now - age)
        slack.verify(SIGNING_SECRET, stamp, slack.signature(SIGNING_SECRET, stamp, body), body, now)
    for age in (slack.MAX_AGE + 1, -slack.MAX_AGE - 1):
        stamp = str(now - age)
        with pytest.raises(slack.BadRequest):
            slack.verify(
                SIGNING_SECRET, stamp, slack.signature(SIGNING_SECRET, stamp, body), body, now
            )
    # The reference example from Slack's documentation of request signing.
    example = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id"
        b"=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook"
        b"-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39"
        b"7700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a1"
        b"4d10d2c447fce8b6703c"
    )
    assert slack.signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", example) == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )
