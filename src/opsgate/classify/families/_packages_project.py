"""Project and language package managers: npm, pip, uv, go, gradle, dotnet, composer …"""

from __future__ import annotations

import re
import shlex

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._packages_system import _L, _R, _W, _f, _words
from opsgate.classify.families._task_targets import task_findings
from opsgate.classify.families.network import is_loopback_host, url_host
from opsgate.models import Effect, Finding, Impact

__all__ = [
    "_build_tool",
    "_composer",
    "_dotnet",
    "_go",
    "_js",
    "_pip",
    "_pipenv",
    "_pipx",
    "_pod",
    "_simple_publish",
    "_uv",
]

# ── project and language managers ──────────────────────────────────────────
_REGISTRY = {
    "npm": "registry.npmjs.org",
    "pnpm": "registry.npmjs.org",
    "yarn": "registry.npmjs.org",
    "bun": "registry.npmjs.org",
    "twine": "pypi.org",
    "poetry": "pypi.org",
    "uv": "pypi.org",
    "flit": "pypi.org",
    "hatch": "pypi.org",
    "pdm": "pypi.org",
    "maturin": "pypi.org",
    "cargo": "crates.io",
    "gem": "rubygems.org",
    "dotnet": "nuget.org",
    "mvn": "maven",
    "gradle": "maven",
    "gradlew": "maven",
    "pod": "trunk.cocoapods.org",
}
_REGISTRY_OPTS = (
    "--registry",
    "--repository-url",
    "--repository",
    "-r",
    "--index",
    "--host",
    "--publish-url",
    "--source",
    "-s",
    "--server",
    "--index-url",
)


def _publish(cmd: Command, what: str, impact: Impact = Impact.CAUTION) -> list[Finding]:
    if cmd.has("--dry-run", "--dryrun") and impact is Impact.CAUTION:
        return [_f(cmd, _R, "package.publish", "dry run; nothing is published")]
    registry = cmd.option(*_REGISTRY_OPTS) or _REGISTRY.get(cmd.name, cmd.name)
    if is_loopback_host(url_host(registry) or registry):
        return [_f(cmd, _L, "package.publish", f"{what} on a registry on this machine", registry)]
    return [_f(cmd, _W, "package.publish", f"{what} on {registry}", registry, impact)]


def _global(cmd: Command, what: str) -> list[Finding]:
    reason = f"{what} outside the project, onto the machine's PATH"
    return [_f(cmd, _W, "package.global", reason, "global packages")]


_JS_PROJECT = _words(
    "install i ci add remove rm uninstall un update up upgrade dedupe prune rebuild link",
    "unlink import audit outdated ls list why explain pack version init create",
)
_JS_PUBLISH = {
    "publish": Impact.CAUTION,
    "deprecate": Impact.CAUTION,
    "undeprecate": Impact.CAUTION,
    "unpublish": Impact.DESTRUCTIVE,
}
# ``npm dist-tag add`` / ``npm owner rm`` …: the second word decides.
_JS_REGISTRY_ADMIN = _words("dist-tag owner access team org token hook star unstar")
_JS_ADMIN_READ = _words("ls list get check")


_JS_VALUED = _words(
    "--registry --prefix --location -w --workspace", "--filter -C --dir --cwd --tag --otp"
)


def _js(cmd: Command, ctx: Context) -> list[Finding]:
    """The runner's own verb, and the project's scripts it runs (``_run_node``)."""
    from opsgate.classify._run_node import package_scripts

    pos = [a.value for a in cmd.positionals(_JS_VALUED)]
    return _js_verb(cmd, ctx, pos) + package_scripts(cmd, ctx, pos[0] if pos else "", pos[1:])


def _js_verb(cmd: Command, ctx: Context, pos: list[str]) -> list[Finding]:
    verb = pos[0] if pos else "install"
    if cmd.name == "yarn" and verb == "npm" and len(pos) > 1:  # yarn berry: yarn npm publish
        verb, pos = pos[1], pos[1:]
    if verb in _JS_PUBLISH:
        return _publish(cmd, f"{cmd.name} {verb}", _JS_PUBLISH[verb])
    if verb in _JS_REGISTRY_ADMIN:
        sub = pos[1] if len(pos) > 1 else "ls"
        if sub in _JS_ADMIN_READ:
            return [_f(cmd, _R, "package.registry", "read-only query")]
        return _publish(cmd, f"{cmd.name} {verb} {sub} changes registry metadata")
    if verb == "config" and len(pos) > 1:
        return _npm_config(cmd, pos[1:])
    is_global = (
        cmd.has("-g", "--global") or cmd.option("--location") == "global" or verb == "global"
    )
    if is_global and verb in _JS_PROJECT | {"global"}:
        return _global(cmd, f"{cmd.name} installs or removes packages")
    if verb in _JS_PROJECT:
        return [_f(cmd, _L, "package.project", f"{cmd.name} {verb} works inside the project")]
    if verb in ("run", "run-script", "rum", "urn"):
        return task_findings(cmd, ctx, pos[1:2])
    builtins = _JS_RUNS_OTHER | _JS_OWN_VERBS.get(cmd.name, frozenset())
    if cmd.name != "npm" and verb not in builtins:  # ``yarn deploy:prod``: a script
        return task_findings(cmd, ctx, [verb])
    return []  # test/exec/start/…: the walker judges what they run


# Verbs of yarn/pnpm/bun that are not a script name.
_JS_RUNS_OTHER = _words("exec dlx x create test start build dev")
# …and per runner: ``pnpm deploy DIR`` copies a workspace package into DIR, locally.
_JS_OWN_VERBS = {"pnpm": _words("deploy")}


def _npm_config(cmd: Command, rest: list[str]) -> list[Finding]:
    verb, key = rest[0], rest[1] if len(rest) > 1 else ""
    if verb == "get" and re.search(r"auth|token|password|_pass", key, re.I):
        return [_f(cmd, Effect.SECRET, "secrets.read", f"prints the registry credential {key}")]
    if verb in ("set", "delete", "edit", "fix") and cmd.option("--location") != "project":
        # ~/.npmrc decides where every later install comes from.
        return [_f(cmd, _W, "package.config", "changes the user's npm configuration", "~/.npmrc")]
    return [_f(cmd, _R, "package.config", "reads configuration")]


_PIP_READ = _words("list show freeze check search index inspect help debug hash cache")
_ELEVATED = frozenset({"sudo", "doas", "pkexec", "run0", "su"})


def _elevated(cmd: Command) -> bool:
    """Best effort: the walker strips sudo, but the original text may still show it."""
    try:
        first = shlex.split(cmd.text)[:1]
    except ValueError:
        first = cmd.text.split()[:1]
    return bool(first) and first[0].rsplit("/", 1)[-1] in _ELEVATED


def _pip(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [
        a.value
        for a in cmd.positionals(
            _words(
                "-r --requirement -c --constraint -t --target",
                "--prefix --root -i --index-url -d --dest",
            )
        )
    ]
    verb = pos[0] if pos else ""
    builds: list[Finding] = []
    if verb in ("install", "wheel", "download"):
        from opsgate.classify._run_pip_local import local_project_builds

        builds = local_project_builds(cmd, ctx, pos[1:])  # ``pip install -e .``: setup.py
    if verb in ("install", "uninstall"):
        if cmd.has("--break-system-packages", "--system") or _elevated(cmd):
            reason = "changes the system Python's packages"
            return [_f(cmd, _W, "package.system", reason, "system python"), *builds]
        where = f"pip {verb} into the active environment"
        return [_f(cmd, _L, "package.project", where), *builds]
    if verb == "config" and pos[1:2] in (["set"], ["unset"], ["edit"]) and not cmd.has("--site"):
        return [_f(cmd, _W, "package.config", "changes the user's pip configuration")]
    if verb == "download" or verb == "wheel":
        return [_f(cmd, _L, "package.project", "downloads packages; installs nothing"), *builds]
    return [_f(cmd, _R, "package.project", "read-only query")] if verb in _PIP_READ else []


def _run_inner(cmd: Command, ctx: Context, inner: list[str], via: str) -> list[Finding]:
    return ctx.classify_shell(shlex.join(inner), via=via) if inner else []


def _uv(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_words("--python -p --from --with --index-url"))]
    if cmd.name == "uvx":
        return _run_inner(cmd, ctx, pos, "uvx")
    head = pos[:2]
    if head[:1] == ["publish"]:
        return _publish(cmd, "uv publish")
    if head == ["tool", "run"]:
        return _run_inner(cmd, ctx, pos[2:], "uv tool run")
    if head[:1] == ["tool"] and head[1:] in (["install"], ["upgrade"], ["uninstall"]):
        return _global(cmd, f"uv tool {head[1]}")
    if head[:1] == ["pip"] and cmd.has("--system", "--break-system-packages"):
        return [_f(cmd, _W, "package.system", "changes the system Python's packages")]
    from opsgate.classify._run_pip_local import local_project_builds

    builds: list[Finding] = []
    if head in (["pip", "install"], ["pip", "compile"]):
        builds = local_project_builds(cmd, ctx, pos[2:])
    elif head[:1] in (["sync"], ["build"], ["run"], ["lock"]) and not cmd.has(
        "--no-install-project"
    ):
        builds = local_project_builds(
            cmd, ctx, (pos[1:2] if head[:1] == ["build"] else []) or ["."]
        )
    return [_f(cmd, _L, "package.project", "works inside the project"), *builds] if pos else []


def _verb_at(cmd: Command, i: int = 0, takes: str = "") -> str:
    pos = cmd.positionals(_words(takes))
    return pos[i].value if len(pos) > i else ""


def _pipx(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_words("--spec --python --index-url"))]
    verb = pos[0] if pos else ""
    if verb == "run":
        return _run_inner(cmd, ctx, pos[1:], "pipx run")
    if verb in ("install", "uninstall", "upgrade", "upgrade-all", "inject", "reinstall-all"):
        return _global(cmd, f"pipx {verb}")
    return [_f(cmd, _R, "package.global", "read-only query")]


def _simple_publish(
    publish: dict[str, Impact], global_verbs: frozenset[str] = frozenset(), takes: str = ""
) -> Handler:
    """Tools where one verb publishes and the rest is project work."""

    def handle(cmd: Command, ctx: Context) -> list[Finding]:
        verb = _verb_at(cmd, 0, takes)
        if verb in publish:
            return _publish(cmd, f"{cmd.name} {verb}", publish[verb])
        if verb in global_verbs or (verb == "install" and cmd.name == "gem"):
            return _global(cmd, f"{cmd.name} {verb}")
        if verb == "owner" and cmd.has("--add", "-a", "--remove", "-r"):
            return _publish(cmd, f"{cmd.name} owner changes who may publish")
        return [_f(cmd, _L, "package.project", "works inside the project")] if verb else []

    return handle


def _go(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals()]
    # ``go install tool@v1`` fetches a program onto PATH; ``go install ./cmd/x``
    # builds the project's own programs.
    if pos[:1] == ["install"] and any("@" in p for p in pos[1:]):
        return _global(cmd, "go install of a remote module")
    return [_f(cmd, _L, "package.project", "works inside the project")] if pos else []


_GRADLE_PUBLISH = re.compile(
    r"(^|:)(publish(?!ToMavenLocal)\w*|uploadArchives|jib|bintrayUpload|closeAndRelease\w*"
    r"|release\w*StagingRepositor\w*)$"
)


def _build_tool(cmd: Command, ctx: Context) -> list[Finding]:
    tasks = [a.value for a in cmd.positionals(_words("-P -D -f --file -s --settings -pl -Dmaven"))]
    pushes = [
        t
        for t in tasks
        if _GRADLE_PUBLISH.search(t)
        or t in ("deploy", "release:perform")
        or t.startswith(("deploy:", "jib:build", "dockerfile:push"))
    ]
    if pushes:
        return _publish(cmd, f"{cmd.name} {' '.join(pushes)} publishes artifacts")
    return [_f(cmd, _L, "package.project", "local build")] if tasks else []


def _dotnet(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_words("-s --source -k --api-key -c --configuration"))]
    if pos[:1] == ["ef"]:
        from opsgate.classify.families.platforms import classify_dotnet_ef

        return classify_dotnet_ef(cmd, ctx)
    if pos[:2] == ["nuget", "push"]:
        return _publish(cmd, "dotnet nuget push")
    if pos[:2] == ["nuget", "delete"]:
        return _publish(cmd, "dotnet nuget delete unlists a package", Impact.DESTRUCTIVE)
    if pos[:2] == ["tool", "install"] and cmd.has("-g", "--global"):
        return _global(cmd, "dotnet tool install -g")
    return []


def _pod(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals()]
    if pos[:2] == ["trunk", "push"]:
        return _publish(cmd, "pod trunk push")
    if pos[:2] in (["trunk", "delete"], ["trunk", "deprecate"]):
        return _publish(cmd, f"pod trunk {pos[1]}", Impact.DESTRUCTIVE)
    return [_f(cmd, _L, "package.project", "works inside the project")] if pos else []


def _composer(cmd: Command, ctx: Context) -> list[Finding]:
    if _verb_at(cmd) == "global":
        return _global(cmd, "composer global")
    from opsgate.classify._run_tasks import composer_scripts

    scripts = composer_scripts(cmd, ctx)
    return ([_f(cmd, _L, "package.project", "works inside the project")] if cmd.args else []) + (
        scripts
    )


def _pipenv(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.has("--system"):
        return [_f(cmd, _W, "package.system", "installs into the system Python")]
    return [_f(cmd, _L, "package.project", "works inside the project")] if cmd.args else []
