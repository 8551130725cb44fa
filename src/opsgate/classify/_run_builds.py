"""Build and test tools that run the project's own code: pytest, cargo, go generate.

* ``pytest [PATH…]`` / ``python -m pytest``: pytest imports every ``conftest.py`` on
  the way to what it collects, and every test module it collects (``test_*.py``,
  ``*_test.py``), before any test runs; their top-level code is judged as Python.
  Without paths it collects ``testpaths`` (pytest.ini, pyproject.toml) or the working
  directory.  More test modules than opsgate lists (``_run_listing``) is ``unknown``.
* ``cargo build``/``run``/``test``/``check`` … compile the package, and compiling runs
  its build script (``build.rs``, or ``package.build``), and those of the workspace's
  members; read as Rust (``_run_rust``).
* ``go generate [PKG…]``: each ``//go:generate`` line of the packages' Go files is a
  command, judged as a shell line in the file's directory.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.classify._run_files import (
    Code,
    Loaded,
    judge,
    judge_code,
    load,
    nearest,
    parse_once,
    toml_or_none,
)
from opsgate.classify._run_listing import collected
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["cargo_build_scripts", "go_generate", "pytest_findings"]


def _walker(ctx: Context) -> Walker | None:
    from opsgate.classify.shell import Walker

    return ctx if isinstance(ctx, Walker) and ctx.remote is None else None


def _start(w: Walker, cmd: Command) -> str:
    return cmd.cwd or w.scope.cwd or w.workspace.project or "/"


# --- pytest -------------------------------------------------------------------------------

_PYTEST_VALUED = frozenset({"-k", "-m", "-c", "-p", "-o", "-W", "-n", "-r", "--rootdir",
                            "--confcutdir", "--basetemp", "--junitxml", "--junit-xml",
                            "--deselect", "--ignore", "--ignore-glob", "--maxfail",
                            "--numprocesses", "--durations", "--tb", "--log-level",
                            "--log-cli-level", "--log-file", "--cov", "--cov-report",
                            "--cov-config", "--override-ini", "--import-mode", "--capture",
                            "--dist", "--reruns", "--timeout", "--color", "--html",
                            "--json-report-file", "--count", "--config-file",
                            "--inifile"})  # fmt: skip
_PYTEST_QUIET = frozenset({"--version", "-V", "-h", "--help"})
_TEST_FILES = ("test_*.py", "*_test.py", "conftest.py")
_MAX_MODULES = 24


def pytest_findings(cmd: Command, ctx: Context) -> list[Finding]:
    """The conftest files and test modules ``pytest`` (``cmd``) imports."""
    w = _walker(ctx)
    if w is None or _PYTEST_QUIET & set(cmd.words):
        return []
    start = _start(w, cmd)
    # Words known only at run time (a wrapper script's "$@") may be options or paths:
    # what pytest collects by default is judged, and the paths that are known.
    named = [a.value for a in cmd.positionals(_PYTEST_VALUED) if a.static]
    targets = [a.split("::", 1)[0] for a in named] or _testpaths(w, start) or ["."]
    modules: dict[str, None] = {}
    from opsgate.classify._run_pytest_plugins import pytest_plugins

    findings = pytest_plugins(w, cmd, start)  # ``-p tools.timing`` in addopts
    for target in targets:
        full = w.workspace.expand(target, start)
        if full is None:
            continue
        kind = w.session.files.kind(full)
        if kind == "dir":
            listed = collected(w, full, _TEST_FILES, recursive=True, newest=_MAX_MODULES)
            if listed is None:
                why = f"pytest collects test modules under {target} that opsgate cannot list"
                return [unknown(why + "; name the test files to have them judged", cmd.text)]
            modules.update(dict.fromkeys(_conftests(w, full, start)))
            modules.update(dict.fromkeys(listed))
        elif kind is not None:
            modules.update(dict.fromkeys(_conftests(w, posixpath.dirname(full), start)))
            modules[full] = None
    for path in modules:
        loaded = load(w, path, None)
        if loaded.state != "missing":
            findings += judge(w, loaded, "python", where=f"pytest imports {loaded.shown}",
                              cwd=start)  # fmt: skip
    return findings


def _conftests(w: Walker, directory: str, root: str) -> list[str]:
    """``conftest.py`` files from ``root`` down to ``directory`` that are there."""
    chain = [directory]
    while chain[-1] != root and chain[-1].startswith(root.rstrip("/") + "/") and len(chain) < 16:
        chain.append(posixpath.dirname(chain[-1]))
    if root not in chain:
        chain.append(root)
    paths = [posixpath.join(d, "conftest.py") for d in reversed(chain)]
    return [p for p in paths if w.session.files.kind(p) is not None or p in w.scope.files]


_TESTPATHS = re.compile(r"(?m)^\s*testpaths\s*=\s*(\[[^\]]*\]|[^\n]*)")


def _testpaths(w: Walker, start: str) -> list[str]:
    for name in ("pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"):
        loaded = load(w, posixpath.join(start, name), None)
        match = _TESTPATHS.search(loaded.text or "")
        if match:
            return re.findall(r"[\w./-]+", match.group(1).replace("'", " ").replace('"', " "))
    return []


# --- cargo --------------------------------------------------------------------------------

_CARGO_BUILDS = frozenset({"build", "b", "run", "r", "test", "t", "check", "c", "bench",
                           "clippy", "doc", "d", "rustc", "rustdoc", "fix", "install",
                           "publish", "package", "miri"})  # fmt: skip
_CARGO_VALUED = frozenset({"--manifest-path", "-p", "--package", "--bin", "--example",
                           "--test", "--bench", "-F", "--features", "-j", "--jobs",
                           "--target", "--target-dir", "--profile", "--color", "-Z",
                           "--config", "-C"})  # fmt: skip
_MAX_MEMBERS = 16


def cargo_build_scripts(cmd: Command, ctx: Context) -> list[Finding]:
    """The build scripts ``cargo build`` (``cmd``) compiles and runs."""
    w = _walker(ctx)
    words = [a.value for a in cmd.positionals(_CARGO_VALUED)]
    if w is None or not words or words[0] not in _CARGO_BUILDS:
        return []
    if words[0] == "install" and len(words) > 1 and not cmd.option("--path"):
        return []  # a crate from the registry: the tool its name says
    start = _start(w, cmd)
    from opsgate.classify._run_cargo_config import cargo_config_programs

    programs = cargo_config_programs(cmd, w, start)  # a runner, linker, rustc wrapper
    manifest = _manifest(w, cmd.option("--manifest-path") or cmd.option("--path"), start)
    if manifest is None:
        return programs
    return programs + _package_scripts(w, manifest, depth=0)


def _manifest(w: Walker, given: str | None, start: str) -> Loaded | None:
    if given:
        full = w.workspace.expand(given, start) or given
        path = full if full.endswith(".toml") else posixpath.join(full, "Cargo.toml")
        loaded = load(w, path, None)
        return loaded if loaded.state != "missing" else None
    return nearest(w, start, ("Cargo.toml",))


def _package_scripts(w: Walker, manifest: Loaded, depth: int) -> list[Finding]:
    if manifest.text is None:
        return judge(w, manifest, None, where="cargo", cwd=None)
    data = parse_once("toml", manifest.text, toml_or_none)
    if not isinstance(data, dict):
        return [unknown(f"{manifest.shown} is not a Cargo.toml opsgate can read", "")]
    root = posixpath.dirname(manifest.path)
    findings: list[Finding] = []
    package = data.get("package")
    if isinstance(package, dict):
        build = package.get("build", "build.rs")
        if isinstance(build, str):
            script = load(w, posixpath.join(root, build), None)
            if script.state != "missing":
                where = f"cargo runs the build script {script.shown}"
                findings += judge(w, script, "rust", where=where, cwd=root)
    workspace = data.get("workspace")
    if isinstance(workspace, dict) and depth == 0:
        for member in _members(w, root, workspace.get("members"))[:_MAX_MEMBERS]:
            if member != manifest.path:
                findings += _package_scripts(w, load(w, member, None), depth + 1)
    return findings


def _members(w: Walker, root: str, members: object) -> list[str]:
    if not isinstance(members, list):
        return []
    out: list[str] = []
    for member in members:
        if not isinstance(member, str):
            continue
        if "*" in member or "?" in member:
            base = posixpath.join(root, member.split("*", 1)[0].split("?", 1)[0]).rstrip("/")
            out += list(collected(w, base, ("Cargo.toml",), recursive=True) or ())
        else:
            out.append(posixpath.join(root, member, "Cargo.toml"))
    return out


# --- go generate --------------------------------------------------------------------------

_DIRECTIVE = re.compile(r"(?m)^//go:generate[ \t]+(.*)$")
_GO_GENERATE_VALUED = frozenset({"-run", "-skip", "-tags", "-C"})


def go_generate(cmd: Command, ctx: Context) -> list[Finding]:
    """The ``//go:generate`` commands ``go generate`` (``cmd``) runs."""
    w = _walker(ctx)
    words = [a for a in cmd.positionals(_GO_GENERATE_VALUED)]
    if w is None or not words or words[0].value != "generate" or cmd.has("-n"):
        return []
    start = _start(w, cmd)
    findings: list[Finding] = []
    for pkg in [a.value for a in words[1:]] or ["."]:
        recursive = pkg == "..." or pkg.endswith("/...")
        base = pkg.removesuffix("...").rstrip("/") or "."
        full = w.workspace.expand(base, start)
        if full is None:
            continue
        if pkg.endswith(".go"):
            files: tuple[str, ...] | None = (full,)
        else:
            files = collected(w, full, ("*.go",), recursive=recursive)
        if files is None:
            return [unknown(f"go generate {pkg}: Go files opsgate cannot list", cmd.text)]
        for path in files:
            findings += _directives(w, load(w, path, None))
    return findings


def _directives(w: Walker, loaded: Loaded) -> list[Finding]:
    if loaded.state == "missing":
        return []
    if loaded.text is None:
        return judge(w, loaded, None, where="go generate", cwd=None)
    directory = posixpath.dirname(loaded.path)
    findings: list[Finding] = []
    aliases: dict[str, str] = {}  # ``//go:generate -command NAME prog args``
    for match in _DIRECTIVE.finditer(loaded.text):
        line = 1 + loaded.text.count("\n", 0, match.start())
        text = match.group(1).replace("$GOFILE", posixpath.basename(loaded.path))
        head, _, rest = text.strip().partition(" ")
        if head == "-command":
            name, _, program = rest.strip().partition(" ")
            aliases[name] = program.strip()
            continue
        if head in aliases:
            text = f"{aliases[head]} {rest}"
        code = Code(loaded.path, loaded.shown, text, "shell", key=f"go:generate:{line}",
                    first_line=line)  # fmt: skip
        findings += judge_code(w, code, where=f"go generate {loaded.shown}", cwd=directory)
    return findings
