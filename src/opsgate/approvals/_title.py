"""Card titles for changes made on another machine, in words that read in five
seconds: "Restart nginx on web-staging-1 (staging), over SSH" — not the
classifier's "Systemctl restart changes host state (nginx) (on web-staging-1, via
ssh) on web-staging-1:web-staging-1 (staging)".

The host is named as the inventory names it (``policy._names``).  A family whose
reason has a shorter reading has a phrase here (data, matched on the finding's
category and reason); any other finding keeps its own reason.  Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from opsgate.approvals._clause import KUBE_VALUED, Words, segment_of, segments, split
from opsgate.approvals._title_cloud import cloud_title
from opsgate.approvals._title_sql import SQL_CLIENTS, sql_title
from opsgate.approvals._title_tools import TOOL_TITLES
from opsgate.models import Action, Environment, Finding
from opsgate.policy._names import Remote, inventory_name, landing_name, remote_of

__all__ = ["family_title", "remote_target", "remote_title"]

# category prefix, the finding's reason (without "(on host, via …)"), the phrase
_PHRASES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("service.", re.compile(r"^[\w.-]+ (?P<verb>[\w-]+) changes host state \((?P<what>[^()]+)\)$"),
     "{Verb} {what}"),
)  # fmt: skip
# How the change reaches the machine, as people say it.
_VIA = {"ssh": "over SSH", "mosh": "over SSH", "autossh": "over SSH", "sshpass": "over SSH"}


def remote_title(finding: Finding, environment: Environment) -> str | None:
    """The title of a card whose main finding is a change on another machine; None
    for any other finding (its description stays the general one)."""
    remote = remote_of(finding)
    if remote is None:
        return None
    what = _phrase(finding.category, remote.what)
    how = _VIA.get(remote.via, f"via {remote.via}")
    # Through other machines first: "…, over SSH via bastion-1" (the last hop named).
    passing = f" via {', '.join(remote.hops)}" if remote.hops else ""
    return f"{what} on {_host(finding, remote)} ({environment.label}), {how}{passing}"[:500]


def remote_target(finding: Finding) -> str | None:
    """The card's target for a change on another machine: the host by its inventory
    name, with the path when the change is to one (``web-1:/var/www``, not
    ``web-1:web-1``)."""
    remote = remote_of(finding)
    if remote is None:
        return None
    host = _host(finding, remote)
    return f"{host}:{remote.path}" if remote.path else host


def _host(finding: Finding, remote: Remote) -> str:
    return landing_name(remote, inventory_name(finding))


def _phrase(category: str, reason: str) -> str:
    for prefix, pattern, template in _PHRASES:
        found = pattern.match(reason) if category.startswith(prefix) else None
        if found is not None:
            verb = found["verb"]
            return template.format(Verb=verb[:1].upper() + verb[1:], what=found["what"])
    return reason[:1].upper() + reason[1:]


# --- titles for common families, from the command's own words ---------------------------------


def family_title(finding: Finding, environment: Environment, action: Action) -> str | None:
    """A title in the family's own words for a command run here ("Delete deploy/web in
    namespace shop on staging (staging)", "Force-push main to origin, overwriting its
    history (production)"); None when the family has no template or the command's
    words cannot be read (the general description is used)."""
    command = action.input.get("command")
    if not isinstance(command, str) or len(command) > _MAX_COMMAND:
        return None
    found = segment_of(finding, segments(command))
    if found is None or not found[1]:
        return None
    words = found[1]
    if words[0] in SQL_CLIENTS:
        phrase = sql_title(finding, words[0], words[1:], command)
    else:
        phrase = _TEMPLATES.get(words[0], _none)(words[1:], finding.category, action)
    if not phrase:
        return None
    return f"{phrase} ({environment.label})"[:500]


_MAX_COMMAND = 20_000


def _none(args: Words, category: str, action: Action) -> str:
    return ""


def _kube_where(options: dict[str, str], key: str = "--context") -> str:
    namespace = options.get("-n") or options.get("--namespace")
    where = f" in namespace {namespace}" if namespace else ""
    context = options.get(key)
    return where + (f" on {context}" if context else " on the current context")


def _kubectl(args: Words, category: str, action: Action) -> str:
    options, pos = split(args, KUBE_VALUED)
    if not pos:
        return ""
    verb, rest = pos[0], pos[1:]
    where = _kube_where(options)
    manifest = options.get("-f") or options.get("--filename")
    names = _named(rest[1:] if verb in ("set", "rollout") else rest)
    if verb == "delete":
        if manifest:
            return f"Delete what {manifest} defines{where}"
        if names and rest[0].lower() in ("ns", "namespace", "namespaces"):
            return f"Delete namespace {', '.join(rest[1:])} and everything in it{where}"
        return f"Delete {names}{where}" if names else ""
    if verb == "rollout" and rest[:1] == ["restart"] and names:
        return f"Restart every pod of {names}{where}"
    if verb == "scale" and names and options.get("--replicas"):
        return f"Scale {names} to {options['--replicas']} replicas{where}"
    if verb == "set" and rest[:1] == ["image"] and names:
        return f"Change the image of {names}{where}"
    if verb == "apply" and manifest:
        return f"Apply {manifest}{where}"
    if verb in ("drain", "cordon") and rest:
        return f"{verb.capitalize()} node {rest[-1]}{where}"
    return ""


def _named(rest: Words) -> str:
    """``deploy web api`` → ``deploy/web, deploy/api``; ``deploy/web`` stays."""
    if not rest:
        return ""
    if "/" in rest[0]:
        return ", ".join(w for w in rest if "/" in w)
    return ", ".join(f"{rest[0]}/{name}" for name in rest[1:])


def _helm(args: Words, category: str, action: Action) -> str:
    options, pos = split(args, KUBE_VALUED)
    if len(pos) < 2 or pos[0] not in ("upgrade", "install", "uninstall", "rollback"):
        return ""
    where = _kube_where(options, "--kube-context")
    return f"{pos[0].capitalize()} the Helm release {pos[1]}{where}"


def _git(args: Words, category: str, action: Action) -> str:
    _options, pos = split(args, frozenset({"-C", "-c", "-o", "--push-option", "--repo"}))
    if pos[:1] != ["push"] or category != "vcs.force_push":
        return ""
    remote = pos[1] if len(pos) > 1 else "origin"
    spec = pos[2].lstrip("+") if len(pos) > 2 else ""
    branch = (spec.partition(":")[2] or spec.partition(":")[0]).removeprefix("refs/heads/")
    if not branch or branch == "HEAD":  # the branch checked out where the hook ran
        here = (v for k, v in action.context if k.startswith("git.branch@") and v)
        branch = next(here, "the current branch")
    return f"Force-push {branch} to {remote}, overwriting its history"


def _systemctl(args: Words, category: str, action: Action) -> str:
    options, pos = split(args, frozenset({"-H", "--host", "-M", "--machine", "-t", "--type"}))
    if len(pos) < 2 or options.get("-H") or options.get("--host"):
        return ""
    verb, units = pos[0], pos[1:]
    return f"{verb.capitalize()} {', '.join(units)} on this machine"


def _cloud(program: str) -> Callable[[Words, str, Action], str]:
    return lambda args, category, action: cloud_title(program, args, action)


_TEMPLATES: dict[str, Callable[[Words, str, Action], str]] = {
    "kubectl": _kubectl, "oc": _kubectl, "helm": _helm, "git": _git, "systemctl": _systemctl,
    **{program: _cloud(program) for program in ("aws", "gcloud", "gsutil", "az")},
    **TOOL_TITLES,
}  # fmt: skip
