"""What opsgate knows about undoing an agent's action, for the card (SPEC §6).

A card carries a rollback plan that opsgate itself knows for the action — the
previous tip for a force push, re-creating a deleted Kubernetes object from a
manifest saved first (or from the manifest opsgate saw), ``kubectl rollout undo``
after an image change, ``helm rollback`` after an upgrade — or nothing, which the
card shows as "No rollback known" (and, for a destructive action, "This cannot be
undone": only opsgate's own knowledge lifts that warning, never the agent's words).
A dump the agent's command takes is not a backup opsgate can vouch for (it may go to
/dev/null, hold the schema only, or never run): opsgate's own operations take their
backups themselves (``execute``).

The plan is built from the words of the command each finding came from: the
command is split into simple commands (``shlex``, which never runs anything), and
each finding that changes something is matched to its own simple command carrying
its evidence.  A plan is given only when every such finding has one, each naming
what the command names (the last of a repeated flag, as the tools read them; the
``KUBECONFIG`` set before it; the context the hook resolved); a selection (``-l``,
``--all``, ``-k``), a second ssh hop or another machine's service has none.  Plans
quote the agent's words as they are: they are shown escaped, and scrubbed of
secrets like the command itself.  Pure; bounded (``_clause.MAX_WORDS``; a plan
longer than ``_MAX_PLAN`` is none rather than one cut short).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from opsgate.approvals._clause import (
    KUBE_VALUED,
    Words,
    quoted,
    segment_of,
    segments,
    split,
)
from opsgate.approvals._clause import objects as named_objects
from opsgate.models import Action, Decision, Effect, Finding, Impact
from opsgate.policy._names import remote_of

__all__ = ["known_rollback"]

_MAX_PLAN = 1500
_NEEDS_PLAN = (Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN)


def known_rollback(decision: Decision, action: Action) -> str:
    """opsgate's rollback plan for ``action`` as ``decision`` classified it; "" when
    none is known for one of the changes it makes."""
    command = action.input.get("command")
    changes = [
        f for f in decision.classification.findings
        if f.effect in _NEEDS_PLAN and f.impact >= Impact.CAUTION
    ]  # fmt: skip
    if not isinstance(command, str) or not changes:
        return ""
    clauses = segments(command)
    plans: list[str] = []
    taken: set[int] = set()
    for finding in changes:
        # Each change its own simple command: `kubectl … delete web && kubectl …
        # delete api` needs a plan for both, or it has none.
        found = segment_of(finding, clauses, taken)
        if found is None:
            return ""
        index, words = found
        taken.add(index)
        plan = _plan(finding, words, clauses[index], action)
        if not plan:
            return ""
        remote = remote_of(finding)
        if remote is not None:
            if sum(w.rsplit("/", 1)[-1] in _HOPS for w in clauses[index]) > 1:
                return ""  # ssh through ssh: which machine it lands on is not this plan's
            plan = f"On {remote.host}: {plan}"
        if plan not in plans:
            plans.append(plan)
    whole = " ".join(plans)
    return whole if len(whole) <= _MAX_PLAN else ""  # never a plan cut short


_HOPS = frozenset({"ssh", "mosh", "autossh", "sshpass"})

# --- plans, by program ------------------------------------------------------------------------


def _plan(finding: Finding, words: list[str], clause: list[str], action: Action) -> str:
    if not words:
        return ""
    planner = _PLANNERS.get(words[0])
    if planner is None:
        return ""
    scope = _Scope(action, clause)
    return planner(words[1:], finding.category, scope)


class _Scope:
    """What a plan needs besides the command's own words: the variables set before it
    (``KUBECONFIG=…``), the context the hook resolved, the files sent with it."""

    def __init__(self, action: Action, clause: list[str]) -> None:
        self.action = action
        self.assigned = dict(
            w.split("=", 1) for w in clause if "=" in w and not w.startswith(("-", "="))
            and w.split("=", 1)[0].isidentifier()
        )  # fmt: skip

    def resolved(self, key: str) -> str:
        return next((v for k, v in self.action.context if k == key and v), "")

    def file_text(self, path: str) -> str | None:
        """The text of a file sent with the action, matched by its path's end."""
        wanted = path.lstrip("./")
        for f in self.action.files:
            if f.text is not None and (f.path == path or f.path.endswith("/" + wanted)):
                return f.text
        return None


_KEEPS_DATA = frozenset({"namespace", "namespaces", "ns", "pvc", "persistentvolumeclaim",
                         "persistentvolumeclaims", "pv", "persistentvolume", "persistentvolumes",
                         "crd", "crds", "customresourcedefinition",
                         "customresourcedefinitions"})  # fmt: skip
_WORKLOADS = ("deploy", "deployment", "deployments", "daemonset", "daemonsets", "ds",
              "statefulset", "statefulsets", "sts")  # fmt: skip


def _kube_scope(options: dict[str, str], scope: _Scope, context_flag: str = "--context") -> str:
    """The flags that pick the cluster and namespace, as the command gave them (the
    last of a repeated flag, as kubectl reads it), else the context the hook resolved."""
    picked: list[str] = []
    if scope.assigned.get("KUBECONFIG"):
        picked.append("KUBECONFIG=" + quoted(scope.assigned["KUBECONFIG"]))
    for name in ("--kubeconfig", "--server", "-s", "--cluster", "--user"):
        if options.get(name):
            picked.append(quoted(name, options[name]))
    context = options.get(context_flag) or scope.resolved("kube.context")
    if context:
        picked.append(quoted(context_flag, context))
    namespace = _namespace(options)
    if namespace:
        picked.append(quoted("-n", namespace))
    return " ".join(picked)


def _namespace(options: dict[str, str]) -> str:
    found = options.get("-n") or options.get("--namespace") or ""
    for name in options:  # the attached form: -nshop
        if name.startswith("-n") and len(name) > 2 and not name.startswith("--"):
            found = name[2:].lstrip("=")
    return found


# Selections whose objects the command does not name: no plan names them either.
_SELECTING = ("-l", "--selector", "--all", "-A", "--all-namespaces", "-k", "--kustomize",
              "--field-selector")  # fmt: skip


def _kubectl(args: Words, category: str, scope: _Scope) -> str:
    options, pos = split(args, KUBE_VALUED)
    if not pos or any(name in options for name in _SELECTING):
        return ""
    verb, rest = pos[0], pos[1:]
    kube = " ".join(filter(None, ("kubectl", _kube_scope(options, scope))))
    if kube.startswith("kubectl KUBECONFIG="):  # the variable goes before the program
        first, _, others = kube.removeprefix("kubectl ").partition(" ")
        kube = f"{first} kubectl {others}".rstrip()
    manifest = options.get("-f") or options.get("--filename")
    objects = named_objects(rest[1:] if verb in ("set", "rollout") else rest)
    if verb == "delete":
        if manifest:
            return _from_manifest(manifest, kube, scope)
        if not objects or any(not name or kind.lower() in _KEEPS_DATA for kind, name in objects):
            return ""  # a namespace or a volume takes its data with it
        what = " ".join(f"{kind}/{name}" for kind, name in objects)
        return (f"Save it before approving: {kube} get {what} -o yaml > saved.yaml; "
                f"re-create it from that manifest with {kube} apply -f saved.yaml (status "
                "and data in its volumes are not restored).")  # fmt: skip
    if verb == "rollout" and rest[:1] == ["restart"] and objects:
        return ("Nothing to roll back: the pods are replaced by new ones from the same "
                "specification.")  # fmt: skip
    if verb == "set" and rest[:1] in (["image"], ["env"], ["resources"]) and objects:
        # Only a change to the pod template is a new revision that rollout undo reverts.
        workloads = [f"{k}/{n}" for k, n in objects if k.lower() in _WORKLOADS and n]
        if len(workloads) != len(objects) or "=" in " ".join(workloads):
            return ""
        return (f"To undo: {kube} rollout undo {' '.join(workloads)} (returns the pod "
                "template to its previous revision).")  # fmt: skip
    if verb == "scale" and len(objects) == 1 and objects[0][1]:
        kind, name = objects[0]
        return (f"Scale it back: note the count before approving ({kube} get {kind} {name} "
                f"-o jsonpath='{{.spec.replicas}}'), then {kube} scale {kind} {name} "
                "--replicas=N.")  # fmt: skip
    if verb in ("cordon", "drain") and len(rest) == 1:
        return f"To undo: {kube} uncordon {quoted(rest[0])} (pods are scheduled there again)"
    return ""


def _from_manifest(manifest: str, kube: str, scope: _Scope) -> str:
    """Re-applying the manifest brings back what it defines, when opsgate saw the file
    and it defines nothing that takes data with it (a Namespace, a volume)."""
    text = scope.file_text(manifest)
    if text is None:
        return ""  # not seen: what it holds, and so what comes back, is unknown
    kinds = {k.lower() for k in re.findall(r"^kind:\s*['\"]?(\w+)", text, re.MULTILINE)}
    if not kinds or kinds & _KEEPS_DATA or "namespace" in kinds:
        return ""
    return (f"Re-create what it deletes from the same manifests: {kube} apply -f "
            f"{quoted(manifest)} (status and data in volumes are not restored).")  # fmt: skip


def _helm(args: Words, category: str, scope: _Scope) -> str:
    options, pos = split(args, KUBE_VALUED)
    if len(pos) < 2:
        return ""
    verb, release = pos[0], pos[1]
    where = _kube_scope(options, scope, "--kube-context")
    if scope.assigned.get("KUBECONFIG"):
        return ""  # a variable before helm: keep it simple, no plan
    helm = " ".join(filter(None, ("helm rollback", quoted(release), where)))
    if verb == "upgrade":
        return f"{helm} returns the release to its previous revision (helm history lists them)."
    if verb == "install":
        uninstall = " ".join(filter(None, ("helm uninstall", quoted(release), where)))
        return f"{uninstall} removes what it installs."
    if verb == "rollback":
        return (f"Note the current revision before approving (helm history "
                f"{quoted(release)}); {helm} <that revision> returns to it.")  # fmt: skip
    return ""


_GIT_VALUED = frozenset({"-C", "-c", "--git-dir", "--work-tree", "-o", "--push-option",
                         "--repo", "-m", "-b", "-B"})  # fmt: skip


def _git(args: Words, category: str, scope: _Scope) -> str:
    options, pos = split(args, _GIT_VALUED)
    if not pos:
        return ""
    verb, rest = pos[0], pos[1:]
    if verb == "push":
        return _git_push(options, rest, category, scope)
    if verb == "reset" and "--hard" in options:
        return ("The commit it moves away from stays in the reflog: git reset --hard "
                "HEAD@{1} returns to it. Uncommitted changes it discards cannot be "
                "recovered.")  # fmt: skip
    if verb == "branch" and rest and ({"-D", "-d", "--delete"} & options.keys()):
        return (f"git prints the deleted branch's last commit (\"Deleted branch {rest[0]} "
                f"(was …)\"); git branch {quoted(rest[0])} <that commit> restores it (it "
                "is also in the reflog).")  # fmt: skip
    if verb == "stash" and rest[:1] == ["drop"]:
        return ("git prints the dropped stash's commit; git stash apply <that commit> "
                "brings it back until git gc prunes it.")  # fmt: skip
    if verb == "tag" and rest and ({"-d", "--delete"} & options.keys()):
        return (f"git prints the tag's commit (\"Deleted tag '{rest[0]}' (was …)\"); git tag "
                f"{quoted(rest[0])} <that commit> restores it.")  # fmt: skip
    if verb in ("rebase", "commit", "merge", "cherry-pick", "revert", "am"):
        return ("The previous tip stays in the reflog: git reset --hard ORIG_HEAD (or "
                "HEAD@{1}) returns to it.")  # fmt: skip
    return ""


def _git_push(options: dict[str, str], rest: Words, category: str, scope: _Scope) -> str:
    remote = rest[0] if rest else "origin"
    refspecs = list(rest[1:])
    deleted = [r.lstrip(":") for r in refspecs if r.startswith(":")]
    if "--delete" in options or "-d" in options:
        deleted = refspecs
    if deleted:
        branch = deleted[0].removeprefix("refs/heads/")
        return (f"Push it back from a clone that still has it: git push {quoted(remote)} "
                f"{quoted(f'{remote}/{branch}:refs/heads/{branch}')}.")  # fmt: skip
    if category != "vcs.force_push":
        return ""
    if len(refspecs) > 1:
        return ""  # several branches: one plan each would be needed
    branch = _pushed_branch(refspecs, scope.action)
    if not branch:
        return ""
    ref = f"{remote}/{branch}"
    return (f"Before approving, note the branch's current tip (git ls-remote "
            f"{quoted(remote, f'refs/heads/{branch}')}; a clone that has not fetched since "
            f"keeps it as {ref}). To undo, push it back: git push --force-with-lease "
            f"{quoted(remote)} {quoted(f'<that commit>:refs/heads/{branch}')}.")  # fmt: skip


def _pushed_branch(refspecs: Words, action: Action) -> str:
    if refspecs:
        spec = refspecs[0].lstrip("+")
        local, _, remote_ref = spec.partition(":")
        branch = (remote_ref or local).removeprefix("refs/heads/")
        return "" if branch == "HEAD" else branch
    for key, value in action.context:  # the branch checked out where the hook ran
        if key.startswith("git.branch@") and value:
            return value
    return ""


_UNITS = {"stop": "start", "start": "stop", "disable": "enable", "enable": "disable",
          "mask": "unmask", "unmask": "mask", "kill": "start"}  # fmt: skip
_NOTHING = ("restart", "reload", "try-restart", "reload-or-restart", "try-reload-or-restart",
            "daemon-reload")  # fmt: skip


def _systemctl(args: Words, category: str, scope: _Scope) -> str:
    options, pos = split(args, frozenset({"-H", "--host", "-M", "--machine", "-t", "--type"}))
    if not pos:
        return ""
    if {"-H", "--host", "-M", "--machine"} & options.keys():
        return ""  # another machine: this plan would run here
    verb, units = pos[0], pos[1:]
    user = " --user" if "--user" in options else ""
    now = " --now" if "--now" in options else ""
    if verb in _NOTHING:
        what = quoted(*units) or "the service"
        return f"Nothing to roll back: {what} runs again with its current configuration."
    opposite = _UNITS.get(verb)
    if opposite is None or not units:
        return ""
    return f"To undo: systemctl{user} {opposite}{now} {quoted(*units)}"


def _service(args: Words, category: str, scope: _Scope) -> str:
    if len(args) < 2:
        return ""
    name, verb = args[0], args[1]
    if verb in _NOTHING:
        return f"Nothing to roll back: {quoted(name)} runs again with its current configuration."
    opposite = _UNITS.get(verb)
    return f"To undo: service {quoted(name)} {opposite}" if opposite else ""


def _docker(args: Words, category: str, scope: _Scope) -> str:
    options, pos = split(args, frozenset({"-c", "--context", "-H", "--host", "--file",
                                           "--project-name", "--config"}))  # fmt: skip
    if not pos:
        return ""
    verb, rest = pos[0], pos[1:]
    if verb in ("compose", "docker-compose"):
        return _compose(args[args.index(verb) + 1 :], options)
    if verb in ("stop", "kill", "pause") and rest:
        opposite = "unpause" if verb == "pause" else "start"
        return f"To undo: docker {opposite} {quoted(*rest)}"
    if verb in ("rm", "container") and rest:
        names = [w for w in rest if w != "rm"]
        return (f"Run it again from the same image and options (note them before approving: "
                f"docker inspect {quoted(*names)}); what it wrote in its own filesystem is "
                "lost.")  # fmt: skip
    return ""


def _compose(rest: Words, options: dict[str, str]) -> str:
    sub_options, pos = split(rest, frozenset({"-t", "--timeout", "--rmi"}))
    verb = pos[0] if pos else ""
    if verb == "down" and not ({"-v", "--volumes"} & sub_options.keys()):
        return "docker compose up -d starts the same services again (named volumes are kept)."
    if verb == "stop":
        return f"To undo: docker compose start {quoted(*pos[1:])}".rstrip()
    return ""


def _migrations(runner: str) -> Callable[[Words, str, _Scope], str]:
    plans = {
        "alembic": ("upgrade", "alembic downgrade -1 reverts one revision (or alembic "
                    "downgrade <the current revision>)"),
        "rails": ("db:migrate", "bin/rails db:rollback reverts the last migration"),
        "rake": ("db:migrate", "bin/rake db:rollback reverts the last migration"),
        "knex": ("migrate:latest", "knex migrate:rollback reverts the last batch"),
        "sequelize": ("db:migrate", "sequelize db:migrate:undo reverts the last migration"),
    }  # fmt: skip

    def plan(args: Words, category: str, scope: _Scope) -> str:
        verb, text = plans[runner]
        if verb not in args:
            return ""
        return f"To undo: {text}; data that a migration drops is not restored."

    return plan


def _vault(args: Words, category: str, scope: _Scope) -> str:
    _options, pos = split(args, frozenset({"-mount", "-address", "-namespace"}))
    if len(pos) < 3 or pos[0] != "kv":
        return ""
    verb, path = pos[1], pos[2]
    if verb in ("put", "patch"):
        return (f"vault kv rollback -version=<the previous version> {quoted(path)} (KV v2 "
                f"keeps earlier versions: vault kv metadata get {quoted(path)}).")  # fmt: skip
    if verb == "delete":
        return f"To undo: vault kv undelete -versions=<the version> {quoted(path)}"
    return ""


def _npm(args: Words, category: str, scope: _Scope) -> str:
    _options, pos = split(args, frozenset({"--tag", "--otp", "--registry", "--access"}))
    if pos[:1] == ["deprecate"] and len(pos) >= 2:
        return f'To undo: npm deprecate {quoted(pos[1])} "" (lifts the deprecation)'
    if pos[:1] == ["publish"]:
        return ("npm unpublish <name>@<version> within 72 hours of publishing (npm's rule; "
                "after that, npm deprecate); the version number cannot be used again.")  # fmt: skip
    return ""


def _deployer(text: str, verbs: tuple[str, ...]) -> Callable[[Words, str, _Scope], str]:
    def plan(args: Words, category: str, scope: _Scope) -> str:
        return text if any(v in args for v in verbs) else ""

    return plan


_PLANNERS: dict[str, Callable[[Words, str, _Scope], str]] = {
    "kubectl": _kubectl, "oc": _kubectl, "helm": _helm, "git": _git,
    "systemctl": _systemctl, "service": _service,
    "docker": _docker, "podman": _docker,
    "docker-compose": lambda args, category, scope: _compose(args, {}),
    "alembic": _migrations("alembic"), "rails": _migrations("rails"),
    "rake": _migrations("rake"), "knex": _migrations("knex"),
    "sequelize": _migrations("sequelize"), "vault": _vault, "npm": _npm,
    "vercel": _deployer("vercel rollback returns production to the previous deployment.",
                        ("--prod", "deploy", "promote")),
    "fly": _deployer("fly releases lists earlier releases; fly deploy --image <an earlier "
                     "release's image> returns to one.", ("deploy",)),
    "flyctl": _deployer("flyctl releases lists earlier releases; flyctl deploy --image <an "
                        "earlier release's image> returns to one.", ("deploy",)),
    "heroku": _deployer("heroku rollback returns the app to its previous release.",
                        ("releases:rollback", "config:set", "config:unset", "ps:scale")),
}  # fmt: skip
