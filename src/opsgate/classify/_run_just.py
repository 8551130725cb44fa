"""``just RECIPE``: the justfile's recipe, its dependencies, and the backticks of its
variables, judged as the shell lines just runs (a shebang recipe as its language).

The justfile is found as just finds it (``-f``, ``-d``, else ``justfile`` in the
working directory or a parent, any capitalisation); ``import`` is followed.  No
recipe named: the first recipe.  ``just --list``, ``--summary``, ``--show``,
``--dry-run`` … run nothing.  A recipe from a module (``just mod::recipe``) or a
non-POSIX ``set shell`` is ``unknown``.  No justfile: just stops with an error.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
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
    script_language,
)
from opsgate.classify._run_makers import walked
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["just_findings", "parse_justfile"]

_NAMES = ("justfile", "Justfile", ".justfile", "JUSTFILE")
_HEADER = re.compile(r"^@?([A-Za-z_][A-Za-z0-9_-]*)([^:=]*):(?!=)(.*)$")
_ASSIGN = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*:=\s*(.*)$")
_IMPORT = re.compile(r"^import(\?)?\s+['\"]([^'\"]+)['\"]")
_SHELL_SETTING = re.compile(r"^set\s+(?:shell|script-interpreter)\s*:=\s*\[\s*['\"]([^'\"]+)")
_INTERPOLATION = re.compile(r"\{\{(?!\{)(.*?)\}\}")
_BACKTICK = re.compile(r"`([^`]*)`")
_NOTHING_RUNS = frozenset({"-l", "--list", "--summary", "-s", "--show", "--dump", "--fmt",
                           "--init", "--edit", "-e", "--help", "-h", "--version", "-V",
                           "-n", "--dry-run", "--variables", "--completions", "--changelog",
                           "--groups", "--man"})  # fmt: skip
_VALUED = frozenset({"-f", "--justfile", "-d", "--working-directory", "--set", "--shell",
                     "--shell-arg", "--color", "--dotenv-filename", "--dotenv-path", "-c",
                     "--list-heading", "--list-prefix", "--chooser", "--command"})  # fmt: skip


@dataclass
class Recipe:
    name: str
    params: str
    deps: list[str]
    body: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Justfile:
    recipes: dict[str, Recipe] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    backticks: list[tuple[int, str]] = field(default_factory=list)
    imports: list[tuple[str, bool]] = field(default_factory=list)
    shell: str | None = None


def just_findings(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify.shell import Walker

    if not isinstance(ctx, Walker) or ctx.remote is not None:
        return []
    words = list(cmd.words)
    if _NOTHING_RUNS & set(words) or cmd.has("--evaluate"):
        return []
    cwd = _directory(cmd, ctx)
    loaded = _justfile(ctx, cmd, cwd)
    if loaded is None:
        return []
    if loaded.text is None:
        return judge(ctx, loaded, None, where=f"just ({loaded.shown})", cwd=cwd)
    jf = _with_imports(ctx, parse_once("just", loaded.text, parse_justfile), loaded, 0)
    directory = posixpath.dirname(loaded.path)
    goals = _goals(cmd, jf)
    findings = _backticks(ctx, jf, loaded, directory)
    if jf.shell is not None and jf.shell not in ("sh", "bash", "zsh", "dash"):
        reason = f"{loaded.shown} runs its recipes in {jf.shell}, which opsgate does not model"
        return [*findings, unknown(reason, cmd.text)]
    if goals and all(_plain(jf, goal, set()) for goal in goals):
        walked(ctx, cmd)  # every step a shell line, walked: ``just build && ./app``
    for goal in goals:
        if goal not in jf.recipes:
            if "::" in goal:
                findings.append(unknown(f"just runs {goal} from a module opsgate does not read",
                                        cmd.text))  # fmt: skip
            continue
        findings += _recipe(ctx, jf, loaded, directory, goal, set())
    return findings


def _directory(cmd: Command, w: Walker) -> str | None:
    chosen = cmd.option("-d", "--working-directory")
    return w.workspace.expand(chosen, cmd.cwd) if chosen else (cmd.cwd or w.scope.cwd)


def _justfile(w: Walker, cmd: Command, cwd: str | None) -> Loaded | None:
    named = cmd.option("-f", "--justfile")
    if named is not None:
        loaded = load(w, named, cwd)
        return None if loaded.state == "missing" else loaded
    return nearest(w, cwd or w.workspace.project or "/", _NAMES)


def _goals(cmd: Command, jf: Justfile) -> list[str]:
    positionals = [a.value for a in cmd.positionals(_VALUED) if "=" not in a.value]
    if not positionals:
        return jf.order[:1]
    goals = [positionals[0]]
    first = jf.recipes.get(positionals[0])
    if first is not None and not first.params.strip():
        goals += [p for p in positionals[1:] if p in jf.recipes]
    return goals


def parse_justfile(text: str) -> Justfile:
    jf = Justfile()
    current: Recipe | None = None
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue  # a blank line does not end a recipe
        if line[:1] in (" ", "\t"):
            if current is not None:
                current.body.append((number, line.strip()))
            continue
        current = None
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "[", "alias ", "mod ", "mod?")):
            continue
        current = _top_level(jf, stripped, number)
    return jf


def _top_level(jf: Justfile, line: str, number: int) -> Recipe | None:
    setting = _SHELL_SETTING.match(line)
    if setting:
        jf.shell = posixpath.basename(setting.group(1))
        return None
    imported = _IMPORT.match(line)
    if imported:
        jf.imports.append((imported.group(2), bool(imported.group(1))))
        return None
    if line.startswith("set "):
        return None
    assign = _ASSIGN.match(line)
    if assign:
        jf.variables[assign.group(1)] = assign.group(2).strip()
        jf.backticks += [(number, b) for b in _BACKTICK.findall(assign.group(2))]
        return None
    header = _HEADER.match(line)
    if header is None:
        return None
    deps = re.findall(r"\(?\s*([A-Za-z_][A-Za-z0-9_-]*)", header.group(3).replace("&&", " "))
    recipe = Recipe(header.group(1), header.group(2), deps)
    jf.recipes.setdefault(recipe.name, recipe)
    jf.order.append(recipe.name)
    return recipe


def _with_imports(w: Walker, jf: Justfile, loaded: Loaded, depth: int) -> Justfile:
    """``jf`` with the recipes and variables of its imports (a new value)."""
    if not jf.imports or depth >= 4:
        return jf
    merged = Justfile(dict(jf.recipes), list(jf.order), dict(jf.variables), list(jf.backticks))
    merged.shell = jf.shell
    for name, _optional in jf.imports:
        inner = load(w, posixpath.join(posixpath.dirname(loaded.path), name), None)
        if inner.text is None:
            continue
        other = _with_imports(w, parse_once("just", inner.text, parse_justfile), inner, depth + 1)
        for recipe_name in other.order:
            merged.recipes.setdefault(recipe_name, other.recipes[recipe_name])
        merged.variables = {**other.variables, **merged.variables}
        merged.backticks += other.backticks
    return merged


def _backticks(w: Walker, jf: Justfile, loaded: Loaded, directory: str) -> list[Finding]:
    findings: list[Finding] = []
    for number, command in jf.backticks:
        piece = Code(loaded.path, loaded.shown, command, "shell", key=f"var:{number}",
                     first_line=number)  # fmt: skip
        findings += judge_code(w, piece, where=f"{loaded.shown} variable", cwd=directory)
    return findings


def _recipe(
    w: Walker, jf: Justfile, loaded: Loaded, directory: str, name: str, seen: set[str]
) -> list[Finding]:
    if name in seen or len(seen) > 64:
        return []
    seen.add(name)
    recipe = jf.recipes[name]
    findings: list[Finding] = []
    for dep in recipe.deps:
        if dep in jf.recipes:
            findings += _recipe(w, jf, loaded, directory, dep, seen)
    body = [(n, _interpolate(t, jf)) for n, t in recipe.body if t]
    where = f"{loaded.shown} recipe {name}"
    if body and body[0][1].startswith("#!"):
        text = "\n".join(t for _n, t in body)
        lang = script_language(text)
        piece = Code(loaded.path, loaded.shown, text, lang or "?", key=name, first_line=body[0][0])
        return findings + judge_code(w, piece, where=where, cwd=directory)
    for number, text in body:
        command = text.lstrip("@-").strip()
        if command and not command.startswith("#"):
            piece = Code(loaded.path, loaded.shown, command, "shell", key=f"{name}:{number}",
                         first_line=number)  # fmt: skip
            findings += judge_code(w, piece, where=where, cwd=directory)
    return findings


def _plain(jf: Justfile, name: str, seen: set[str]) -> bool:
    """Whether ``name`` and the recipes it depends on are shell lines only (a shebang
    recipe may write files that no note records)."""
    recipe = jf.recipes.get(name)
    if recipe is None or name in seen:
        return recipe is not None
    seen.add(name)
    if recipe.body and recipe.body[0][1].lstrip().startswith("#!"):
        return False
    return all(_plain(jf, dep, seen) for dep in recipe.deps)


def _interpolate(text: str, jf: Justfile) -> str:
    """``{{name}}`` of a string variable becomes its value; anything else an unknown
    value to the shell walker."""

    def value(match: re.Match[str]) -> str:
        expr = match.group(1).strip()
        raw = jf.variables.get(expr, "")
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" and "{{" not in raw:
            return raw[1:-1]
        return "${JUST_EXPRESSION}"

    return _INTERPOLATION.sub(value, text.replace("{{{{", "\x00")).replace("\x00", "{{")
