"""What opsgate knows about undoing an agent's action, for the card (SPEC §6).

A card carries a rollback plan that opsgate itself knows for the action — the
previous tip for a force push, re-creating a deleted Kubernetes object from its
manifest, ``helm rollback`` after an upgrade, restoring the dump the same command
takes first — or nothing, which the card shows as "No rollback known" (and, for a
destructive action, "This cannot be undone").  The agent's own plan, when it gives
one, is shown beside it as the agent's words.

The plan is built from the words of the command each finding came from: the
command is split into simple commands (``shlex``, which never runs anything), and
each finding that changes something is matched to the first of them that carries
its evidence.  A plan is given only when every such finding has one; one change
without a known way back makes the whole action one without.  Plans quote the
agent's words (names, branches, files) as they are: they are shown escaped, and
scrubbed of secrets like the command itself.  Pure; bounded (``_clause.MAX_WORDS``).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from opsgate.approvals._clause import Words, quoted, segment_of, segments, split, unwrapped
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
    for finding in changes:
        found = segment_of(finding, clauses)
        if found is None:
            return ""
        index, words = found
        plan = _plan(finding, words, clauses[:index], action)
        if not plan:
            return ""
        remote = remote_of(finding)
        if remote is not None:
            plan = f"On {remote.host}: {plan}"
        if plan not in plans:
            plans.append(plan)
    return " ".join(plans)[:_MAX_PLAN]


# --- plans, by program ------------------------------------------------------------------------


def _plan(finding: Finding, words: list[str], before: list[list[str]], action: Action) -> str:
    if not words:
        return ""
    category = finding.category
    backup = _backup_taken(before) if category.startswith(_DATA_LOSS) else ""
    if backup:
        return backup
    planner = _PLANNERS.get(words[0])
    return planner(words[1:], category, action) if planner is not None else ""


_KUBE_VALUED = frozenset({"-n", "--namespace", "--context", "--kubeconfig", "--cluster", "--user",
                          "-l", "--selector", "-f", "--filename", "-o", "--output", "-c",
                          "--container", "--replicas", "-s", "--server", "--field-selector",
                          "--kube-context", "--revision", "--to-revision", "-p", "--patch",
                          "--type", "--timeout", "--grace-period"})  # fmt: skip
_KEEPS_DATA = frozenset({"namespace", "namespaces", "ns", "pvc", "persistentvolumeclaim",
                         "persistentvolumeclaims", "pv", "persistentvolume", "persistentvolumes",
                         "crd", "crds", "customresourcedefinition",
                         "customresourcedefinitions"})  # fmt: skip
_WORKLOADS = ("deploy", "deployment", "deployments", "daemonset", "daemonsets", "ds",
              "statefulset", "statefulsets", "sts")  # fmt: skip


def _kube_scope(options: dict[str, str]) -> str:
    scope = []
    for name, short in (("--context", "--context"), ("--namespace", "-n"), ("-n", "-n")):
        if options.get(name):
            scope.append(quoted(short, options[name]))
    return " ".join(dict.fromkeys(scope))


def _kubectl(args: Words, category: str, action: Action) -> str:
    options, pos = split(args, _KUBE_VALUED)
    if not pos:
        return ""
    verb, rest = pos[0], pos[1:]
    kube = " ".join(filter(None, ("kubectl", _kube_scope(options))))
    manifest = options.get("-f") or options.get("--filename")
    objects = _objects(rest[1:] if verb in ("set", "rollout") else rest)
    if verb == "delete":
        if manifest:
            return (f"Re-create what it deletes from the same manifests: {kube} apply -f "
                    f"{shlex.quote(manifest)} (the objects come back; data in volumes they "
                    "owned and their status do not).")  # fmt: skip
        if not objects or any(kind.lower() in _KEEPS_DATA for kind, _ in objects):
            return ""  # a namespace or a volume takes its data with it
        what = " ".join(f"{kind}/{name}" for kind, name in objects)
        return (f"Save it before approving: {kube} get {what} -o yaml > saved.yaml; "
                f"re-create it from that manifest with {kube} apply -f saved.yaml (status "
                "and data in its volumes are not restored).")  # fmt: skip
    if verb == "rollout" and rest[:1] == ["restart"]:
        return ("Nothing to roll back: the pods are replaced by new ones from the same "
                "specification.")  # fmt: skip
    if verb in ("set", "patch", "edit", "apply", "replace", "rollout") and (
        any(kind.lower() in _WORKLOADS for kind, _ in objects) or manifest
    ):
        workloads = [f"{k}/{n}" for k, n in objects if k.lower() in _WORKLOADS]
        target = " ".join(workloads) or "deploy/NAME"
        return (f"{kube} rollout undo {target} returns a Deployment, DaemonSet or "
                "StatefulSet to its previous revision; other objects: apply their previous "
                "manifests again.")  # fmt: skip
    if verb == "scale" and objects:
        kind, name = objects[0]
        return (f"Scale it back: note the count before approving ({kube} get {kind} {name} "
                f"-o jsonpath='{{.spec.replicas}}'), then {kube} scale {kind} {name} "
                "--replicas=N.")  # fmt: skip
    if verb in ("cordon", "drain") and rest:
        return f"To undo: {kube} uncordon {quoted(rest[-1])} (pods are scheduled there again)"
    return ""


def _objects(rest: Words) -> list[tuple[str, str]]:
    """``deploy web api`` or ``deploy/web svc/api`` as (kind, name) pairs."""
    if not rest:
        return []
    if "/" in rest[0]:
        return [tuple(w.split("/", 1)) for w in rest if "/" in w]  # type: ignore[misc]
    kind = rest[0]
    kinds = kind.split(",")
    if len(kinds) > 1:
        return [(k, n) for k in kinds for n in rest[1:]]
    return [(kind, name) for name in rest[1:]] or [(kind, "")]


def _helm(args: Words, category: str, action: Action) -> str:
    options, pos = split(args, _KUBE_VALUED | {"--version", "--values", "-f", "--set"})
    if len(pos) < 2:
        return ""
    verb, release = pos[0], pos[1]
    scope = " ".join(filter(None, (quoted("-n", options.get("-n") or options.get(
        "--namespace", "")) if options.get("-n") or options.get("--namespace") else "",
        quoted("--kube-context", options["--kube-context"]) if options.get(
        "--kube-context") else "")))  # fmt: skip
    helm = " ".join(filter(None, ("helm", "rollback", quoted(release), scope)))
    if verb == "upgrade":
        return f"{helm} returns the release to its previous revision (helm history lists them)."
    if verb == "install":
        uninstall = " ".join(filter(None, ("helm uninstall", quoted(release), scope)))
        return f"{uninstall} removes what it installs."
    if verb == "rollback":
        return (f"Note the current revision before approving (helm history "
                f"{quoted(release)}); {helm} <that revision> returns to it.")  # fmt: skip
    return ""


_GIT_VALUED = frozenset({"-C", "-c", "--git-dir", "--work-tree", "-o", "--push-option",
                         "--repo", "-m", "-b", "-B"})  # fmt: skip


def _git(args: Words, category: str, action: Action) -> str:
    options, pos = split(args, _GIT_VALUED)
    if not pos:
        return ""
    verb, rest = pos[0], pos[1:]
    if verb == "push":
        return _git_push(options, rest, category, action)
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


def _git_push(options: dict[str, str], rest: Words, category: str, action: Action) -> str:
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
    branch = _pushed_branch(refspecs, action)
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


def _systemctl(args: Words, category: str, action: Action) -> str:
    options, pos = split(args, frozenset({"-H", "--host", "-M", "--machine", "-t", "--type"}))
    if not pos:
        return ""
    verb, units = pos[0], pos[1:]
    scope = " --user" if "--user" in options else ""
    now = " --now" if "--now" in options else ""
    if verb in _NOTHING:
        what = quoted(*units) or "the service"
        return f"Nothing to roll back: {what} runs again with its current configuration."
    opposite = _UNITS.get(verb)
    if opposite is None or not units:
        return ""
    return f"To undo: systemctl{scope} {opposite}{now} {quoted(*units)}"


def _service(args: Words, category: str, action: Action) -> str:
    if len(args) < 2:
        return ""
    name, verb = args[0], args[1]
    if verb in _NOTHING:
        return f"Nothing to roll back: {quoted(name)} runs again with its current configuration."
    opposite = _UNITS.get(verb)
    return f"To undo: service {quoted(name)} {opposite}" if opposite else ""


def _docker(args: Words, category: str, action: Action) -> str:
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


def _migrations(runner: str) -> Callable[[Words, str, Action], str]:
    plans = {
        "alembic": ("upgrade", "alembic downgrade -1 reverts one revision (or alembic "
                    "downgrade <the current revision>)"),
        "rails": ("db:migrate", "bin/rails db:rollback reverts the last migration"),
        "rake": ("db:migrate", "bin/rake db:rollback reverts the last migration"),
        "knex": ("migrate:latest", "knex migrate:rollback reverts the last batch"),
        "sequelize": ("db:migrate", "sequelize db:migrate:undo reverts the last migration"),
    }  # fmt: skip

    def plan(args: Words, category: str, action: Action) -> str:
        verb, text = plans[runner]
        if verb not in args:
            return ""
        return f"To undo: {text}; data that a migration drops is not restored."

    return plan


def _vault(args: Words, category: str, action: Action) -> str:
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


def _npm(args: Words, category: str, action: Action) -> str:
    _options, pos = split(args, frozenset({"--tag", "--otp", "--registry", "--access"}))
    if pos[:1] == ["deprecate"] and len(pos) >= 2:
        return f'To undo: npm deprecate {quoted(pos[1])} "" (lifts the deprecation)'
    if pos[:1] == ["publish"]:
        return ("npm unpublish <name>@<version> within 72 hours of publishing (npm's rule; "
                "after that, npm deprecate); the version number cannot be used again.")  # fmt: skip
    return ""


def _deployer(text: str, verbs: tuple[str, ...]) -> Callable[[Words, str, Action], str]:
    def plan(args: Words, category: str, action: Action) -> str:
        return text if any(v in args for v in verbs) else ""

    return plan


_PLANNERS: dict[str, Callable[[Words, str, Action], str]] = {
    "kubectl": _kubectl, "oc": _kubectl, "helm": _helm, "git": _git,
    "systemctl": _systemctl, "service": _service,
    "docker": _docker, "podman": _docker, "docker-compose": lambda a, c, x: _compose(a, {}),
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

# --- a backup the same command takes first ----------------------------------------------------

# Findings that lose data: restoring a dump taken first is their only way back.
_DATA_LOSS = ("database.", "mongo.", "redis.", "datastore.", "kubernetes.delete")
_DUMPS: dict[str, tuple[tuple[str, ...], str]] = {
    "pg_dump": (("-f", "--file"), "pg_restore --clean -d <database> {file} (psql -f {file} "
                "for a plain-text dump)"),
    "pg_dumpall": (("-f", "--file"), "psql -f {file}"),
    "mysqldump": (("-r", "--result-file"), "mysql <database> < {file}"),
    "mariadb-dump": (("-r", "--result-file"), "mariadb <database> < {file}"),
    "mongodump": (("-o", "--out", "--archive"), "mongorestore {file}"),
    "etcdctl": ((), "etcdctl snapshot restore {file}"),
}  # fmt: skip


def _backup_taken(before: list[list[str]]) -> str:
    for words in reversed(before):
        words = unwrapped(words)
        if not words or words[0] not in _DUMPS:
            continue
        flags, restore = _DUMPS[words[0]]
        file = _dump_file(words, flags)
        if file:
            how = restore.format(file=quoted(file))
            return f"Restore from the dump this command takes first ({quoted(file)}): {how}."
    return ""


def _dump_file(words: Words, flags: tuple[str, ...]) -> str:
    for i, word in enumerate(words):
        name, eq, value = word.partition("=")
        if name in flags:
            if eq:
                return value
            if i + 1 < len(words):
                return words[i + 1]
        if word == ">" and i + 1 < len(words):
            return words[i + 1]
    if words[0] == "etcdctl" and "save" in words:
        return words[-1]
    return ""
