"""People and API tokens: add a person, set roles, disable and enable, reset a
password; the tokens agents and automation use (above all, revoking a leaked one
from the browser); your own password and your Slack link.

Every rule is the service's (SPEC §6, ``_control_people``, ``_control_accounts``):
anyone signed in sees the people; admins add people (up to their own role) and
manage members and viewers, owners anyone; only owners change roles; members and
up see and revoke their own tokens, admins and owners all of them.  The page shows
controls only to those who may use them, and the service refuses anyway.

Every POST redirects (post/redirect/get); what it has to show once — a new
token's secret, a new password — travels in a one-time flash (``_flash``), so a
reload creates nothing and shows nothing again.  Revoking, disabling and
resetting are confirmed first (``_forms``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsgate.approvals.model import Denied, Role, User
from opsgate.approvals.service import Principal
from opsgate.server.auth import SESSION_COOKIE, in_thread
from opsgate.web._flash import redirect_with, take_flash
from opsgate.web._forms import confirm_page, confirmed
from opsgate.web._render import control, login_redirect, render, viewer
from opsgate.web._security import BadForm, check_csrf, page_headers, read_form

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PEOPLE_ROLES = (Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER)
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def _token_roles(me: Principal) -> list[Role]:
    """The roles ``me`` may give a new token: agent always; up to their own from admin."""
    if me.role.rank < Role.ADMIN.rank:
        return [Role.AGENT]
    return [Role.AGENT, *(r for r in PEOPLE_ROLES if r.rank <= me.role.rank)]


def manages(me: Principal, user: User) -> bool:
    """Whether ``me`` may disable, enable or reset ``user`` (the service's rule)."""
    if me.role is Role.OWNER:
        return True
    return me.role is Role.ADMIN and user.role.rank < Role.ADMIN.rank


async def _page(request: Request, me: Principal, status: int = 200, **extra: Any) -> Response:
    plane = control(request)
    users = await in_thread(lambda: plane.list_users(me))
    may_tokens = me.role.rank >= Role.MEMBER.rank  # the console's callers are people
    tokens = await in_thread(lambda: plane.list_tokens(me)) if may_tokens else []
    links = await in_thread(lambda: plane.account_links(me, "slack"))
    names = {u.id: u.name for u in users}
    return render(
        request,
        "people.html",
        me,
        status=status,
        users=[{"user": u, "manage": manages(me, u), "slack": links.get(u.id)} for u in users],
        tokens=sorted(tokens, key=lambda t: (t.revoked, -t.created_at)),
        creators=names,
        may_tokens=may_tokens,
        may_roles=me.role is Role.OWNER,
        may_add=me.role.rank >= Role.ADMIN.rank,
        sees_all=me.role.rank >= Role.ADMIN.rank,
        people_roles=[r.value for r in PEOPLE_ROLES],
        add_roles=[r.value for r in PEOPLE_ROLES if r.rank <= me.role.rank],
        token_roles=[r.value for r in _token_roles(me)],
        my_slack=links.get(me.id),
        slack_ready=request.app.state.og.notifier.slack is not None,
        **extra,
    )


@router.get("/people", response_class=HTMLResponse)
async def people_page(request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    return await _page(request, me, **await take_flash(request))


Action = Callable[[Request, Principal, dict[str, str]], Awaitable[Response]]


@router.post("/people", response_class=HTMLResponse)
async def people_change(request: Request) -> Response:
    """One form action per button: see ``_ACTIONS``."""
    me = await viewer(request)
    if me is None:
        return render(request, "error.html", None, status=401, message="log in again")
    try:
        form = await read_form(request)
        check_csrf(request, form)
        act = _ACTIONS.get(form.get("action", ""))
        if act is None:
            raise BadForm("unknown action", status=400)
        return await act(request, me, form)
    except BadForm as exc:
        return render(request, "error.html", me, status=exc.status, message=exc.message)
    except Denied as exc:
        return await _page(request, me, status=exc.status, error=exc.reason)


def _role(value: str) -> Role:
    """The role named in the form; which roles are allowed where is the service's rule."""
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise Denied(f"choose a role: {names}", status=422, code="bad_role") from None


async def _user(request: Request, me: Principal, user_id: str) -> User:
    plane = control(request)
    for user in await in_thread(lambda: plane.list_users(me)):
        if user.id == user_id:
            return user
    raise Denied(f"no user {user_id!r}", status=404, code="not_found")


def _new_password() -> str:
    return secrets.token_urlsafe(12)


# --- people ----------------------------------------------------------------------------------


async def _set_role(request: Request, me: Principal, form: dict[str, str]) -> Response:
    role = _role(form.get("role", ""))
    plane = control(request)
    user = await in_thread(lambda: plane.set_role(me, form.get("user", ""), role))
    return await redirect_with(request, "/people", notice=f"{user.name} is now {user.role.value}.")


async def _add(request: Request, me: Principal, form: dict[str, str]) -> Response:
    role = _role(form.get("role", ""))
    name, password = form.get("name", "").strip(), _new_password()
    plane = control(request)
    user = await in_thread(lambda: plane.create_user(me, name, password, role))
    return await redirect_with(
        request,
        "/people",
        notice=f"Added {user.name} ({user.role.value}).",
        password={"name": user.name, "value": password},
    )


async def _disable(request: Request, me: Principal, form: dict[str, str]) -> Response:
    user = await _user(request, me, form.get("user", ""))
    disable = form.get("action") == "disable"
    if disable and not confirmed(form):
        return confirm_page(
            request,
            me,
            form,
            question=f"Disable {user.name}? They are logged out everywhere at once, cannot "
            "log in, and the tokens that act for them stop working. You can enable them again.",
            verb=f"Disable {user.name}",
            back="/people",
        )
    plane = control(request)
    await in_thread(lambda: plane.set_disabled(me, user.id, disable))
    said = f"Disabled {user.name}: logged out everywhere." if disable else f"Enabled {user.name}."
    return await redirect_with(request, "/people", notice=said)


async def _reset(request: Request, me: Principal, form: dict[str, str]) -> Response:
    user = await _user(request, me, form.get("user", ""))
    if not confirmed(form):
        return confirm_page(
            request,
            me,
            form,
            question=f"Give {user.name} a new password? Their current one stops working and "
            "they are logged out everywhere; you will see the new one once, to pass on.",
            verb=f"Reset {user.name}'s password",
            back="/people",
        )
    password = _new_password()
    plane = control(request)
    await in_thread(lambda: plane.set_password(me, user.id, password))
    return await redirect_with(
        request,
        "/people",
        notice=f"{user.name} has a new password; their sessions ended.",
        password={"name": user.name, "value": password},
    )


async def _own_password(request: Request, me: Principal, form: dict[str, str]) -> Response:
    new = form.get("new", "")
    if new != form.get("again", ""):
        raise Denied("the new passwords differ", status=422, code="bad_password")
    plane = control(request)
    await in_thread(lambda: plane.set_password(me, me.id, new, current=form.get("current", "")))
    # Every session of yours ended, this one too: log in again with the new password.
    response = page_headers(RedirectResponse("/login?changed=1", status_code=303))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


# --- Slack -------------------------------------------------------------------------------------


async def _slack_link(request: Request, me: Principal, form: dict[str, str]) -> Response:
    slack = request.app.state.og.notifier.slack
    if slack is None:
        raise Denied("Slack is not connected to this opsgate", status=409, code="no_slack")
    member = form.get("slack_user", "").strip().upper()
    if not _SLACK_ID.match(member):
        raise Denied(
            "a Slack member ID looks like U012AB3CD (Slack: your profile → ⋮ → Copy member ID)",
            status=422,
            code="bad_slack_id",
        )
    plane = control(request)
    code = await in_thread(lambda: plane.start_link(me, "slack", member))
    from opsgate.server.slack import SlackError

    try:
        await slack.ask_to_link(me.name, member, code)
    except SlackError as exc:
        raise Denied(f"Slack refused the message ({exc}); check the member ID",
                     status=502, code="slack_error") from None  # fmt: skip
    return await redirect_with(
        request,
        "/people",
        notice=f"Check Slack: opsgate sent {member} a message. Click Confirm link there "
        "(within 10 minutes) to finish.",
    )


async def _slack_unlink(request: Request, me: Principal, form: dict[str, str]) -> Response:
    user_id = form.get("user") or me.id
    plane = control(request)
    removed = await in_thread(lambda: plane.unlink_account(me, "slack", user_id))
    said = "Unlinked the Slack account." if removed else "There was no Slack account to unlink."
    return await redirect_with(request, "/people", notice=said)


# --- tokens ------------------------------------------------------------------------------------


async def _create_token(request: Request, me: Principal, form: dict[str, str]) -> Response:
    role = _role(form.get("role", ""))
    name = form.get("name", "").strip()
    plane = control(request)
    info, secret = await in_thread(lambda: plane.create_token(me, name, role))
    # Shown once, on the page this redirects to; the service keeps just its hash.
    return await redirect_with(
        request,
        "/people",
        notice=f"Created the {info.role.value} token {info.name}.",
        secret=secret,
    )


async def _revoke(request: Request, me: Principal, form: dict[str, str]) -> Response:
    plane = control(request)
    token_id = form.get("token", "")
    if not confirmed(form):
        found = [t for t in await in_thread(lambda: plane.list_tokens(me)) if t.id == token_id]
        name = found[0].name if found else token_id
        return confirm_page(
            request,
            me,
            form,
            question=f"Revoke the token {name}? Whatever uses it is refused at once, on every "
            "replica. This cannot be undone: a new token has a new secret.",
            verb=f"Revoke {name}",
            back="/people",
        )
    info = await in_thread(lambda: plane.revoke_token(me, token_id))
    return await redirect_with(
        request, "/people", notice=f"Revoked {info.name}: it no longer works anywhere."
    )


_ACTIONS: dict[str, Action] = {
    "role": _set_role,
    "add": _add,
    "disable": _disable,
    "enable": _disable,
    "reset": _reset,
    "password": _own_password,
    "slack-link": _slack_link,
    "slack-unlink": _slack_unlink,
    "create": _create_token,
    "revoke": _revoke,
}
