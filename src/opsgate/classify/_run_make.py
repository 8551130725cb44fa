"""``make TARGET``: the recipes it would run, judged as the shell commands they are.

The makefile is found as make finds it (``-C DIR``, ``-f FILE``, else
``GNUmakefile``, ``makefile``, ``Makefile``), parsed (``_run_make_parse``) with its
includes, and planned: the goals (the first target when none is named), their
prerequisites recursively, and pattern rules for targets with no rule of their own.
Every recipe line of the plan is expanded (``_run_make_expand``) and classified in
a shell of its own, as make runs it; ``$(shell …)`` outside recipes runs whatever the
goal.  Where a prerequisite list cannot be expanded, every rule may run, and every
rule is judged.  Timestamps are not modelled: a rule counts as run.

No makefile: make stops with an error and nothing runs.  ``make -n``, ``-q`` and
``-p`` run only the read-time ``$(shell …)`` calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.classify._run_files import (
    Code,
    Loaded,
    charge,
    judge,
    judge_code,
    load,
    parse_once,
)
from opsgate.classify._run_make_expand import Expander
from opsgate.classify._run_make_parse import Makefile, Rule, parse_makefile
from opsgate.classify._run_makers import walked
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["make_findings", "run_makefile_text"]

_NAMES = ("GNUmakefile", "makefile", "Makefile")
_MAX_TARGETS = 256
_MAX_INCLUDES = 8
_DRY = frozenset({"-n", "--dry-run", "--just-print", "--recon", "-q", "--question", "-p",
                  "--print-data-base", "-t", "--touch"})  # fmt: skip
_VALUED = frozenset({"-C", "--directory", "-f", "--file", "--makefile", "-o", "--old-file",
                     "-W", "--what-if", "--new-file", "--assume-new", "--assume-old", "-I",
                     "--include-dir", "-l", "--load-average", "-j", "--jobs", "-O",
                     "--output-sync", "--eval", "-E"})  # fmt: skip


@dataclass
class _Invocation:
    cwd: str | None
    files: list[str] = field(default_factory=list)
    goals: list[str] = field(default_factory=list)
    overrides: dict[str, str] = field(default_factory=dict)
    dry: bool = False


def make_findings(cmd: Command, ctx: Context) -> list[Finding]:
    """What ``make …`` runs, from the makefile it reads."""
    from opsgate.classify.shell import Walker

    if not isinstance(ctx, Walker) or ctx.remote is not None:
        return []  # another machine's makefile: judged by the target's name
    call = _invocation(cmd, ctx)
    loaded = _makefile(ctx, call)
    if loaded is None:
        if not call.files and call.goals and all(_compiled(ctx, g, call.cwd) for g in call.goals):
            walked(ctx, cmd)  # ``make hello`` with hello.c: the built-in rule runs cc
        return []
    if loaded.text is None:
        return judge(ctx, loaded, "make", where=f"make -f {loaded.shown}", cwd=call.cwd)
    code = Code(loaded.path, loaded.shown, loaded.text, "make")
    findings, complete = _run(ctx, code, call, cmd.env)
    if complete:
        walked(ctx, cmd)
    return findings


def run_makefile_text(w: Walker, code: Code, cwd: str | None, goals: list[str]) -> list[Finding]:
    """A makefile's text run as ``make -f FILE GOALS`` (a ``#!/usr/bin/make -f`` script)."""
    return _run(w, code, _Invocation(cwd, goals=goals), {})[0]


# Make's built-in rules, for a target no rule of the makefile names: these suffixes
# compile into the target (``cc hello.c -o hello``), a compiler's output like any other
# (``_run_makers``).  Every other built-in rule (``%: %.sh`` copies a script, yacc and
# lex generate code) may make a file opsgate has not read.
_COMPILED = (".c", ".cc", ".cpp", ".C", ".cxx", ".f", ".F", ".p", ".o", ".s", ".S")


def _compiled(w: Walker, target: str, cwd: str | None) -> bool:
    """Whether make's built-in rules would build ``target`` by compiling a source."""
    if target.endswith(".o") or target.startswith("-"):
        return False
    if _on_disk(w, target + ".sh", cwd):
        return False  # ``%: %.sh`` would copy it; the copy is not judged here
    return any(_on_disk(w, target + suffix, cwd) for suffix in _COMPILED)


def _on_disk(w: Walker, name: str, cwd: str | None) -> bool:
    """Whether a file is at ``name`` (on disk, or written earlier in the command),
    without reading it."""
    full = w.workspace.expand(name, cwd or w.scope.cwd)
    if full is None:
        return True  # cannot tell: as if a built-in rule could use it
    return full in w.scope.files or w.session.file_kind(full) is not None


def _invocation(cmd: Command, w: Walker) -> _Invocation:
    call = _Invocation(cmd.cwd or w.scope.cwd)
    words = list(cmd.words)
    i = 0
    while i < len(words):
        word, nxt = words[i], words[i + 1] if i + 1 < len(words) else None
        i += 1
        name, eq, inline = word.partition("=")
        if word in ("-C", "--directory") and nxt is not None:
            call.cwd, i = w.workspace.expand(nxt, call.cwd) or call.cwd, i + 1
        elif word.startswith("--directory="):
            call.cwd = w.workspace.expand(inline, call.cwd) or call.cwd
        elif word.startswith("-C") and len(word) > 2:
            call.cwd = w.workspace.expand(word[2:], call.cwd) or call.cwd
        elif word in ("-f", "--file", "--makefile") and nxt is not None:
            call.files.append(nxt)
            i += 1
        elif word.startswith(("--file=", "--makefile=")):
            call.files.append(inline)
        elif word.startswith("-f") and len(word) > 2 and not word.startswith("--"):
            call.files.append(word[2:])
        elif word in _DRY or _dry_cluster(word):
            call.dry = True
        elif word in _VALUED:
            i += 1
        elif word.startswith("-"):
            continue
        elif eq and name.replace("_", "").isalnum():
            call.overrides[name] = inline
        else:
            call.goals.append(word)
    return call


def _dry_cluster(word: str) -> bool:
    """``-nB``, ``-sq``: a cluster of make's flags that take no value, one of them dry."""
    letters = set(word[1:])
    return (
        word.startswith("-")
        and not word.startswith("--")
        and bool(letters)
        and letters <= set("BdeiknpqrRsStwvL")
        and bool(letters & set("npqt"))
    )


def _makefile(w: Walker, call: _Invocation) -> Loaded | None:
    """The first makefile that is there (several ``-f`` files: the first one read;
    the rest are merged as includes)."""
    names = call.files or list(_NAMES)
    for name in names:
        loaded = load(w, name, call.cwd)
        if loaded.state != "missing":
            if len(call.files) > 1 and loaded.text is not None:
                extra = "".join(f"\ninclude {n}\n" for n in call.files[1:])
                return Loaded(loaded.path, loaded.shown, "text", loaded.text + extra)
            return loaded
    return None


def _parsed(w: Walker, code: Code) -> Makefile:
    return parse_once("make", code.text, lambda text: parse_makefile(text, code.shown))


def _run(
    w: Walker, code: Code, call: _Invocation, env: Mapping[str, str]
) -> tuple[list[Finding], bool]:
    """The findings of every recipe the goals run, and whether those recipes are all
    make runs (so their steps, walked one by one, noted every file they write)."""
    mk = _parsed(w, code)
    findings: list[Finding] = []
    mk = _with_includes(w, mk, call, findings, 0)
    ex = Expander(mk, call.overrides, env, curdir=call.cwd)
    findings += _read_time(w, mk, ex, code, call)
    if call.dry:
        return findings, True
    goals = call.goals or ([mk.default] if mk.default else _default_goal(mk, ex))
    plan, complete = _plan(w, mk, ex, goals, call.cwd)
    if not complete and not w.session.runs.maker:
        # A recipe may run what a built-in rule makes first (``all: tidy`` with
        # tidy.sh on disk: ``%: %.sh`` copies it, then ``./tidy`` runs the copy).
        w.session.runs.maker = "make's built-in rules"
    if plan:
        findings += _startup_file(w, ex, code, call)
    runs = w.session.runs
    saved = set(runs.products)
    runs.products |= _products(w, mk, ex, call.cwd)
    try:
        for rule, target, auto in plan:
            charge(w)
            findings += _recipe(w, mk, ex, code, call, rule, target, auto)
    finally:
        runs.products = saved
    # Recipes in another language (``SHELL := python3``) write files no note records.
    return findings, complete and bool(goals) and _recipe_language(ex) == "shell"


# ``export BASH_ENV := x.sh`` (or ``.EXPORT_ALL_VARIABLES``, or ``make BASH_ENV=…``):
# bash sources the file before every recipe line.
_EXPORTED = re.compile(r"(?m)^\s*export\s+(?:[^\n]*\s)?BASH_ENV\b|^\.EXPORT_ALL_VARIABLES\s*:")


def _startup_file(w: Walker, ex: Expander, code: Code, call: _Invocation) -> list[Finding]:
    """The file the recipes' shell sources first (``BASH_ENV``), judged as a script."""
    value = ex.lookup("BASH_ENV")
    exported = "BASH_ENV" in call.overrides or bool(_EXPORTED.search(code.text))
    if not value or not exported:
        return []
    path = ex.expand(value)[0].strip()
    if not path:
        return []
    source = w.script_source(path, call.cwd)
    if source is None or source.text is None or source.untrusted:
        return [unknown(f"the recipes' shell sources {path} (BASH_ENV) first", code.shown)]
    return w.classify_shell(source.text, via=f"BASH_ENV {path} for the recipes of {code.shown}")


def _products(w: Walker, mk: Makefile, ex: Expander, cwd: str | None) -> set[str]:
    """The files the makefile's explicit rules build (``app: main.o``), as absolute
    paths: what its clean recipe deletes is usually these."""
    out: set[str] = set()
    for rule in mk.rules:
        if rule.pattern or _special(rule) or not rule.recipe:
            continue
        for target in ex.expand(" ".join(rule.targets))[0].split()[:64]:
            full = w.workspace.expand(target, cwd or w.scope.cwd)
            if full is not None:
                out.add(full)
    return out


def _with_includes(
    w: Walker, mk: Makefile, call: _Invocation, findings: list[Finding], depth: int
) -> Makefile:
    if not mk.includes or depth >= _MAX_INCLUDES:
        return mk
    merged = replace(
        mk,
        rules=list(mk.rules),
        variables=dict(mk.variables),
        shell_calls=list(mk.shell_calls),
        includes=[],
    )
    ex = Expander(mk, call.overrides, {}, curdir=call.cwd)
    for _line, names, optional in mk.includes:
        expanded, _complete = ex.expand(names)
        for name in _included(w, expanded.split(), call, findings):
            loaded = load(w, name, call.cwd)
            if loaded.text is None:
                if loaded.state != "missing" and not optional:
                    findings += judge(w, loaded, "make", where=f"make include {name}", cwd=call.cwd)
                continue
            inner = _with_includes(w, _parsed(w, _as_code(loaded)), call, findings, depth + 1)
            merged.rules += inner.rules
            merged.variables.update(inner.variables)
            merged.shell_calls += inner.shell_calls
            merged.oneshell = merged.oneshell or inner.oneshell
    return merged


def _included(w: Walker, names: list[str], call: _Invocation, findings: list[Finding]) -> list[str]:
    """The files ``include`` names, its globs (``-include mk/*.mk``) expanded as make
    does; a glob whose matches cannot be listed is unknown."""
    from opsgate.classify._run_listing import GLOB_CHARS, glob_files

    out: list[str] = []
    for name in names:
        if not GLOB_CHARS & set(name):
            out.append(name)
            continue
        matched = glob_files(w, name, call.cwd)
        if matched is None:
            why = f"make includes {name}, files opsgate cannot list"
            findings.append(unknown(why, name))
            continue
        out += matched
    return out


def _as_code(loaded: Loaded) -> Code:
    return Code(loaded.path, loaded.shown, loaded.text or "", "make")


def _read_time(
    w: Walker, mk: Makefile, ex: Expander, code: Code, call: _Invocation
) -> list[Finding]:
    """``$(shell …)`` and ``VAR != …`` run when make reads the makefile."""
    findings: list[Finding] = []
    for number, line in mk.shell_calls:
        ex.shell_commands = []
        ex.expand(line)
        for command in ex.shell_commands:
            piece = Code(code.path, code.shown, command, "shell", key=f"shell:{number}",
                         first_line=number)  # fmt: skip
            where = f"{code.shown} line {number} ($(shell …) runs when make reads the file)"
            findings += judge_code(w, piece, where=where, cwd=call.cwd)
    return findings


def _default_goal(mk: Makefile, ex: Expander) -> list[str]:
    for rule in mk.rules:
        if rule.pattern:
            continue
        for target in ex.expand(" ".join(rule.targets))[0].split():
            if not target.startswith(".") or "/" in target:
                return [target]
    return []


_Step = tuple[Rule, str, dict[str, str]]


def _plan(
    w: Walker, mk: Makefile, ex: Expander, goals: list[str], cwd: str | None
) -> tuple[list[_Step], bool]:
    """The rules that run for ``goals``, prerequisites first; every rule (or every
    pattern rule, for file-name lists) when a prerequisite list cannot be expanded.
    Complete: the makefile's own rules make every target that is not on disk, or
    make's built-in rules compile it (no other built-in rule can run)."""
    planner = _Planner(w, mk, ex)
    for goal in goals:
        planner.visit(goal)
    plan = planner.plan
    complete = not (planner.everything or ex.wildcards)
    if not complete:
        chosen = mk.rules if planner.everything else planner.patterns
        done = {id(rule) for rule, _t, _a in plan}
        for rule in chosen:
            if id(rule) not in done and not _special(rule):
                plan.append((rule, " ".join(rule.targets), {}))
    for target in planner.ruleless:
        if not _on_disk(w, target, cwd) and not _compiled(w, target, cwd):
            complete = False
    return plan, complete


class _Planner:
    def __init__(self, w: Walker, mk: Makefile, ex: Expander) -> None:
        self.w, self.ex = w, ex
        self.explicit: dict[str, list[Rule]] = {}
        for rule in mk.rules:
            if not rule.pattern:
                for target in ex.expand(" ".join(rule.targets))[0].split():
                    self.explicit.setdefault(target, []).append(rule)
        self.patterns = [r for r in mk.rules if r.pattern]
        self.plan: list[_Step] = []
        self.seen: set[str] = set()
        self.ruleless: list[str] = []  # targets no rule makes: a file, or a built-in rule
        self.everything = False

    def visit(self, target: str) -> None:
        if target in self.seen or len(self.seen) >= _MAX_TARGETS:
            return
        self.seen.add(target)
        charge(self.w)
        rules = self.explicit.get(target) or _matching(self.patterns, target)
        if not rules:
            self.ruleless.append(target)
        for rule, stem in _with_stems(rules, target):
            text = rule.prereqs.replace("%", stem) if stem else rule.prereqs
            prereqs, complete = self.ex.expand(text)
            self.everything = self.everything or not complete
            names = prereqs.split()
            for name in names:
                self.visit(name)
            self.plan.append((rule, target, _automatic(target, names, stem)))


def _automatic(target: str, prereqs: list[str], stem: str) -> dict[str, str]:
    """Make's automatic variables for one rule."""
    every = " ".join(prereqs)
    return {"@": target, "<": prereqs[0] if prereqs else "", "+": every, "?": every,
            "^": " ".join(dict.fromkeys(prereqs)), "*": stem, "|": ""}  # fmt: skip


def _with_stems(rules: list[Rule], target: str) -> list[tuple[Rule, str]]:
    out = []
    for rule in rules:
        stem = ""
        if rule.pattern:
            pattern = next(t for t in rule.targets if "%" in t)
            pre, _, post = pattern.partition("%")
            stem = target[len(pre) : len(target) - len(post)] if post else target[len(pre) :]
        out.append((rule, stem))
    return out


def _matching(patterns: list[Rule], target: str) -> list[Rule]:
    for rule in patterns:
        for pattern in rule.targets:
            pre, _, post = pattern.partition("%")
            if target.startswith(pre) and target.endswith(post) and rule.recipe:
                return [rule]
    return []


def _special(rule: Rule) -> bool:
    return all(t.startswith(".") and "/" not in t for t in rule.targets)


def _recipe(
    w: Walker,
    mk: Makefile,
    ex: Expander,
    code: Code,
    call: _Invocation,
    rule: Rule,
    target: str,
    auto: dict[str, str],
) -> list[Finding]:
    where = f"{code.shown} target {target}"
    lines = [(n, _command(ex.expand(text, auto, recipe=True)[0])) for n, text in rule.recipe]
    if mk.oneshell and lines:
        text = "\n".join(t for _n, t in lines)
        lines = [(lines[0][0], text)]
    lang = _recipe_language(ex)
    findings: list[Finding] = []
    for number, text in lines:
        if not text.strip():
            continue
        piece = Code(code.path, code.shown, text, lang, key=f"{target}:{number}",
                     first_line=number)  # fmt: skip
        findings += judge_code(w, piece, where=where, cwd=call.cwd)
    return findings


def _recipe_language(ex: Expander) -> str:
    """Recipes run in ``$(SHELL)``: ``SHELL := python3`` makes every line Python."""
    from opsgate.classify._run_files import language_of

    program = (ex.expand(ex.lookup("SHELL") or "/bin/sh")[0].split() or ["sh"])[0]
    return language_of(program.rsplit("/", 1)[-1]) or "unmodelled shell"


def _command(line: str) -> str:
    """A recipe line without make's ``@`` (silent), ``-`` (ignore errors), ``+`` prefixes."""
    text = line.lstrip()
    while text[:1] in ("@", "-", "+"):
        text = text[1:].lstrip()
    return text
