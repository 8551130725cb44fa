"""Deployment and hosting CLIs (vercel, netlify, fly, heroku, firebase, wrangler,
railway, render) and the forge CLIs (gh, glab).

A deploy, a config change, a rollback or a restart changes a live service →
``WRITE``; deleting an app, a database or a release is DESTRUCTIVE; printing
config vars or tokens (``heroku config``, ``vercel env pull``, ``gh auth token``)
is ``SECRET``.  ``run``/``ssh -C`` payloads are classified as running on the app.
Preview deploys are still writes, tagged ``development``; ``--prod`` is production.
"""

from __future__ import annotations

import re
import shlex

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._gh_alias import expand_alias, note_alias
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["HANDLERS"]

_R, _L, _W, _U, _S = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN, Effect.SECRET
_C, _D = Impact.CAUTION, Impact.DESTRUCTIVE


def _words(*groups: str) -> frozenset[str]:
    return frozenset(w for g in groups for w in g.split())


def _f(
    cmd: Command,
    ctx: Context,
    effect: Effect,
    category: str,
    reason: str,
    target: str | None = None,
    impact: Impact | None = None,
    env: Environment | None = None,
) -> Finding:
    if impact is None:
        impact = Impact.SAFE if effect in (_R, _L) else _C
    source = "deployment target flag" if env is not None else None
    if env is None and target:
        found = ctx.environment_of(target)
        env, source = (found[0], found[1]) if found else (None, None)
    return Finding(category, impact, effect, cmd.text, reason, target, env, source)


# Verbs shared by every platform: the last word of the (sub)command decides.
_READ = _words(
    "ls list info status show logs log inspect whoami help version get view history",
    "releases open domains regions checks doctor diff tail wait describe",
)
_LOCAL = _words("login logout link unlink dev build init pull-config switch use serve")
_DESTROY = _words("destroy delete remove rm reset purge")
_SECRETS = _words("env-pull config-get token")  # normalised forms, see _verb()


def _generic(cmd: Command, ctx: Context, verbs: list[str], target: str | None) -> list[Finding]:
    """The common shape: read verbs, local verbs, destroy verbs, else a write."""
    last = verbs[-1] if verbs else ""
    what = " ".join([cmd.name, *verbs])
    if not verbs or last in _READ or last.startswith(("list", "get")):
        return [_f(cmd, ctx, _R, "deploy.read", f"{what} is read-only", target)]
    if last in _LOCAL or verbs[0] in _LOCAL:
        return [_f(cmd, ctx, _L, "deploy.local", f"{what} stays on this machine")]
    if last in _DESTROY:
        return [_f(cmd, ctx, _W, "deploy.destroy", f"{what} deletes it for good", target, _D)]
    return [_f(cmd, ctx, _W, "deploy.change", f"{what} changes a live service", target)]


def _secret(cmd: Command, ctx: Context, reason: str, target: str | None = None) -> list[Finding]:
    return [_f(cmd, ctx, _S, "secrets.read", reason, target)]


def _remote(cmd: Command, ctx: Context, words: list[str], target: str) -> list[Finding]:
    if not words:
        return [_f(cmd, ctx, _U, "deploy.shell", f"interactive shell on {target}", target)]
    script = words[0] if len(words) == 1 else shlex.join(words)
    return ctx.classify_shell(script, via=cmd.name, remote=target)


# ── vercel / netlify ───────────────────────────────────────────────────────
_VERCEL_VALUED = _words(
    "-t --token -S --scope --cwd -A --local-config -Q --global-config -T --team -e --env",
    "-b --build-env -m --meta --regions --archive --target",
)


def _vercel(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_VERCEL_VALUED)]
    verb = pos[0] if pos else "deploy"
    if verb in ("env", "pull") and (pos[1:2] == ["pull"] or verb == "pull"):
        return _secret(cmd, ctx, "writes the project's secret env vars to a local file", "vercel")
    if verb not in _words("deploy redeploy promote rollback alias") and pos:
        return _generic(cmd, ctx, pos[:2] if verb in _NESTED else pos[:1], "vercel")
    prod = cmd.has("--prod") or cmd.option("--target") == "production" or verb != "deploy"
    env = Environment.PRODUCTION if prod else Environment.DEVELOPMENT
    reason = f"vercel {verb} {'to production' if prod else '(preview)'}"
    return [_f(cmd, ctx, _W, "deploy.release", reason, "vercel", env=env)]


_NESTED = _words("env domains dns certs secrets projects project teams alias integration git")


def _netlify(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_words("--dir -d --functions -f --site -s -a --auth"))]
    verb = pos[0] if pos else ""
    site = cmd.option("--site", "-s") or "netlify"
    if verb == "deploy":
        prod = cmd.has("--prod", "--prodIfUnlocked", "-p")
        env = Environment.PRODUCTION if prod else Environment.DEVELOPMENT
        return [_f(cmd, ctx, _W, "deploy.release", "netlify deploy", site, env=env)]
    if verb in ("env:list", "env:get"):
        return _secret(cmd, ctx, f"netlify {verb} prints environment variable values", site)
    if verb == "api" and len(pos) > 1:
        method = pos[1]
        parts = ["api", "list" if method.startswith(("list", "get")) else method]
        parts[-1] = "delete" if method.startswith("delete") else parts[-1]
        return _generic(cmd, ctx, parts, site)
    return _generic(cmd, ctx, verb.split(":") if verb else [], site)


# ── fly / heroku / railway / render ────────────────────────────────────────
_FLY_DATA = _words("apps app volumes volume vol postgres pg mpg redis storage tigris")


def _fly(cmd: Command, ctx: Context) -> list[Finding]:
    valued = _words("-a --app -c --config -C --command -r --region -o --org -i --image")
    pos = [a.value for a in cmd.positionals(valued)]
    app = cmd.option("-a", "--app") or "fly app (fly.toml)"
    group = pos[0] if pos else ""
    if group in ("apps", "app") and len(pos) > 2 and not cmd.option("-a", "--app"):
        app = pos[2]
    if group in ("ssh", "console") and pos[1:2] in ([], ["console"]):
        command = cmd.option("-C", "--command")
        return _remote(cmd, ctx, [command] if command else [], app)
    if pos[:2] == ["auth", "token"] or pos[:2] == ["tokens", "create"]:
        return _secret(cmd, ctx, "prints a Fly.io API token")
    if group == "secrets" and pos[1:2] in ([], ["list"]):
        return [_f(cmd, ctx, _R, "deploy.read", "lists secret names (not values)", app)]
    if group in ("proxy", "wireguard") or pos[:2] == ["config", "save"]:
        return [_f(cmd, ctx, _L, "deploy.local", f"fly {group} works on this machine")]
    if group in ("postgres", "pg", "mpg", "redis") and pos[1:2] in (["connect"], ["proxy"]):
        return [_f(cmd, ctx, _U, "deploy.shell", "interactive database session", app)]
    findings = _generic(cmd, ctx, pos[:2] if len(pos) > 1 and pos[1].isalpha() else pos[:1], app)
    verbs = set(pos[:2])
    if verbs & {"destroy"} or (group in _FLY_DATA and verbs & _DESTROY):
        findings = _generic(cmd, ctx, [group, "destroy"], app)
    elif verbs & _DESTROY:  # machines, certs, ips: recreatable
        findings = [_f(cmd, ctx, _W, "deploy.change", f"fly {' '.join(pos[:2])}", app)]
    return findings


_HEROKU_SECRET = re.compile(
    r"^(config(:get)?|pg:credentials(:url)?|auth:token|authorizations:info)$"
)
_HEROKU_DESTROY = _words(
    "apps:destroy apps:delete pg:reset pg:backups:restore pg:copy",
    "addons:destroy pg:backups:delete destroy",
)
_HEROKU_READ_GROUPS = _words(
    "addons domains releases ps apps pg access features buildpacks drains spaces status info",
    "logs whoami regions stack labs webhooks certs maintenance pipelines teams orgs",
)


def _heroku(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_words("-a --app -r --remote -s --size -t --team"))]
    app = cmd.option("-a", "--app") or cmd.option("-r", "--remote") or "heroku app"
    verb = pos[0] if pos else ""
    if (_HEROKU_SECRET.match(verb) and not cmd.has("--shell")) or verb == "config:get":
        return _secret(cmd, ctx, f"heroku {verb} prints config var values", app)
    if verb in ("run", "run:detached", "run:inside"):
        return _remote(cmd, ctx, pos[1:], app)
    if verb == "pg:psql":
        sql = cmd.option("-c", "--command")
        return _sql(cmd, ctx, sql, app) if sql else _remote(cmd, ctx, [], app)
    if verb in _HEROKU_DESTROY:
        return _generic(cmd, ctx, [verb, "destroy"], app)
    if verb in _HEROKU_READ_GROUPS:
        return [_f(cmd, ctx, _R, "deploy.read", f"heroku {verb} is read-only", app)]
    if verb in ("restart", "local", "git:remote", "open", "git:clone"):
        effect = _W if verb == "restart" else _L
        return [_f(cmd, ctx, effect, "deploy.change", f"heroku {verb}", app)]
    return _generic(cmd, ctx, verb.split(":") if verb else [], app)


def _sql(cmd: Command, ctx: Context, sql: str, target: str) -> list[Finding]:
    try:
        from opsgate.classify.sql import classify_sql
    except ImportError:
        return [_f(cmd, ctx, _U, "database.unknown", "SQL that cannot be analysed", target)]
    findings = classify_sql(sql, dialect="sqlite" if cmd.name == "wrangler" else "postgres")
    return [
        f if f.target else Finding(f.category, f.impact, f.effect, f.evidence, f.reason, target)
        for f in findings
    ]


def _railway(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_words("-s --service -e --environment"))]
    env_name = cmd.option("-e", "--environment") or "railway project"
    verb = pos[0] if pos else ""
    if verb in ("variables", "vars", "variable") and not cmd.has("--set", "-s"):
        return _secret(cmd, ctx, "railway variables prints variable values", env_name)
    if verb in ("run", "shell"):
        # A local command with the remote environment's credentials injected: what it
        # touches is that environment's database and services.
        inner = ctx.classify_shell(shlex.join(pos[1:]), via="railway run") if pos[1:] else []
        reason = "runs a local command with the remote environment's secrets"
        return [*inner, _f(cmd, ctx, _U, "deploy.env_injected", reason, env_name)]
    if verb in ("ssh", "connect"):
        return _remote(cmd, ctx, pos[1:], env_name)
    if verb in ("up", "deploy", "redeploy", "down"):
        return [_f(cmd, ctx, _W, "deploy.release", f"railway {verb}", env_name)]
    return _generic(cmd, ctx, pos[:1], env_name)


def _render(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_words("-o --output -r --resources"))]
    if pos[:1] == ["ssh"]:
        return _remote(cmd, ctx, pos[2:], pos[1] if len(pos) > 1 else "render service")
    return _generic(cmd, ctx, pos[:2], "render")


# ── firebase / wrangler ────────────────────────────────────────────────────
_FIREBASE_SECRET = _words("functions:config:get functions:secrets:access auth:export")


def _firebase(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_words("-P --project --only --except --token"))]
    project = cmd.option("-P", "--project") or "firebase project"
    verb = pos[0] if pos else ""
    if verb in _FIREBASE_SECRET:
        return _secret(cmd, ctx, f"firebase {verb} prints secret values", project)
    if verb.startswith(("emulators", "serve", "setup", "init", "login", "logout", "use")):
        return [_f(cmd, ctx, _L, "deploy.local", f"firebase {verb} stays on this machine")]
    if verb == "hosting:channel:deploy":
        env = Environment.DEVELOPMENT
        return [_f(cmd, ctx, _W, "deploy.release", "preview channel deploy", project, env=env)]
    if verb in ("database:set", "database:remove", "firestore:delete"):
        return _generic(cmd, ctx, [verb, "delete"], project)
    return _generic(cmd, ctx, verb.split(":") if verb else [], project)


def _wrangler(cmd: Command, ctx: Context) -> list[Finding]:
    valued = _words("--command --file -c --config -e --env --name --binding --namespace-id")
    pos = [a.value for a in cmd.positionals(valued)]
    group = pos[0].split(":")[0] if pos else ""
    local = cmd.has("--local") and not cmd.has("--remote")
    if group == "d1" and pos[1:2] == ["execute"]:
        db = pos[2] if len(pos) > 2 else "d1 database"
        if local:
            return [_f(cmd, ctx, _L, "deploy.local", "runs SQL on the local D1 copy")]
        path = cmd.option("--file")
        sql = cmd.option("--command") or (ctx.read_text(path, cmd.cwd) if path else None)
        if sql is None:
            return [_f(cmd, ctx, _U, "database.unknown", "SQL that cannot be seen", db)]
        return _sql(cmd, ctx, sql, db)
    if group in ("dev", "types", "init", "login", "logout", "whoami", "docs") or local:
        return [_f(cmd, ctx, _L, "deploy.local", f"wrangler {group} stays on this machine")]
    if group in ("deploy", "publish", "rollback"):
        return [_f(cmd, ctx, _W, "deploy.release", f"wrangler {group}", "cloudflare workers")]
    verbs = re.split(r"[:\s]", " ".join(pos[:3]))
    if group == "delete":
        verbs = ["worker", "delete"]
    return _generic(cmd, ctx, [v for v in verbs if v and not v.startswith("-")], "cloudflare")


# ── gh / glab ──────────────────────────────────────────────────────────────
# Per group: verbs that only read or act inside the workspace; verbs that lose
# data; everything else in the group is a write.  Pull-request and issue work is
# collaboration, not a change to shipped code (corpus: ``gh pr create`` allowed).
_GH_QUIET = _words(
    "list ls view status diff checks download watch checkout create comment edit ready reopen",
    "close lock unlock develop pin unpin transfer-check search browse clone fork set-default",
    "verify get search-code review",
)
_GH_GROUPS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "pr": (_GH_QUIET - {"transfer"}, frozenset()),
    "mr": (_GH_QUIET, frozenset()),
    "issue": (_GH_QUIET, _words("delete")),
    "run": (_words("list ls view watch download"), _words("delete")),
    "ci": (_words("list ls view status trace get lint"), _words("delete")),
    "pipeline": (_words("list ls view status"), _words("delete")),
    "workflow": (_words("list ls view"), frozenset()),
    "release": (_words("list ls view download"), _words("delete delete-asset")),
    "repo": (_words("view list clone fork set-default"), _words("delete")),
    "secret": (_words("list ls"), frozenset()),
    "variable": (_words("list ls get"), frozenset()),
    "label": (_words("list ls create edit clone"), frozenset()),
    "cache": (_words("list ls"), _words("delete")),
    "gist": (_words("list view clone"), _words("delete")),
    "ssh-key": (_words("list"), frozenset()),
    "gpg-key": (_words("list"), frozenset()),
    "ruleset": (_words("list view check"), frozenset()),
    "codespace": (_words("list view logs ports"), _words("delete")),
    "project": (_words("list view field-list item-list"), _words("delete")),
    "extension": (_words("list search browse exec"), frozenset()),
    "config": (_words("get list set clear-cache"), frozenset()),
    "alias": (_words("list set delete import"), frozenset()),
}
_GH_READ_ONLY = _words("browse search status org completion help version attestation")


def _gh(cmd: Command, ctx: Context) -> list[Finding]:
    valued = _words(
        "-R --repo -X --method -f --field -F --raw-field -H --header --input",
        "-q --jq -t --template --hostname -b --body -t --title -B --base",
    )
    pos = [a.value for a in cmd.positionals(valued)]
    repo = cmd.option("-R", "--repo") or f"{cmd.name} repository"
    group, verb = [*pos, "", ""][:2]
    if group == "repo" and len(pos) > 2:
        repo = pos[2]
    if group == "auth":
        if verb == "token" or (verb == "status" and cmd.has("-t", "--show-token")):
            return _secret(cmd, ctx, f"{cmd.name} auth {verb} prints the access token")
        return [_f(cmd, ctx, _L, "deploy.local", f"{cmd.name} auth {verb}")]
    if group == "api":
        return _gh_api(cmd, ctx, verb, repo)
    if (group in ("pr", "mr") and verb in ("merge", "approve")) or (
        verb == "review" and cmd.has("--approve", "-a")
    ):
        reason = f"{cmd.name} {group} {verb}: code lands on (or is cleared for) the base branch"
        return [_f(cmd, ctx, _W, "vcs.merge", reason, repo)]
    if group == "gist" and verb == "create":
        return _gist(cmd, ctx, pos[2:])
    if group in _GH_READ_ONLY:
        return [_f(cmd, ctx, _R, "vcs.forge", f"{cmd.name} {group} is read-only", repo)]
    if group not in _GH_GROUPS:
        expanded = expand_alias(cmd, ctx, pos) if cmd.name == "gh" else None
        if expanded is not None:
            return expanded
        return [_f(cmd, ctx, _U, "vcs.forge", f"unrecognised {cmd.name} command {group!r}", repo)]
    if cmd.name == "gh" and group == "alias" and verb == "set":
        note_alias(cmd, ctx)
    quiet, destroy = _GH_GROUPS[group]
    if not verb or verb in quiet:
        return [_f(cmd, ctx, _L, "vcs.forge", f"{cmd.name} {group} {verb}".strip(), repo)]
    impact = _D if verb in destroy and group != "gist" else _C
    reason = f"{cmd.name} {group} {verb} changes the remote repository or its settings"
    return [_f(cmd, ctx, _W, f"vcs.forge.{group}", reason, repo, impact)]


def _gh_api(cmd: Command, ctx: Context, endpoint: str, repo: str) -> list[Finding]:
    fields = cmd.options("-f", "--raw-field", "-F", "--field")
    sends = bool(fields) or cmd.has("--input")
    method = (cmd.option("-X", "--method") or ("POST" if sends else "GET")).upper()
    if endpoint == "graphql":
        mutation = any(re.search(r"\bmutation\b", f) for f in fields)
        method = "POST" if mutation else "GET"
    if method in ("GET", "HEAD"):
        return [_f(cmd, ctx, _R, "vcs.forge.api", f"{method} {endpoint}", repo)]
    impact = _D if method == "DELETE" else _C
    return [_f(cmd, ctx, _W, "vcs.forge.api", f"{method} {endpoint}", repo, impact)]


def _gist(cmd: Command, ctx: Context, files: list[str]) -> list[Finding]:
    from opsgate.classify.paths import is_secret_path

    if any(is_secret_path(f) for f in files):
        return _secret(cmd, ctx, "publishes a secret file as a gist", "gist.github.com")
    return [_f(cmd, ctx, _W, "network.upload", "publishes files as a gist", "gist.github.com")]


def _glab(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_words("-R --repo -g --group"))]
    if pos[:1] == ["variable"] and pos[1:2] in (["get"], ["export"], ["list"]):
        return _secret(cmd, ctx, "glab variable prints CI variable values")
    return _gh(cmd, ctx)


HANDLERS: dict[str, Handler] = {
    "vercel": _vercel,
    "netlify": _netlify,
    **dict.fromkeys(("fly", "flyctl"), _fly),
    "heroku": _heroku,
    "railway": _railway,
    "render": _render,
    "firebase": _firebase,
    "wrangler": _wrangler,
    "gh": _gh,
    "glab": _glab,
}
