"""npm, yarn, pnpm and bun running the project's own scripts.

``npm run lint``, ``npm test``, ``yarn build``, ``pnpm e2e``, ``bun run seed``: the
script is a shell command line in ``package.json`` (found in the working directory
or the nearest parent, as npm finds it; ``--prefix``/``-C``/``--cwd``/``--dir``), run
with its ``pre``/``post`` scripts.  ``npm install``/``ci``, ``yarn``, ``pnpm
install`` and ``bun install`` run the project's own lifecycle scripts
(``preinstall``, ``install``, ``postinstall``, ``prepare`` …).  Each script is
judged as the shell command it is, in the package's directory; a script that runs
another (``npm run tidy``) is followed, once.

No package.json, or no such script: the runner stops with an error and nothing runs.
A package.json that is not valid JSON, a script that is not a string, and scripts
of workspace packages opsgate cannot locate are ``unknown``.
"""

from __future__ import annotations

import json
import posixpath
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._run_files import Code, Loaded, bad_file, judge, judge_code, load, parse_once
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["package_scripts"]


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_INSTALL_SCRIPTS = ("preinstall", "install", "postinstall", "prepublish", "preprepare",
                    "prepare", "postprepare")  # fmt: skip
_INSTALL_VERBS = frozenset({"install", "i", "ci", "add", "in", "ins", "inst", "insta", "instal",
                            "isnt", "isnta", "isntal", "isntall", "clean-install", "ic",
                            "install-clean", "isntall-clean", "rebuild", "rb", "a"})  # fmt: skip
_INSTALL_TEST = frozenset({"install-test", "it", "install-ci-test", "cit"})
_RUN_VERBS = frozenset({"run", "run-script", "rum", "urn"})
_LIFECYCLE_VERBS = {"test": "test", "t": "test", "tst": "test", "start": "start",
                    "stop": "stop", "restart": "restart"}  # fmt: skip
# npm's lifecycle table (docs "scripts", "Life Cycle Operation Order"), and what yarn,
# pnpm and bun run for the same verbs: the project's scripts each verb runs, in order.
# Verbs that need an operand to do anything (``npm version`` alone only prints) are
# in _NEEDS_OPERAND.
_PACK = ("prepack", "prepare", "postpack")
_PUBLISH = ("prepublishOnly", "prepack", "prepare", "postpack", "publish", "postpublish")
_VERSION = ("preversion", "version", "postversion")
_VERB_SCRIPTS: dict[str, tuple[str, ...]] = {
    "pack": _PACK,
    "publish": _PUBLISH,
    "version": _VERSION,
    "link": _INSTALL_SCRIPTS,
    "ln": _INSTALL_SCRIPTS,
    "update": _INSTALL_SCRIPTS,
    "up": _INSTALL_SCRIPTS,
    "upgrade": _INSTALL_SCRIPTS,
    "udpate": _INSTALL_SCRIPTS,
    "dedupe": _INSTALL_SCRIPTS,
    "ddp": _INSTALL_SCRIPTS,
    "restart": ("prerestart", "restart", "postrestart", "prestop", "stop", "poststop",
                "prestart", "start", "poststart"),
}  # fmt: skip
# Per runner, the verbs whose scripts differ from npm's (``bun pm pack``: "pm pack").
_RUNNER_SCRIPTS: dict[str, dict[str, tuple[str, ...]]] = {
    "yarn": {"pack": ("prepack", "postpack"),
             "publish": ("prepublish", "prepare", *_PUBLISH),
             "upgrade": _INSTALL_SCRIPTS, "up": _INSTALL_SCRIPTS},
    "pnpm": {"publish": ("prepublish", *_PUBLISH)},
    "bun": {"pm pack": _PACK, "publish": _PUBLISH},
}  # fmt: skip
_NEEDS_OPERAND = frozenset({"version"})
# Each runner's own commands: any other first word is a script name (``yarn lint``).
_BUILTINS: dict[str, frozenset[str] | None] = {
    "npm": None,  # npm runs a script only through run/test/start/stop/restart
    "yarn": _names(
        "add audit autoclean bin cache check config create dedupe dlx exec explain "
        "generate-lock-entry global help import info init install licenses link list login "
        "logout node outdated owner pack patch patch-commit plugin policies publish rebuild "
        "remove run set tag team unlink unplug up upgrade upgrade-interactive version versions "
        "why workspace workspaces npm constraints stage search"
    ),
    "pnpm": _names(
        "add install i update up upgrade remove rm uninstall un link ln unlink import rebuild "
        "rb prune fetch install-test it patch patch-commit patch-remove audit list ls ll la "
        "outdated why licenses exec dlx create env setup store publish pack server root bin "
        "config c init deploy doctor recursive run self-update cat-file cat-index "
        "find-hash ignored-builds approve-builds"
    ),
    "bun": _names(
        "run test x repl exec install i add a remove rm update outdated link unlink pm build "
        "init create c upgrade publish audit info patch patch-commit why"
    ),
}
_DIR_OPTIONS = ("--prefix", "-C", "--dir", "--cwd")
_WORKSPACE_OPTIONS = ("-w", "--workspace", "--filter", "-F")
_ALL_WORKSPACES = frozenset({"--workspaces", "-ws", "-r", "--recursive"})


def package_scripts(cmd: Command, ctx: Context, verb: str, rest: list[str]) -> list[Finding]:
    """The project's scripts that ``cmd`` (``npm``/``yarn``/``pnpm``/``bun``) runs."""
    from opsgate.classify.shell import Walker

    if not isinstance(ctx, Walker) or ctx.remote is not None:
        return []
    names, default = _scripts_for(cmd.name, verb, rest)
    found = _bun_file(cmd, ctx, verb, rest)
    if not names:
        return found
    base = cmd.option(*_DIR_OPTIONS)
    start = ctx.workspace.expand(base, cmd.cwd) if base else (cmd.cwd or ctx.scope.cwd)
    if cmd.name in ("npm", "pnpm"):  # ``.npmrc``: node-options, script-shell
        from opsgate.classify._run_npmrc import npmrc_findings

        package = _package_json(ctx, start, base is None)
        root = posixpath.dirname(package.path) if package is not None else start
        found = found + npmrc_findings(cmd, ctx, root)
    if _ALL_WORKSPACES & set(cmd.words) or cmd.option(*_WORKSPACE_OPTIONS) is not None:
        if _package_json(ctx, start, base is None) is None:
            return found  # no project at all: the runner stops with an error
        return found + _workspace(cmd, ctx, names)
    return found + _run_scripts(ctx, cmd, start, names, default, walk_up=base is None)


def _bun_file(cmd: Command, w: Walker, verb: str, rest: list[str]) -> list[Finding]:
    """``bun x.ts``, ``bun run x.ts``: bun runs a file when no script has that name."""
    from opsgate.classify._run_interp import run_file_as

    builtins = _BUILTINS["bun"] or frozenset()
    word = rest[0] if verb == "run" and rest else verb if verb not in builtins else ""
    if cmd.name != "bun" or not word or ("." not in word and "/" not in word):
        return []
    index = next(i for i, a in enumerate(cmd.args) if a.value == word)
    return run_file_as(w, cmd, cmd.args[index], "node", tuple(cmd.args[index + 1 :]))


def _scripts_for(runner: str, verb: str, rest: list[str]) -> tuple[list[str], str | None]:
    """The scripts a verb runs, in order, and a file it runs when ``start`` is absent."""
    builtins = _BUILTINS.get(runner)
    lifecycle = _lifecycle(runner, verb, rest)
    if lifecycle is not None:
        return list(lifecycle), None
    if verb in _RUN_VERBS:
        return (_with_hooks(rest[0]) if rest else []), None
    if verb in _INSTALL_VERBS or (runner == "yarn" and verb == ""):
        return list(_INSTALL_SCRIPTS), None
    if verb in _INSTALL_TEST:
        return [*_INSTALL_SCRIPTS, *_with_hooks("test")], None
    if runner == "bun" and verb == "test":
        return [], None  # bun's own test runner, not the test script
    if verb in _LIFECYCLE_VERBS:
        name = _LIFECYCLE_VERBS[verb]
        return _with_hooks(name), ("server.js" if name == "start" else None)
    if builtins is not None and verb and verb not in builtins:
        return _with_hooks(verb), None
    return [], None


def _lifecycle(runner: str, verb: str, rest: list[str]) -> tuple[str, ...] | None:
    """The scripts a packaging or linking verb runs, from the tables above."""
    key = f"{verb} {rest[0]}" if verb == "pm" and rest else verb
    own = _RUNNER_SCRIPTS.get(runner, {})
    scripts = own.get(key, _VERB_SCRIPTS.get(key) if runner != "bun" or key in own else None)
    if scripts is None or (verb in _NEEDS_OPERAND and not [r for r in rest if r[:1] != "-"]):
        return None
    return scripts


def _with_hooks(name: str) -> list[str]:
    return [f"pre{name}", name, f"post{name}"]


def _run_scripts(
    w: Walker, cmd: Command, start: str | None, names: list[str], default: str | None,
    *, walk_up: bool,
) -> list[Finding]:  # fmt: skip
    loaded = _package_json(w, start, walk_up)
    if loaded is None:
        return []
    where = f"{cmd.name} ({loaded.shown})"
    if loaded.text is None:
        return judge(w, loaded, None, where=where, cwd=start)
    scripts = _scripts(w, loaded)
    if scripts is None:
        return [
            bad_file(loaded, "is not a package.json opsgate can read (invalid JSON or scripts)")
        ]
    directory = posixpath.dirname(loaded.path)
    findings: list[Finding] = []
    for name in names:
        body = scripts.get(name)
        if body is None:
            if name == names[1] and default is not None and cmd.name == "npm":
                findings += _default_start(w, cmd, directory, default)
            continue
        if not isinstance(body, str):
            findings.append(bad_file(loaded, f"has a script {name!r} that is not a command line"))
            continue
        line = 1 + loaded.text.count("\n", 0, max(loaded.text.find(json.dumps(name)), 0))
        code = Code(loaded.path, loaded.shown, body, "shell", key=f"script:{name}", first_line=line)
        findings += judge_code(w, code, where=f"{loaded.shown} script {name}", cwd=directory)
    return findings


def _package_json(w: Walker, start: str | None, walk_up: bool) -> Loaded | None:
    """The package.json in ``start`` or, as npm looks, the nearest parent."""
    directory = start or w.workspace.project or "/"
    for _ in range(12):
        loaded = load(w, posixpath.join(directory, "package.json"), None)
        if loaded.state != "missing":
            return loaded
        parent = posixpath.dirname(directory)
        if not walk_up or parent == directory:
            return None
        directory = parent
    return None


def _scripts(w: Walker, loaded: Loaded) -> dict[str, object] | None:
    return parse_once("package.json", loaded.text or "", _scripts_of)


def _scripts_of(text: str) -> dict[str, object] | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    scripts = data.get("scripts", {}) if isinstance(data, dict) else None
    return scripts if isinstance(scripts, dict) else None


def _default_start(w: Walker, cmd: Command, directory: str, default: str) -> list[Finding]:
    """``npm start`` without a start script runs ``node server.js``."""
    from opsgate.classify._run_interp import run_file_as

    probe = Command("node", (), cmd.text, cwd=directory)
    return run_file_as(w, probe, Arg(posixpath.join(directory, default)), "node", ())


def _workspace(cmd: Command, w: Walker, names: list[str]) -> list[Finding]:
    """``-w packages/app``: that package's scripts; a workspace named otherwise, or all
    of them, is not located here."""
    chosen = cmd.option(*_WORKSPACE_OPTIONS)
    if chosen is not None and not (_ALL_WORKSPACES & set(cmd.words)):
        directory = w.workspace.expand(chosen, cmd.cwd or w.scope.cwd)
        if directory is not None and w.session.file_kind(directory) == "dir":
            return _run_scripts(w, cmd, directory, names, None, walk_up=False)
    elif chosen is None:
        # ``pnpm -r build``, ``npm test --workspaces``: every package's script of that name.
        from opsgate.classify._run_node_workspaces import workspace_packages

        root = _package_json(w, cmd.cwd or w.scope.cwd, True)
        packages = workspace_packages(w, root) if root is not None and root.text else None
        if packages is not None:
            found: list[Finding] = []
            for directory in packages:
                found += _run_scripts(w, cmd, directory, names, None, walk_up=False)
            return found
    reason = (
        f"{cmd.name} runs scripts of workspace packages that opsgate does not locate; "
        "run it in the package's own directory to have its scripts judged"
    )
    return [unknown(reason, cmd.text)]
