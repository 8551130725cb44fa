"""Go and Rust programs of the project that a command compiles and runs.

``go run ./cmd/cleanup`` and ``cargo run`` (``cargo xtask setup``, through the alias in
``.cargo/config.toml``) run the project's own code, as ``python3 tools/x.py`` does;
their source is read (bounded) and judged by ``_compiled_effects``:

* ``go run PKG|FILES…``: the package's ``*.go`` files (tests excluded), and the
  packages of the same module it imports (``example.com/shop/internal/wipe``), up to
  eight packages.  A remote package (``golang.org/x/tools/cmd/x@latest``) is the tool
  it names, as ``go install`` of it is.
* ``cargo run [-p PKG] [--bin B] [--example E]``: the package's ``src/**/*.rs`` (or
  the example), found through the workspace's members when ``-p`` names one; a
  workspace root without ``-p`` runs its default members.  A cargo alias whose
  expansion is ``run`` (``xtask = "run --package xtask --"``) is that run.

A source file that cannot be read is ``unknown`` (``_run_files.judge``); more files
than the budget are not read, as everywhere in ``_run_files``.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._run_files import Loaded, judge, load, nearest, parse_once, toml_or_none
from opsgate.classify._run_listing import collected
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["cargo_run", "go_run"]

_MAX_PACKAGES = 8
_MAX_SOURCES = 24


def _walker(ctx: Context) -> Walker | None:
    from opsgate.classify.shell import Walker

    return ctx if isinstance(ctx, Walker) and ctx.remote is None else None


def _start(w: Walker, cmd: Command) -> str | None:
    return cmd.cwd or w.scope.cwd or w.workspace.project


# --- go run -------------------------------------------------------------------------------

_GO_VALUED = frozenset({"-C", "-tags", "-ldflags", "-gcflags", "-asmflags", "-o", "-exec",
                        "-mod", "-modfile", "-p", "-pkgdir", "-overlay", "-pgo", "-toolexec",
                        "-buildmode", "-compiler", "-installsuffix", "-covermode",
                        "-coverpkg"})  # fmt: skip
_IMPORT_BLOCK = re.compile(r"(?ms)^import\s*\((.*?)\)|^import\s+(?:\w+\s+)?\"([^\"]+)\"")
_IMPORT_PATH = re.compile(r"\"([^\"]+)\"")
_MODULE = re.compile(r"(?m)^module\s+(\S+)")


def go_run(cmd: Command, ctx: Context) -> list[Finding]:
    """What ``go run`` (``cmd``) compiles from the project and runs."""
    w = _walker(ctx)
    words = [a.value for a in cmd.positionals(_GO_VALUED)]
    if w is None or words[:1] != ["run"] or len(words) < 2:
        return []
    start = _start(w, cmd)
    if start is None:
        return []
    if cmd.option("-C"):
        start = w.workspace.expand(cmd.option("-C") or ".", start) or start
    target = words[1]
    module = nearest(w, start, ("go.mod",))
    name, root = _module(module)
    where = f"go run {target}"
    args = _program_args(cmd, target)
    if target.endswith(".go"):
        files = [p for p in words[1:] if p.endswith(".go")]
        full = [w.workspace.expand(f, start) for f in files]
        return _judge_go(w, [f for f in full if f], name, root, where, start, args)
    directory = _package_dir(w, target, start, name, root)
    if directory is None:
        return []  # a remote package: the tool it names
    return _judge_go(w, _go_files(w, directory), name, root, where, start, args)


def _program_args(cmd: Command, target: str) -> tuple[Arg, ...]:
    """The program's own arguments: what follows its package (or its last .go file)."""
    values = [a.value for a in cmd.args]
    if target.endswith(".go"):
        last = max(i for i, v in enumerate(values) if v.endswith(".go"))
        return cmd.args[last + 1 :]
    return cmd.args[values.index(target) + 1 :] if target in values else ()


def _module(loaded: Loaded | None) -> tuple[str | None, str | None]:
    if loaded is None or loaded.text is None:
        return None, None
    match = _MODULE.search(loaded.text)
    return (match.group(1) if match else None), posixpath.dirname(loaded.path)


def _package_dir(
    w: Walker, target: str, start: str, module: str | None, root: str | None
) -> str | None:
    if target.startswith((".", "/")):
        return w.workspace.expand(target.split("@", 1)[0], start)
    if module and root and (target == module or target.startswith(module + "/")):
        return posixpath.join(root, target[len(module) :].lstrip("/"))
    return None


def _go_files(w: Walker, directory: str) -> list[str]:
    listed = collected(w, directory, ("*.go",), recursive=False) or ()
    return [p for p in listed if not p.endswith("_test.go")]


def _judge_go(
    w: Walker,
    files: list[str],
    module: str | None,
    root: str | None,
    where: str,
    cwd: str,
    args: tuple[Arg, ...] = (),
) -> list[Finding]:
    findings: list[Finding] = []
    seen_dirs: set[str] = {posixpath.dirname(f) for f in files}
    queue = list(files)
    read = 0
    while queue and read < _MAX_SOURCES:
        path = queue.pop(0)
        read += 1
        loaded = load(w, path, None)
        findings += judge(w, loaded, "go-program", where=where, cwd=cwd, args=args)
        for directory in _local_imports(loaded, module, root):
            if directory not in seen_dirs and len(seen_dirs) < _MAX_PACKAGES:
                seen_dirs.add(directory)
                queue += _go_files(w, directory)
    return findings


def _local_imports(loaded: Loaded, module: str | None, root: str | None) -> list[str]:
    """The directories of the packages of this module that the file imports."""
    if loaded.text is None or not module or not root:
        return []
    out: list[str] = []
    for match in _IMPORT_BLOCK.finditer(loaded.text):
        paths = _IMPORT_PATH.findall(match.group(1)) if match.group(1) else [match.group(2)]
        for path in paths:
            if path.startswith(module + "/"):
                out.append(posixpath.join(root, path[len(module) + 1 :]))
    return out


# --- cargo run ----------------------------------------------------------------------------

_CARGO_VALUED = frozenset({"--manifest-path", "-p", "--package", "--bin", "--example",
                           "-F", "--features", "-j", "--jobs", "--target", "--target-dir",
                           "--profile", "--color", "-Z", "--config", "-C"})  # fmt: skip


def cargo_run(cmd: Command, ctx: Context) -> list[Finding]:
    """What ``cargo run`` (or an alias of it, ``cargo xtask …``) compiles and runs."""
    w = _walker(ctx)
    words = [a.value for a in cmd.positionals(_CARGO_VALUED)]
    if w is None or not words:
        return []
    start = _start(w, cmd)
    if start is None:
        return []
    run = list(cmd.words)
    if words[0] not in ("run", "r"):
        alias = _alias(w, start, words[0])
        if alias is None or alias[:1] not in (["run"], ["r"]):
            return []
        run = alias
    package = _option(run, "-p", "--package")
    example = _option(run, "--example")
    manifest = _manifest(w, _option(run, "--manifest-path"), start)
    if manifest is None or manifest.text is None:
        return []
    where = f"cargo {words[0]}" + (f" ({package})" if package else "")
    findings: list[Finding] = []
    budget = _MAX_SOURCES
    for root in _package_roots(w, manifest, package)[:_MAX_PACKAGES]:
        sources = _rust_sources(w, root, example)[:budget]
        budget -= len(sources)
        for path in sources:
            findings += judge(w, load(w, path, None), "rust-program", where=where, cwd=start)
    return findings


def _option(words: list[str], *names: str) -> str | None:
    for i, word in enumerate(words):
        if word == "--":
            return None
        for name in names:
            if word == name and i + 1 < len(words):
                return words[i + 1]
            if word.startswith(name + "=") and name.startswith("--"):
                return word[len(name) + 1 :]
    return None


def _alias(w: Walker, start: str, verb: str) -> list[str] | None:
    """``[alias] xtask = "run --package xtask --"`` in the nearest ``.cargo/config``."""
    config = nearest(w, start, (".cargo/config.toml", ".cargo/config"))
    data = parse_once("toml", config.text, toml_or_none) if config and config.text else None
    alias = data.get("alias") if isinstance(data, dict) else None
    value = alias.get(verb) if isinstance(alias, dict) else None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError:
            return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _manifest(w: Walker, given: str | None, start: str) -> Loaded | None:
    if given:
        loaded = load(w, given, start)
        return loaded if loaded.state != "missing" else None
    return nearest(w, start, ("Cargo.toml",))


def _package_roots(w: Walker, manifest: Loaded, package: str | None) -> list[str]:
    """The directories of the packages the run compiles: the one named, the manifest's
    own, or a workspace's default members."""
    data = parse_once("toml", manifest.text or "", toml_or_none)
    if not isinstance(data, dict):
        return []
    root = posixpath.dirname(manifest.path)
    own = data.get("package")
    if package is None and isinstance(own, dict):
        return [root]
    workspace = data.get("workspace")
    members = (
        workspace.get("default-members") or workspace.get("members")
        if isinstance(workspace, dict)
        else None
    )
    roots = [root] if isinstance(own, dict) else []
    for member in members if isinstance(members, list) else []:
        if isinstance(member, str) and not set("*?[") & set(member):
            roots.append(posixpath.join(root, member))
    if package is None:
        return roots
    for candidate in roots:
        loaded = load(w, posixpath.join(candidate, "Cargo.toml"), None)
        parsed = parse_once("toml", loaded.text, toml_or_none) if loaded.text else None
        own = parsed.get("package") if isinstance(parsed, dict) else None
        if isinstance(own, dict) and own.get("name") == package:
            return [candidate]
    return roots  # not found among the members: every one may be it


def _rust_sources(w: Walker, root: str, example: str | None) -> list[str]:
    if example:
        return [posixpath.join(root, "examples", f"{example}.rs")]
    return list(collected(w, posixpath.join(root, "src"), ("*.rs",), recursive=True) or ())
