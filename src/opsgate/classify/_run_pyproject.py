"""Python project runners: ``uv run``/``poetry run``/``pdm run``/``hatch run``/``rye run``
/``pipenv run`` of a project script or a file, ``tox`` and ``nox``.

* ``uv run tidy`` where ``[project.scripts]`` (or ``[tool.poetry.scripts]``) names
  ``tidy = "app.tidy:main"``: the module ``app/tidy.py`` (or under ``src/``) is read
  and judged as Python; a module that is not there is ``unknown``.
* ``pdm``/``rye``/``hatch``/``pipenv`` scripts that are command lines are judged as
  such; a ``call`` entry as its module. A line naming another script of the table
  (pdm ``composite``, hatch script lists) runs that script; pdm's ``pre_``/``post_``
  hooks run around it; ``hatch run ENV:SCRIPT`` reads ENV's scripts over default's.
* ``uv run x.py``, ``pdm run x.py``: the file, as ``python x.py``.
* ``tox [-e ENV]``: the environments' ``commands`` (and ``commands_pre``/``_post``)
  in ``tox.ini``, ``setup.cfg`` ``[tox:tox]`` or pyproject's ``legacy_tox_ini``.
* ``nox [-s SESSION]``: the session functions of ``noxfile.py``, their
  ``session.run(...)`` argument lists as commands and their Python as Python.
"""

from __future__ import annotations

import ast
import posixpath
import re
import shlex
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._run_files import (
    Code,
    Loaded,
    bad_file,
    judge,
    judge_code,
    load,
    nearest,
    parse_once,
)
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from configparser import ConfigParser

    from opsgate.classify.shell import Walker

__all__ = ["nox_findings", "project_run", "tox_findings"]
_MAX_ITEMS = 32


def _walker(ctx: Context) -> Walker | None:
    from opsgate.classify.shell import Walker

    return ctx if isinstance(ctx, Walker) and ctx.remote is None else None


def _toml(w: Walker, loaded: Loaded) -> dict[str, object]:
    found = parse_once("toml", loaded.text or "", _parse_toml)
    return found if isinstance(found, dict) else {}


def _parse_toml(text: str) -> object:
    import tomllib

    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        return None


def _table(data: object, *path: str) -> dict[str, object]:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


# --- uv/poetry/pdm/hatch/rye/pipenv run ---------------------------------------------------


def project_run(cmd: Command, rest: list[Arg], w: Walker) -> list[Arg]:
    """Judge the project script ``rest[0]`` names, if any (findings go to the walker);
    return the command that then runs (``x.py`` becomes ``python x.py``)."""
    if not rest or not rest[0].static or w.remote is not None:
        return rest
    name = rest[0].value
    if name.endswith((".py", ".pyw")):
        return [Arg("python"), *rest]
    project = _pyproject(w, cmd)
    if project is None or project.text is None:
        return rest
    data = _toml(w, project)
    own = _own_scripts(cmd.name, data, name)
    if cmd.name in ("pdm", "hatch") and ":" in name and name not in own:
        name = name.split(":", 1)[1]
    entry = _entry(cmd.name, data, name, own)
    if entry is None:
        return rest
    found: list[Finding] = []
    for hook in _pdm_hooks(cmd.name, own, name):
        found += _entry_findings(w, project, hook, own[hook], cmd.cwd, own)
    w.add(found + _entry_findings(w, project, name, entry, cmd.cwd, own))
    return rest


def _pyproject(w: Walker, cmd: Command) -> Loaded | None:
    directory = cmd.cwd or w.scope.cwd or w.workspace.project or "/"
    return nearest(w, directory, ("pyproject.toml",))


def _own_scripts(runner: str, data: dict[str, object], name: str) -> dict[str, object]:
    """The runner's script table; for ``hatch run ENV:SCRIPT`` the environment's scripts
    over the default environment's (hatch environments inherit ``default``)."""
    if runner == "pdm":
        return _table(data, "tool", "pdm", "scripts")
    if runner == "rye":
        return _table(data, "tool", "rye", "scripts")
    if runner != "hatch":
        return {}
    envs = _table(data, "tool", "hatch", "envs")
    scripts = dict(_table(envs, "default", "scripts"))
    if ":" in name:
        scripts.update(_table(envs, name.split(":", 1)[0], "scripts"))
    return scripts


def _pdm_hooks(runner: str, own: dict[str, object], name: str) -> list[str]:
    """pdm runs ``pre_NAME`` before and ``post_NAME`` after a script."""
    if runner != "pdm":
        return []
    return [h for h in (f"pre_{name}", f"post_{name}") if h in own]


def _entry(
    runner: str, data: dict[str, object], name: str, own: dict[str, object]
) -> object | None:
    """The runner's own script table first, then the project's console scripts."""
    if name in own:
        return own[name]
    for table in (_table(data, "project", "scripts"), _table(data, "tool", "poetry", "scripts")):
        if name in table:
            value = table[name]
            return {"call": value} if isinstance(value, str) else value
    return None


def _entry_findings(
    w: Walker,
    project: Loaded,
    name: str,
    entry: object,
    cwd: str | None,
    own: dict[str, object],
    depth: int = 0,
) -> list[Finding]:
    root = posixpath.dirname(project.path)
    where = f"{project.shown} script {name}"
    if isinstance(entry, str | list):
        lines = entry if isinstance(entry, list) else [entry]
        return _steps(w, project, [str(x) for x in lines], where, root, name, own, depth)
    if not isinstance(entry, dict):
        return [bad_file(project, f"has a script {name!r} opsgate cannot read")]
    for key in ("cmd", "shell", "chain", "composite"):
        if key in entry:
            value = entry[key]
            lines = value if isinstance(value, list) else [value]
            if key == "cmd" and isinstance(value, list):
                lines = [shlex.join(str(x) for x in value)]
            return _steps(w, project, [str(x) for x in lines], where, root, name, own, depth)
    target = entry.get("call") or entry.get("reference")
    if isinstance(target, str):
        return _module(w, project, target, where, cwd)
    return [bad_file(project, f"has a script {name!r} opsgate cannot read")]


def _steps(
    w: Walker,
    project: Loaded,
    lines: list[str],
    where: str,
    cwd: str,
    name: str,
    own: dict[str, object],
    depth: int,
) -> list[Finding]:
    """Each line is a command, or (pdm composites, hatch scripts) starts with the name
    of another script of the same table, which runs in its place."""
    out: list[Finding] = []
    for i, line in enumerate(lines[:_MAX_ITEMS]):
        first = line.split(maxsplit=1)[0] if line.strip() else ""
        if first in own and first != name:
            if depth >= 8:
                out.append(bad_file(project, f"has scripts nested too deep at {first!r}"))
                continue
            sub = own[first]
            out += _entry_findings(w, project, first, sub, cwd, own, depth + 1)
            continue
        code = Code(project.path, project.shown, line, "shell", key=f"{name}:{i}")
        out += judge_code(w, code, where=where, cwd=cwd)
    return out


def _module(w: Walker, project: Loaded, target: str, where: str, cwd: str | None) -> list[Finding]:
    """``pkg.mod:func`` → ``pkg/mod.py`` (or its package) beside pyproject.toml or in src/."""
    module = target.split(":", 1)[0].strip()
    if not re.fullmatch(r"[\w.]+", module):
        return [bad_file(project, f"names an entry point {target!r} opsgate cannot locate")]
    root = posixpath.dirname(project.path)
    path = module.replace(".", "/")
    for base in (root, posixpath.join(root, "src")):
        for candidate in (f"{path}.py", f"{path}/__init__.py"):
            loaded = load(w, posixpath.join(base, candidate), None)
            if loaded.state != "missing":
                return judge(w, loaded, "python", where=where, cwd=cwd)
    reason = f"{where} runs the module {module}, which opsgate does not find in the project"
    return [unknown(reason, target)]


# --- tox ----------------------------------------------------------------------------------

_TOX_QUIET = frozenset({"-l", "--listenvs", "-a", "--listenvs-all", "--showconfig", "--help",
                        "-h", "--version", "--notest", "config", "list", "l", "c",
                        "depends", "de", "quickstart", "q"})  # fmt: skip
_TOX_SUBST = re.compile(r"\{([^{}]*)\}")


def tox_findings(cmd: Command, ctx: Context) -> list[Finding]:
    w = _walker(ctx)
    if w is None or _TOX_QUIET & set(cmd.words):
        return []
    directory = cmd.cwd or w.scope.cwd
    config = cmd.option("-c", "--conf")
    ini = _tox_ini(w, directory, config)
    if ini is None:
        return []
    loaded, text = ini
    if text is None:
        return judge(w, loaded, None, where=f"tox ({loaded.shown})", cwd=directory)
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return [bad_file(loaded, "is not a tox configuration opsgate can read")]
    chosen = [e for v in cmd.options("-e") for e in v.split(",") if e] or None
    out: list[Finding] = []
    root = posixpath.dirname(loaded.path)
    for section in _tox_sections(parser, chosen):
        for key in ("commands_pre", "commands", "commands_post"):
            value = parser.get(section, key, fallback="")
            for line in _tox_lines(value):
                code = Code(loaded.path, loaded.shown, _tox_expand(line, root), "shell",
                            key=f"{section}:{key}:{line[:40]}")  # fmt: skip
                out += judge_code(w, code, where=f"{loaded.shown} [{section}]", cwd=root)
    return out


def _tox_ini(
    w: Walker, directory: str | None, config: str | None
) -> tuple[Loaded, str | None] | None:
    for name in (config,) if config else ("tox.ini", "setup.cfg", "pyproject.toml"):
        loaded = load(w, name, directory)
        if loaded.state == "missing":
            continue
        if loaded.text is None or name == "tox.ini" or config:
            return loaded, loaded.text
        if name == "setup.cfg" and "[tox:tox]" in loaded.text:
            return loaded, loaded.text.replace("[tox:tox]", "[tox]")
        if name == "pyproject.toml":
            legacy = _table(_toml(w, loaded), "tool", "tox").get("legacy_tox_ini")
            if isinstance(legacy, str):
                return loaded, legacy
            if _table(_toml(w, loaded), "tool", "tox"):
                return loaded, None  # tox 4's native TOML: not modelled
    return None


def _tox_sections(parser: ConfigParser, chosen: list[str] | None) -> list[str]:
    sections = [s for s in parser.sections() if s == "testenv" or s.startswith("testenv:")]
    if chosen is None or "ALL" in chosen:
        return sections
    out = [f"testenv:{e}" for e in chosen if f"testenv:{e}" in sections]
    return out + (["testenv"] if "testenv" in sections else [])


def _tox_lines(value: str) -> list[str]:
    joined = value.replace("\\\n", " ")
    return [line.strip().lstrip("- ") for line in joined.split("\n") if line.strip()]


def _tox_expand(line: str, root: str) -> str:
    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key.startswith("posargs"):
            return key.split(":", 1)[1] if ":" in key else ""
        if key in ("toxinidir", "tox_root"):
            return root
        if key.startswith("env:"):
            name, _, default = key[4:].partition(":")
            return "${" + name + "}" if name.replace("_", "").isalnum() else default
        return "${TOX_SUBSTITUTION}"

    return _TOX_SUBST.sub(sub, line)


# --- nox ----------------------------------------------------------------------------------


def nox_findings(cmd: Command, ctx: Context) -> list[Finding]:
    w = _walker(ctx)
    if w is None or cmd.has("-l", "--list", "--help", "-h", "--version"):
        return []
    directory = cmd.cwd or w.scope.cwd
    loaded = load(w, cmd.option("-f", "--noxfile") or "noxfile.py", directory)
    if loaded.state == "missing":
        return []
    if loaded.text is None:
        return judge(w, loaded, None, where=f"nox ({loaded.shown})", cwd=directory)
    try:
        tree = ast.parse(loaded.text)
    except (SyntaxError, ValueError, RecursionError):
        return [bad_file(loaded, "is not Python opsgate can read")]
    chosen = {s for v in cmd.options("-s", "--session", "--sessions", "-e") for s in v.split(",")}
    out = _nox_module(w, loaded, tree, posixpath.dirname(loaded.path))
    for fn in _sessions(tree):
        if chosen and fn.name not in chosen:
            continue
        out += _session(w, loaded, fn, posixpath.dirname(loaded.path))
    return out


def _nox_module(w: Walker, loaded: Loaded, tree: ast.Module, root: str) -> list[Finding]:
    """nox imports the noxfile before it runs any session: its top-level code (all
    but the session functions, judged one by one) runs on every ``nox``."""
    sessions = {id(fn) for fn in _sessions(tree)}
    text = loaded.text or ""
    pieces = [ast.get_source_segment(text, n) or "" for n in tree.body if id(n) not in sessions]
    code = Code(loaded.path, loaded.shown, "\n".join(pieces), "python", key="<module>")
    return judge_code(w, code, where=f"nox imports {loaded.shown}", cwd=root)


def _sessions(tree: ast.Module) -> list[ast.FunctionDef]:
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
            "session" in ast.unparse(d) for d in node.decorator_list
        ):
            found.append(node)
    return found


def _session(w: Walker, loaded: Loaded, fn: ast.FunctionDef, root: str) -> list[Finding]:
    where = f"{loaded.shown} session {fn.name}"
    out: list[Finding] = []
    for node in ast.walk(fn):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in ("run", "run_always", "run_install"):
            continue
        words = [
            a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else "$NOX_ARG"
            for a in node.args
            if not isinstance(a, ast.Starred)
        ]
        if words:
            line = shlex.join(words).replace("'$NOX_ARG'", "$NOX_ARG")
            key = f"{fn.name}:{node.lineno}"
            code = Code(loaded.path, loaded.shown, line, "shell", key=key, first_line=node.lineno)
            out += judge_code(w, code, where=where, cwd=root)
    source = ast.get_source_segment(loaded.text or "", fn) or ""
    code = Code(loaded.path, loaded.shown, source, "python", key=fn.name, first_line=fn.lineno)
    return out + judge_code(w, code, where=where, cwd=root)
