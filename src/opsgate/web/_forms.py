"""Management forms: destructive ones are confirmed first, every one redirects
after its POST (``_flash.redirect_with``).

A destructive action (revoking a token, removing a target, disabling a person)
posted without ``confirmed=1`` changes nothing: the answer is a page that says
what will happen and asks again, so one stray click never acts.  With the page's
script the question is asked in place instead, and the confirmed form posted.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from opsgate.approvals.service import Principal
from opsgate.web._render import render

__all__ = ["confirm_page", "confirmed"]


def confirmed(form: dict[str, str]) -> bool:
    return form.get("confirmed") == "1"


def confirm_page(
    request: Request,
    me: Principal,
    form: dict[str, str],
    *,
    question: str,
    verb: str,
    back: str,
) -> Response:
    fields = {k: v for k, v in form.items() if k not in ("csrf", "confirmed")}
    return render(
        request,
        "confirm.html",
        me,
        question=question,
        verb=verb,
        back=back,
        action=request.url.path,
        fields=fields,
    )
