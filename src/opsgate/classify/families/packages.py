"""Package managers: the host's, the developer's global tools, the project's, and
publishing to registries.

* System managers (apt, dnf, pacman, …) change the host → ``WRITE``; purging, or
  removing a package the host needs to stay reachable (openssh-server, sudo,
  systemd, the kernel), is DESTRUCTIVE.  Index refreshes and cache cleans are
  ``LOCAL``: no installed software changes.
* Global tool installs (``npm -g``, ``pipx``, ``cargo install``, ``brew``) put
  programs on PATH outside the project — a protected place (SPEC §3) →
  ``WRITE`` caution.  brew is user-level but is still global to the machine.
* Project installs (npm/pnpm/yarn/bun, pip in a venv, uv, poetry, cargo, go,
  bundle, composer, mvn, gradle) are ordinary workspace work → ``LOCAL``.
* Publishing is a change every user of a registry sees → ``WRITE`` (target: the
  registry); unpublish/yank that cannot be undone is DESTRUCTIVE.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families.network import is_loopback_host, url_host
from opsgate.models import Effect, Finding, Impact

__all__ = ["HANDLERS"]

_R, _L, _W = Effect.READ, Effect.LOCAL, Effect.WRITE


def _words(*groups: str) -> frozenset[str]:
    return frozenset(w for g in groups for w in g.split())


def _f(
    cmd: Command,
    effect: Effect,
    category: str,
    reason: str,
    target: str | None = None,
    impact: Impact | None = None,
) -> Finding:
    if impact is None:
        impact = Impact.SAFE if effect in (_R, _L) else Impact.CAUTION
    return Finding(category, impact, effect, cmd.text, reason, target)


# ── system package managers ────────────────────────────────────────────────
# Removing any of these can cut the host off (ssh, sudo, init, libc, kernel).
_CRITICAL = re.compile(
    r"^(openssh-server|openssh|ssh|sshd|sudo|systemd|systemd-sysv|init|libc6|glibc|bash|"
    r"coreutils|linux-image\S*|kernel\S*|grub\S*|apt|dpkg|rpm|yum|dnf|pacman|python3|"
    r"network-manager|netplan\.io|ifupdown|iproute2|openssl|ca-certificates)([:=].*)?$"
)


@dataclass(frozen=True, slots=True)
class _Manager:
    read: frozenset[str]
    install: frozenset[str]
    remove: frozenset[str] = frozenset()
    purge: frozenset[str] = frozenset()
    local: frozenset[str] = frozenset()  # index refresh, cache clean, download
    dry_run: frozenset[str] = frozenset()
    takes_value: frozenset[str] = frozenset()
    category: str = "package.system"


_APT = _Manager(
    read=_words(
        "search show showsrc list policy madison depends rdepends changelog help",
        "showhold showmanual showauto moo check",
    ),
    install=_words(
        "install reinstall upgrade full-upgrade dist-upgrade build-dep",
        "satisfy hold unhold markauto mark edit-sources safe-upgrade",
    ),
    remove=_words("remove autoremove"),
    purge=_words("purge autopurge"),
    local=_words("update clean autoclean download source"),
    dry_run=_words("-s --simulate --dry-run --just-print --no-act --recon --assume-no"),
    takes_value=_words("-o --option -c --config-file -t --target-release -a --host-architecture"),
)
_DNF = _Manager(
    read=_words(
        "list info search provides whatprovides repolist check-update deplist",
        "history repoquery updateinfo help",
    ),
    install=_words(
        "install reinstall update upgrade downgrade distro-sync swap group groupinstall",
        "module config-manager localinstall update-minimal",
    ),
    remove=_words("remove erase autoremove groupremove"),
    local=_words("makecache clean download"),
    dry_run=_words("--assumeno"),
    takes_value=_words("--enablerepo --disablerepo --repo -c --config --installroot -x --exclude"),
)
_SYSTEM: dict[str, _Manager] = {
    "apt": _APT,
    "apt-get": _APT,
    "aptitude": _APT,
    "apt-mark": _APT,
    "yum": _DNF,
    "dnf": _DNF,
    "microdnf": _DNF,
    "tdnf": _DNF,
    "zypper": _Manager(
        read=_words("se search if info lr repos lp list-patches pa packages pt patterns help"),
        install=_words(
            "in install up update dup dist-upgrade patch ar addrepo rr removerepo mr",
            "modifyrepo al addlock",
        ),
        remove=_words("rm remove"),
        local=_words("ref refresh clean"),
        dry_run=_words("--dry-run -D"),
    ),
    "apk": _Manager(
        read=_words("search info list policy stats dot version audit"),
        install=_words("add upgrade fix"),
        remove=_words("del"),
        local=_words("update cache fetch"),
        dry_run=_words("-s --simulate"),
    ),
    "snap": _Manager(
        read=_words(
            "find info list connections services logs changes version get known",
            "interfaces aliases warnings tasks model help",
        ),
        install=_words(
            "install refresh revert enable disable set unset connect disconnect alias",
            "unalias switch restart start stop create-user remove-user",
        ),
        remove=_words("remove"),
        local=_words("download"),
    ),
    "flatpak": _Manager(
        read=_words("list info search remotes remote-ls history ps documents permissions"),
        install=_words("install update remote-add remote-modify repair override mask pin"),
        remove=_words("uninstall remove remote-delete"),
        local=_words("run"),
    ),
    "brew": _Manager(
        read=_words(
            "info list ls search deps outdated doctor config leaves desc home uses log",
            "cat --prefix --cellar --version shellenv commands help missing",
        ),
        install=_words(
            "install upgrade reinstall tap untap link unlink pin unpin bundle services",
            "autoremove cleanup",
        ),
        remove=_words("uninstall remove rm"),
        local=_words("update fetch"),
        dry_run=_words("-n --dry-run"),
        category="package.global",
    ),
    "choco": _Manager(
        read=_words("search list info find outdated"),
        install=_words("install upgrade pin"),
        remove=_words("uninstall"),
    ),
    "winget": _Manager(
        read=_words("search list show"),
        install=_words("install upgrade import"),
        remove=_words("uninstall remove"),
    ),
    "scoop": _Manager(
        read=_words("search list info status"),
        install=_words("install update"),
        remove=_words("uninstall"),
        category="package.global",
    ),
}
_DPKG_WRITE = _words("-i --install -r --remove --configure --unpack --set-selections -a")
_DPKG_PURGE = _words("-P --purge")
_RPM_WRITE = _words("-i --install -U --upgrade -F --freshen -e --erase --import --reinstall")


def _system(cmd: Command, ctx: Context) -> list[Finding]:
    spec = _SYSTEM[cmd.name]
    pos = [a.value for a in cmd.positionals(spec.takes_value)]
    verb = pos[0] if pos else ""
    pkgs = pos[1:]
    if spec.dry_run and cmd.has(*spec.dry_run):
        return [_f(cmd, _R, spec.category, "simulation; nothing is installed")]
    if not verb or verb in spec.read:
        return [_f(cmd, _R, spec.category, "read-only query")]
    if verb in spec.local:
        return [_f(cmd, _L, spec.category, f"{verb} refreshes or cleans the package cache")]
    return _changes(cmd, spec, verb, pkgs)


def _changes(cmd: Command, spec: _Manager, verb: str, pkgs: list[str]) -> list[Finding]:
    target = " ".join(pkgs) or cmd.name
    purge = verb in spec.purge or cmd.has("--purge")
    if verb in spec.remove or purge:
        critical = [p for p in pkgs if _CRITICAL.match(p)]
        if purge or critical:
            why = "purges packages and their configuration" if purge else "removes packages"
            reason = f"{cmd.name} {why} ({', '.join(critical) or target})"
            return [_f(cmd, _W, spec.category, reason, target, Impact.DESTRUCTIVE)]
        return [_f(cmd, _W, spec.category, f"{cmd.name} removes {target}", target)]
    if verb in spec.install:
        return [_f(cmd, _W, spec.category, f"{cmd.name} {verb} changes installed software", target)]
    return [_f(cmd, Effect.UNKNOWN, spec.category, f"unrecognised {cmd.name} command {verb!r}")]


def _dpkg(cmd: Command, ctx: Context) -> list[Finding]:
    pkgs = [a.value for a in cmd.positionals()]
    if cmd.has(*_DPKG_PURGE):
        return _changes(cmd, _APT, "purge", pkgs)
    if cmd.has("-r", "--remove"):
        return _changes(cmd, _APT, "remove", pkgs)
    write = _RPM_WRITE if cmd.name == "rpm" else _DPKG_WRITE
    if cmd.has(*write) or cmd.name == "dpkg-reconfigure":
        return [_f(cmd, _W, "package.system", f"{cmd.name} changes installed software")]
    return [_f(cmd, _R, "package.system", "read-only query")]


def _pacman(cmd: Command, ctx: Context) -> list[Finding]:
    """``pacman -S…`` installs unless a query letter (s, i, l, g, p) or download
    only (w) rides along; ``-R…`` removes (``n`` deletes config); ``-Q``/``-F`` read."""
    ops = "".join(w[1:] for w in cmd.words if w.startswith("-") and not w.startswith("--"))
    pkgs = [a.value for a in cmd.positionals()]
    if "R" in ops or cmd.has("--remove"):
        return _changes(cmd, _APT, "purge" if "n" in ops else "remove", pkgs)
    if ("S" in ops or cmd.has("--sync")) and not set(ops) & set("silgpw"):
        if not pkgs and "u" not in ops:
            return [_f(cmd, _L, "package.system", "refreshes the package databases")]
        return _changes(cmd, _APT, "install", pkgs)
    if "U" in ops or "D" in ops or cmd.has("--upgrade", "--database"):
        return _changes(cmd, _APT, "install", pkgs)
    return [_f(cmd, _R, "package.system", "read-only query")]


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


def _js(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [
        a.value
        for a in cmd.positionals(
            _words(
                "--registry --prefix --location -w --workspace",
                "--filter -C --dir --cwd --tag --otp",
            )
        )
    ]
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
    return []  # run/test/exec/start/…: the walker judges what they run


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
    if verb in ("install", "uninstall"):
        if cmd.has("--break-system-packages", "--system") or _elevated(cmd):
            reason = "changes the system Python's packages"
            return [_f(cmd, _W, "package.system", reason, "system python")]
        return [_f(cmd, _L, "package.project", f"pip {verb} into the active environment")]
    if verb == "config" and pos[1:2] in (["set"], ["unset"], ["edit"]) and not cmd.has("--site"):
        return [_f(cmd, _W, "package.config", "changes the user's pip configuration")]
    if verb == "download" or verb == "wheel":
        return [_f(cmd, _L, "package.project", "downloads packages; installs nothing")]
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
    return [_f(cmd, _L, "package.project", "works inside the project")] if pos else []


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
    return [_f(cmd, _L, "package.project", "works inside the project")] if cmd.args else []


def _pipenv(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.has("--system"):
        return [_f(cmd, _W, "package.system", "installs into the system Python")]
    return [_f(cmd, _L, "package.project", "works inside the project")] if cmd.args else []


_PUBLISH_ONLY = {"publish": Impact.CAUTION}

HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(_SYSTEM, _system),
    **dict.fromkeys(("dpkg", "rpm", "dpkg-reconfigure"), _dpkg),
    "pacman": _pacman,
    **dict.fromkeys(("npm", "pnpm", "yarn", "bun"), _js),
    **dict.fromkeys(("pip", "pip3"), _pip),
    **dict.fromkeys(("uv", "uvx"), _uv),
    "pipx": _pipx,
    "pipenv": _pipenv,
    "twine": _simple_publish({"upload": Impact.CAUTION, "register": Impact.CAUTION}),
    "poetry": _simple_publish(_PUBLISH_ONLY),
    **dict.fromkeys(("flit", "hatch", "pdm"), _simple_publish(_PUBLISH_ONLY)),
    "maturin": _simple_publish({"publish": Impact.CAUTION, "upload": Impact.CAUTION}),
    "cargo": _simple_publish(
        {"publish": Impact.CAUTION, "yank": Impact.CAUTION}, _words("install uninstall")
    ),
    "gem": _simple_publish(
        {"push": Impact.CAUTION, "yank": Impact.DESTRUCTIVE}, _words("install uninstall update")
    ),
    "go": _go,
    **dict.fromkeys(("mvn", "mvnw", "gradle", "gradlew"), _build_tool),
    "dotnet": _dotnet,
    "pod": _pod,
    "composer": _composer,
}
