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

from opsgate.classify._command import Arg, Command, Context, Handler
from opsgate.classify.families._packages_editors import EDITOR_HANDLERS
from opsgate.classify.families._packages_project import (
    _build_tool,
    _composer,
    _dotnet,
    _go,
    _js,
    _pip,
    _pipenv,
    _pipx,
    _pod,
    _simple_publish,
    _uv,
)
from opsgate.classify.families._packages_system import _SYSTEM, _dpkg, _pacman, _system, _words
from opsgate.models import Finding, Impact

__all__ = ["HANDLERS"]


_PUBLISH_ONLY = {"publish": Impact.CAUTION}


_cargo_publish = _simple_publish(
    {"publish": Impact.CAUTION, "yank": Impact.CAUTION, "owner": Impact.CAUTION},
    _words("install uninstall"),
)


# ``cargo X`` runs the installed program ``cargo-X``: those opsgate judges by name.
_CARGO_PLUGINS = frozenset({"sqlx", "diesel"})


# cargo's own commands: an alias of the same name is never used.
_CARGO_COMMANDS = frozenset({
    "build", "b", "check", "c", "clean", "doc", "d", "new", "init", "add", "remove", "run",
    "r", "test", "t", "bench", "update", "search", "publish", "install", "uninstall",
    "yank", "owner", "package", "login", "logout", "fix", "fmt", "clippy", "tree",
    "vendor", "verify-project", "version", "metadata", "pkgid", "locate-project",
    "generate-lockfile", "fetch", "help", "config", "report", "rustc", "rustdoc", "info",
    "miri",
})  # fmt: skip


def _cargo(cmd: Command, ctx: Context, depth: int = 0) -> list[Finding]:
    """cargo by its words, the build scripts compiling runs (``build.rs``), and the
    program ``cargo run`` runs (``_run_compiled``).  An alias from cargo's
    configuration (``[alias] ship = "publish --no-verify"``) is judged as its words."""
    from opsgate.classify._run_builds import cargo_build_scripts

    ops = cmd.positionals()
    if ops and ops[0].value not in _CARGO_COMMANDS and depth < 4:
        expanded = _cargo_alias(cmd, ctx, ops[0])
        if expanded is not None:
            return _cargo(expanded, ctx, depth + 1)
    if ops and ops[0].value in _CARGO_PLUGINS:
        from opsgate.classify.families.databases import HANDLERS as DATABASES

        plugin = Command(ops[0].value, cmd.args[cmd.args.index(ops[0]) + 1 :], cmd.text,
                         cmd.env, cmd.stdin, cmd.cwd)  # fmt: skip
        return DATABASES[plugin.name](plugin, ctx)
    from opsgate.classify._run_compiled import cargo_run

    return _cargo_publish(cmd, ctx) + cargo_build_scripts(cmd, ctx) + cargo_run(cmd, ctx)


def _cargo_alias(cmd: Command, ctx: Context, verb: Arg) -> Command | None:
    from opsgate.classify._run_compiled import _alias, _start, _walker

    w = _walker(ctx)
    start = _start(w, cmd) if w is not None else None
    words = _alias(w, start, verb.value) if w is not None and start is not None else None
    if not words:
        return None
    at = cmd.args.index(verb)
    args = (*cmd.args[:at], *(Arg(word) for word in words), *cmd.args[at + 1 :])
    return Command(cmd.name, args, cmd.text, cmd.env, cmd.stdin, cmd.cwd)


def _go_generate(cmd: Command, ctx: Context) -> list[Finding]:
    """go by its words, the ``//go:generate`` commands ``go generate`` runs, the
    program ``go run`` runs (``_run_compiled``), and what ``go test`` runs before its
    tests (``_run_gotest``)."""
    from opsgate.classify._run_builds import go_generate
    from opsgate.classify._run_compiled import go_run
    from opsgate.classify._run_gotest import go_test

    return _go(cmd, ctx) + go_generate(cmd, ctx) + go_run(cmd, ctx) + go_test(cmd, ctx)


def _bun(cmd: Command, ctx: Context) -> list[Finding]:
    """``bun -e CODE`` / ``bun --print CODE`` run JavaScript like ``node -e``."""
    if cmd.has("-e", "--eval", "-p", "--print"):
        from opsgate.classify.families._shells_interpreters import _interpreter

        return _interpreter(cmd, ctx)
    return _js(cmd, ctx)


HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(_SYSTEM, _system),
    **dict.fromkeys(("dpkg", "rpm", "dpkg-reconfigure"), _dpkg),
    "pacman": _pacman,
    **dict.fromkeys(("npm", "pnpm", "yarn"), _js),
    "bun": _bun,
    **dict.fromkeys(("pip", "pip3"), _pip),
    **dict.fromkeys(("uv", "uvx"), _uv),
    "pipx": _pipx,
    "pipenv": _pipenv,
    "twine": _simple_publish({"upload": Impact.CAUTION, "register": Impact.CAUTION}),
    "poetry": _simple_publish(_PUBLISH_ONLY),
    **dict.fromkeys(("flit", "hatch", "pdm"), _simple_publish(_PUBLISH_ONLY)),
    "maturin": _simple_publish({"publish": Impact.CAUTION, "upload": Impact.CAUTION}),
    "cargo": _cargo,
    "gem": _simple_publish(
        {"push": Impact.CAUTION, "yank": Impact.DESTRUCTIVE}, _words("install uninstall update")
    ),
    "go": _go_generate,
    **dict.fromkeys(("mvn", "mvnw", "gradle", "gradlew"), _build_tool),
    "dotnet": _dotnet,
    "pod": _pod,
    "composer": _composer,
    **EDITOR_HANDLERS,
}
