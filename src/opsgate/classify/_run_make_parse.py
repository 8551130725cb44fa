"""A Makefile read far enough to know what ``make TARGET`` runs.

Rules (explicit, pattern and double-colon), recipes with their line numbers,
variables (``=``, ``:=``, ``::=``, ``?=``, ``+=``, ``!=``, ``define``),
``include``, ``.DEFAULT_GOAL``, ``.ONESHELL``, ``.RECIPEPREFIX`` (recipes that start
with another character than a tab) and every ``$(shell …)`` outside
recipes (it runs when make reads the file, whatever the target).  Conditionals
are not evaluated: both branches count, so a rule or assignment inside either is
seen.  Expansion handles variable references, substitution references and the
common text functions; anything else is left unresolved (``_run_make`` then
judges conservatively).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Makefile", "Rule", "parse_makefile"]

_ASSIGN = re.compile(
    r"^(?:(?:override|export|private)\s+)*([^\s:#=]+)\s*(::?=|:::=|\?=|\+=|!=|=)\s*(.*)$"
)
_DIRECTIVE = re.compile(r"^(ifeq|ifneq|ifdef|ifndef|else|endif|vpath|unexport|export|undefine)\b")
_INCLUDE = re.compile(r"^(-?include|sinclude)\s+(.*)$")
_DEFINE = re.compile(r"^(?:(?:override|export)\s+)*define\s+([^\s=:]+)")
# Functions of make called at read time whose text is a shell command.
_SHELL_CALL = re.compile(r"\$[({]shell\s")


@dataclass
class Rule:
    targets: list[str]
    prereqs: str  # unexpanded
    recipe: list[tuple[int, str]] = field(default_factory=list)
    line: int = 0
    pattern: bool = False


@dataclass
class Makefile:
    path: str
    rules: list[Rule] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    appended: dict[str, str] = field(default_factory=dict)
    conditional: dict[str, str] = field(default_factory=dict)
    shell_calls: list[tuple[int, str]] = field(default_factory=list)
    includes: list[tuple[int, str, bool]] = field(default_factory=list)
    oneshell: bool = False
    default: str | None = None


def parse_makefile(text: str, path: str) -> Makefile:
    mk = Makefile(path)
    lines = text.split("\n")
    current: Rule | None = None
    prefix = "\t"
    i = 0
    while i < len(lines):
        number = i + 1
        raw = lines[i]
        i += 1
        if raw.startswith((prefix, "\t")) and current is not None:
            body = raw[1:]
            while body.endswith("\\") and i < len(lines):
                more = lines[i][1:] if lines[i][:1] in (prefix, "\t") else lines[i]
                body = body[:-1] + " " + more
                i += 1
            current.recipe.append((number, body))
            continue
        line = raw
        while line.endswith("\\") and i < len(lines):
            line = line[:-1] + " " + lines[i].strip()
            i += 1
        line = _strip_comment(line).strip()
        if not line:
            continue
        define = _DEFINE.match(line)
        if define:
            i = _define(mk, define.group(1), lines, i)
            current = None
            continue
        current = _line(mk, line, number, current)
        prefix = _recipe_prefix(mk)
    return mk


def _recipe_prefix(mk: Makefile) -> str:
    """The character recipe lines start with: ``.RECIPEPREFIX``'s first, else a tab.
    (A tab-led line still counts: reading one line too many only adds findings.)"""
    value = mk.variables.get(".RECIPEPREFIX", "")
    return value[0] if value and value[0] not in "$ " else "\t"


def _define(mk: Makefile, name: str, lines: list[str], i: int) -> int:
    body: list[str] = []
    while i < len(lines) and not lines[i].strip().startswith("endef"):
        body.append(lines[i])
        i += 1
    value = "\n".join(body)
    mk.variables[name] = value
    if _SHELL_CALL.search(value):
        mk.shell_calls.append((i, value))
    return i + 1


def _line(mk: Makefile, line: str, number: int, current: Rule | None) -> Rule | None:
    """One logical line outside a recipe; the rule that recipe lines now belong to."""
    if _SHELL_CALL.search(line):
        mk.shell_calls.append((number, line))
    include = _INCLUDE.match(line)
    if include:
        mk.includes.append((number, include.group(2), include.group(1) != "include"))
        return None
    assign = _ASSIGN.match(line)
    if assign and not _is_rule_with_assignment(line):
        _assign(mk, assign.group(1), assign.group(2), assign.group(3), number)
        return None
    if _DIRECTIVE.match(line):
        return current if line.startswith(("else", "endif", "if")) else None
    if ":" not in line:
        return None
    return _rule(mk, line, number)


def _is_rule_with_assignment(line: str) -> bool:
    """``target: VAR = value`` is a target-specific variable, not a global one."""
    colon, equals = line.find(":"), line.find("=")
    if colon < 0 or equals < 0 or colon > equals:
        return False
    return line[colon : colon + 2] != ":=" and line[colon : colon + 3] != "::="


def _assign(mk: Makefile, name: str, op: str, value: str, number: int) -> None:
    if op == "!=":
        mk.shell_calls.append((number, f"$(shell {value})"))
        mk.variables[name] = ""
    elif op == "?=":
        mk.conditional.setdefault(name, value)
    elif op == "+=":
        before = mk.variables.get(name, mk.conditional.get(name, ""))
        mk.variables[name] = f"{before} {value}".strip()
    else:
        mk.variables[name] = value
    if name == ".DEFAULT_GOAL":
        mk.default = value.strip() or None


def _rule(mk: Makefile, line: str, number: int) -> Rule:
    head, _, rest = line.partition(":")
    rest = rest.removeprefix(":")  # double-colon rules
    recipe_inline = None
    if ";" in rest:
        rest, _, recipe_inline = rest.partition(";")
    if ":" in rest:  # a static pattern rule: targets: target-pattern: prereq-patterns
        rest = rest.split(":", 1)[1]
    if "=" in rest:  # a target-specific variable: nothing runs by itself
        name, _, value = rest.partition("=")
        mk.variables.setdefault(name.strip().rstrip(":?+!"), value.strip())
        rest = ""
    targets = head.split()
    rule = Rule(targets, rest.replace("|", " "), line=number)
    rule.pattern = any("%" in t for t in targets)
    if recipe_inline is not None and recipe_inline.strip():
        rule.recipe.append((number, recipe_inline.strip()))
    if ".ONESHELL" in targets:
        mk.oneshell = True
    mk.rules.append(rule)
    return rule


def _strip_comment(line: str) -> str:
    out = []
    escaped = False
    for ch in line:
        if ch == "#" and not escaped:
            break
        escaped = ch == "\\" and not escaped
        out.append(ch)
    return "".join(out)
