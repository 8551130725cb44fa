"""The pure chain: canonical bytes, domain separation, genesis binding."""

from __future__ import annotations

import hashlib

from opsgate.audit import EventType
from opsgate.audit.chain import (
    ENTRY_DOMAIN,
    GENESIS_DOMAIN,
    LINK_DOMAIN,
    canonical,
    entry_hash,
    genesis,
    link_hash,
    seal,
)


def test_canonical_is_rfc8785() -> None:
    # Keys sorted by UTF-16 code units, no whitespace, shortest number forms.
    assert canonical({"b": 1, "a": [1.0, "é", None], "\u20ac": True, "A": 1e21}) == (
        '{"A":1e+21,"a":[1,"é",null],"b":1,"€":true}'.encode()
    )


def test_domains_are_distinct_and_used() -> None:
    domains = {ENTRY_DOMAIN, LINK_DOMAIN, GENESIS_DOMAIN}
    assert len(domains) == 3
    body = b'{"seq":1}'
    assert entry_hash(body) == hashlib.sha256(ENTRY_DOMAIN + body).digest()
    assert entry_hash(body) != hashlib.sha256(body).digest()
    prev = genesis("log")
    expected = hashlib.sha256(
        LINK_DOMAIN + prev + (1).to_bytes(8, "big") + entry_hash(body)
    ).digest()
    assert link_hash(prev, 1, body) == expected


def test_genesis_binds_the_log_identity() -> None:
    assert genesis("a") != genesis("b")
    body = b"{}"
    assert link_hash(genesis("a"), 1, body) != link_hash(genesis("b"), 1, body)


def test_link_binds_the_sequence_number() -> None:
    assert link_hash(b"p" * 32, 1, b"{}") != link_hash(b"p" * 32, 2, b"{}")


def test_seal_numbers_and_hashes_the_stored_bytes() -> None:
    doc = {"event": "decision.made", "time": "t"}
    body, link = seal(doc, 7, genesis("x"))
    assert body == b'{"event":"decision.made","seq":7,"time":"t"}'
    assert link == link_hash(genesis("x"), 7, body)


def test_event_names_are_stable() -> None:
    names = {e.value for e in EventType}
    assert {
        "action.proposed",
        "decision.made",
        "card.created",
        "card.approved",
        "card.denied",
        "card.expired",
        "card.cancelled",
        "execution.started",
        "execution.completed",
        "execution.failed",
        "settings.changed",
        "policy.changed",
        "user.login",
        "grant.used",
        "grant.created",
        "checkpoint.created",
        "notification.failed",
    } <= names
