"""What a grant binds to besides the action (``approvals._binding``), the approved
impact and environment it never goes above, and nobody approving a request made
through a token they created (issue 13, review C2, M1, L2)."""

from __future__ import annotations

import dataclasses

import pytest

from opsgate.approvals._binding import SHOWN_CONTEXT, Binding, binding_of
from opsgate.approvals.model import Card, CardState, Denied, Grant, Role, User, can_approve
from opsgate.hooks import _client, _context
from opsgate.models import Action, Classification, Environment, FileRead, Impact

NOW = 1_000_000.0
BASE = Binding(
    cwd="/home/dev/shop",
    files=(("/home/dev/shop/fix.sql", "a" * 64),),
    context=(("git.branch@/home/dev/shop", "feature/x"), ("kube.context", "staging-eu")),
)
CHANGED = {
    "file-swapped": dataclasses.replace(BASE, files=(("/home/dev/shop/fix.sql", "b" * 64),)),
    "file-added": dataclasses.replace(BASE, files=(*BASE.files, ("/home/dev/shop/b.sql", ""))),
    "cwd": dataclasses.replace(BASE, cwd="/home/dev/payments-prod"),
    "kube-context": dataclasses.replace(
        BASE, context=(("git.branch@/home/dev/shop", "feature/x"), ("kube.context", "prod-eu"))
    ),
    "branch": dataclasses.replace(
        BASE, context=(("git.branch@/home/dev/shop", "main"), ("kube.context", "staging-eu"))
    ),
    "context-missing": dataclasses.replace(BASE, context=()),
    "file-text-unseen": dataclasses.replace(BASE, unread=("/home/dev/shop/fix.sql",)),
    "kube-cluster": dataclasses.replace(
        BASE, context=(*BASE.context, ("kube.cluster", "sha256:" + "e" * 64))
    ),
}


@pytest.mark.parametrize("changed", list(CHANGED.values()), ids=list(CHANGED))
def test_the_digest_covers_files_cwd_and_context(changed: Binding) -> None:
    assert changed.digest != BASE.digest
    assert dataclasses.replace(BASE).digest == BASE.digest


def test_binding_of_takes_the_files_read_and_the_facts_resolved() -> None:
    context = (("kube.context", "staging"), ("env.PGHOST", "sha256:" + "c" * 64))
    action = Action("", "Bash", {"command": "psql -f fix.sql"}, cwd="/p", context=context)
    c = Classification((), Environment.LOCAL, "x",
                       files=(FileRead("/p/fix.sql", "d" * 64, "DROP TABLE secret_stuff;"),),
                       facts=(("git.branch@/p", "main"),))  # fmt: skip
    binding = binding_of(action, c)
    shown = binding.to_json()
    assert shown["files"] == [{"path": "/p/fix.sql", "sha256": "d" * 64, "read": True}]
    assert "secret_stuff" not in repr(shown)  # a file's text is never part of it
    assert shown["context"]["kube.context"] == "staging"
    assert shown["context"]["git.branch@/p"] == "main"
    assert (
        shown["context"]["env.PGHOST"].startswith("sha256:cccc")
        and len(shown["context"]["env.PGHOST"]) < 30
    )


def test_a_file_sent_by_hash_only_binds_apart_from_the_same_bytes_read() -> None:
    """An API caller sends a small file by hash only, so the card says opsgate cannot
    read it; the hook's retry reads the same bytes: not the same binding."""
    action = Action("", "Bash", {"command": "psql -f fix.sql"}, cwd="/p")
    seen = FileRead("/p/fix.sql", "d" * 64, "UPDATE users SET role = 'admin';")
    blind = FileRead("/p/fix.sql", "d" * 64, None)
    with_text = binding_of(action, Classification((), Environment.LOCAL, "x", files=(seen,)))
    hash_only = binding_of(action, Classification((), Environment.LOCAL, "x", files=(blind,)))
    assert with_text.digest != hash_only.digest
    assert hash_only.to_json()["files"] == [{"path": "/p/fix.sql", "sha256": "d" * 64,
                                             "read": False}]  # fmt: skip


def test_an_unnamed_value_is_shown_only_as_a_hash_whatever_the_client_sent() -> None:
    action = Action("", "Bash", {"command": "x"}, context=(("env.DATABASE_URL",
                    "postgresql://app:hunter2@db.prod/shop"),))  # fmt: skip
    shown = binding_of(action, Classification((), Environment.LOCAL, "x")).to_json()
    assert "hunter2" not in repr(shown) and shown["context"]["env.DATABASE_URL"].startswith(
        "sha256:"
    )


def test_the_hook_collects_exactly_the_keys_the_card_knows() -> None:
    named = {f"env.{n}" for n in _context.NAMED_ENV}
    assert named <= SHOWN_CONTEXT
    assert not {f"env.{n}" for n in _context.HASHED_ENV} & SHOWN_CONTEXT
    # The resident service is given each call's own values of these.
    assert _client.CONTEXT_ENV == _context.CONTEXT_ENV
    assert set(_context.CONTEXT_ENV) <= set(_client.FORWARDED_ENV)


GRANT = Grant("g", "c", "h", NOW, NOW + 60, impact=Impact.CAUTION,
              environment=Environment.STAGING)  # fmt: skip


@pytest.mark.parametrize(
    ("impact", "env", "ok"),
    [
        (Impact.CAUTION, Environment.STAGING, True),
        (Impact.SAFE, Environment.DEVELOPMENT, True),
        (Impact.DESTRUCTIVE, Environment.STAGING, False),
        (Impact.CAUTION, Environment.PRODUCTION, False),
    ],
)
def test_a_grant_never_covers_more_than_was_approved(
    impact: Impact, env: Environment, ok: bool
) -> None:
    assert GRANT.within(impact, env) is ok
    assert not dataclasses.replace(GRANT, impact=None).within(Impact.SAFE, Environment.LOCAL)


CARD = Card("c_1", CardState.PENDING, NOW, NOW + 600, "creates index", "db", Environment.STAGING,
            Impact.CAUTION, "shell.exec", {"command": "x"}, "h", "t_bot", "bot")  # fmt: skip


def test_nobody_approves_a_request_made_through_their_own_token() -> None:
    mia = User("u_mia", "mia", Role.MEMBER)
    with pytest.raises(Denied, match="API token you created"):
        can_approve(mia, CARD, now=NOW, requester_creator="u_mia")
    can_approve(mia, CARD, now=NOW, requester_creator="u_owner")  # someone else's bot
    can_approve(mia, CARD, now=NOW)
