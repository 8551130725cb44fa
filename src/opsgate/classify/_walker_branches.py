"""``if``, ``case``, ``&&``/``||`` and loops: alternatives, of which the shell runs one.

Where it is known now which branch bash takes — a ``case`` on a word known now with
patterns known now (``./migrate dev`` takes ``*)``, not ``prod)``), an ``if`` whose
condition is one test of known words (``[ "$1" = prod ]``, ``[ -n "$x" ]``) — only
that branch is judged, and its scope is what the commands after see.  Otherwise every
branch is judged, and bash keeps the assignments, the directory and the functions of
the branch it took, not of the last one written.  So each branch is walked in a copy
of the caller's scope, and afterwards
* otherwise a variable, the directory, a function, an alias or an argument that
  differs between the alternatives (taking no branch is one, when there is no
  ``else`` or catch-all) is unknown afterwards: ``if …; then T=/; else T=build; fi;
  rm -rf $T/*`` may delete ``/*``.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from tree_sitter import Node

from opsgate.classify._command import Stdin
from opsgate.classify._shell_state import Scope

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["alternatives", "ends_script", "run_or_skipped", "settle"]

_MISSING = object()
# Pattern text this reading matches the way bash does (no brackets, no extglob).
_PLAIN_PATTERN = frozenset("()[]!@+\\")


def alternatives(
    w: Walker, node: Node, stdin: Stdin | None, level: int
) -> tuple[Stdin | None, list[Scope]]:
    """Walk every branch of an ``if`` or ``case``; the scopes bash may be left with
    (one when it is known which branch runs), each a copy of the caller's."""
    if node.type == "case_statement":
        return _case(w, node, stdin, level)
    clauses: list[tuple[list[Node], list[Node]]] = []
    otherwise: list[Node] | None = None
    current: tuple[list[Node], list[Node]] = ([], [])
    in_body = False
    for child in node.children:
        if child.type == "then":
            in_body = True
        elif child.type == "elif_clause":
            clauses.append(current)
            current = _clause(child)
            in_body = True
        elif child.type == "else_clause":
            otherwise = [c for c in child.named_children if c.type != "comment"]
        elif child.is_named and child.type != "comment":
            (current[1] if in_body else current[0]).append(child)
    clauses.append(current)
    branches: list[list[Node]] = []
    for condition, body in clauses:
        for part in condition:  # a condition runs when it is reached
            w.walk(part, stdin, level + 1)
        known = _truth(w, condition)
        if known is not False:
            branches.append(body)
        if known is True:
            break
    else:
        branches.append(otherwise or [])
    return _walk_branches(w, branches, 0 if len(branches) == 1 else None, stdin, level)


def _clause(clause: Node) -> tuple[list[Node], list[Node]]:
    """An ``elif``'s condition and body."""
    condition: list[Node] = []
    body: list[Node] = []
    in_body = False
    for child in clause.children:
        if child.type == "then":
            in_body = True
        elif child.is_named and child.type != "comment":
            (body if in_body else condition).append(child)
    return condition, body


_EQUAL = frozenset({"=", "=="})


def _truth(w: Walker, condition: list[Node]) -> bool | None:
    """A condition's value when it is one test of words known now (``[ "$1" = prod ]``,
    ``[[ $x == dev ]]``, ``[ -n "$x" ]``); None for anything else."""
    if len(condition) != 1 or condition[0].type != "test_command":
        return None
    parts = [c for c in condition[0].named_children if c.type != "comment"]
    return _test(w, parts[0]) if len(parts) == 1 else None


def _test(w: Walker, node: Node) -> bool | None:
    if node.type == "unary_expression":
        operator = node.child_by_field_name("operator")
        operands = [c for c in node.named_children if c != operator]
        if operator is None or len(operands) != 1:
            return None
        if operator.type == "!":
            inner = _test(w, operands[0])
            return None if inner is None else not inner
        value = w.resolve(operands[0])
        if not value.static or operator.text is None:
            return None
        flag = operator.text.decode()
        return bool(value.text) if flag == "-n" else (not value.text if flag == "-z" else None)
    if node.type != "binary_expression":
        return None
    left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
    operator = node.child_by_field_name("operator")
    if left is None or right is None or operator is None or operator.text is None:
        return None
    a, b = w.resolve(left), w.resolve(right)
    op = operator.text.decode()
    if not (a.static and b.static) or (set("*?[") & set(b.text)):
        return None  # a pattern (``[[ $x == pr* ]]``) is not read here
    if op in _EQUAL or op == "!=":
        return (a.text == b.text) == (op in _EQUAL)
    if op in ("-eq", "-ne") and a.text.lstrip("-").isdigit() and b.text.lstrip("-").isdigit():
        return (int(a.text) == int(b.text)) == (op == "-eq")
    return None


def _case(
    w: Walker, node: Node, stdin: Stdin | None, level: int
) -> tuple[Stdin | None, list[Scope]]:
    subject = node.child_by_field_name("value")
    word = w.resolve(subject) if subject is not None else None  # its $(…) runs here
    items = [c for c in node.named_children if c.type == "case_item"]
    patterns = [item.children_by_field_name("value") for item in items]
    bodies = [_body(item, pats) for item, pats in zip(items, patterns, strict=True)]
    branches = []
    for i, item in enumerate(items):
        branch = list(bodies[i])
        j = i
        while item.child_by_field_name("fallthrough") is not None and j + 1 < len(items):
            j += 1  # ``;&`` runs the next item's body too
            branch += bodies[j]
            item = items[j]
        branches.append(branch)
    chosen = _chosen(w, word.text if word is not None and word.static else None, patterns, items)
    if chosen is None:
        branches.append([])  # no item may match
        return _walk_branches(w, branches, None, stdin, level)
    # The word and the patterns are known: bash runs the item it matches, and only it.
    return _walk_branches(w, [branches[chosen] if chosen < len(branches) else []], 0, stdin, level)


def _body(item: Node, patterns: list[Node]) -> list[Node]:
    return [c for c in item.named_children if c not in patterns and c.type != "comment"]


def _chosen(
    w: Walker, word: str | None, patterns: list[list[Node]], items: list[Node]
) -> int | None:
    """The index of the item bash takes for ``word`` (``len(items)``: none); None when
    this reading cannot tell."""
    if word is None or any(_continues(item) for item in items):
        return None
    for i, pats in enumerate(patterns):
        for pattern in pats:
            value = w.resolve(pattern)
            quoted = pattern.type in ("string", "raw_string", "concatenation")
            if not value.static or (quoted and set("*?[") & set(value.text)):
                return None
            if _PLAIN_PATTERN & set(value.text):
                return None
            if fnmatchcase(word, value.text):
                return i
    return len(items)


def _continues(item: Node) -> bool:
    """``;;&``: bash goes on testing the next patterns."""
    return any(c.type == ";;&" for c in item.children)


def _walk_branches(
    w: Walker, branches: list[list[Node]], chosen: int | None, stdin: Stdin | None, level: int
) -> tuple[Stdin | None, list[Scope]]:
    saved = w.scope
    scopes: list[Scope] = []
    out: Stdin | None = None
    try:
        for branch in branches:
            w.scope = saved.child()
            for part in branch:
                out = w.walk(part, stdin, level + 1)
            scopes.append(w.scope)
    finally:
        w.scope = saved
    if chosen is not None:
        return out, [scopes[chosen] if chosen < len(scopes) else saved.child()]
    distinct: list[Scope] = []
    for scope in scopes:
        if not any(_same(scope, other) for other in distinct):
            distinct.append(scope)
    return out, distinct


def settle(scope: Scope, scopes: list[Scope]) -> None:
    """``scope`` becomes what the alternatives leave: the one, or what all agree on."""
    if len(scopes) == 1:
        _adopt(scope, scopes[0])
    else:
        _merge(scope, scopes)


def run_or_skipped(before: Scope, after: Scope) -> list[Scope]:
    """A part that may not run (the right of ``&&``/``||``, a loop's body): what it
    assigns may or may not be; the rest is taken as after it."""
    skipped = after.child()
    skipped.vars = dict(before.vars)
    skipped.origins = dict(before.origins)
    return [after] if _same(after, skipped) else [after, skipped]


_ENDS = frozenset({"exit", "return", "exec"})


def ends_script(node: Node) -> bool:
    """``exit 1``, ``return``, ``{ echo no; exit 1; }``: nothing after it runs."""
    if node.type == "compound_statement":
        parts = [c for c in node.named_children if c.type != "comment"]
        return bool(parts) and ends_script(parts[-1])
    if node.type != "command":
        return False
    name = node.child_by_field_name("name")
    return name is not None and name.text is not None and name.text.decode() in _ENDS


def _same(a: Scope, b: Scope) -> bool:
    return (a.vars == b.vars and a.cwd == b.cwd and a.positional == b.positional
            and a.aliases == b.aliases and a.functions.keys() == b.functions.keys()
            and all(a.functions[k] == b.functions[k] for k in a.functions)
            and a.variants.keys() == b.variants.keys())  # fmt: skip


def _adopt(scope: Scope, taken: Scope) -> None:
    scope.vars.clear()
    scope.vars.update(taken.vars)
    scope.origins.clear()
    scope.origins.update(taken.origins)
    scope.functions.clear()
    scope.functions.update(taken.functions)
    scope.aliases.clear()
    scope.aliases.update(taken.aliases)
    scope.positional.clear()
    scope.positional.update(taken.positional)
    scope.variants.clear()
    scope.variants.update(taken.variants)
    scope.cwd = taken.cwd
    scope.calls = max(scope.calls, taken.calls)


def _merge(scope: Scope, scopes: list[Scope]) -> None:
    """What every alternative agrees on; the rest unknown."""
    for name in _names(list(s.vars) for s in scopes):
        seen = {_key(s.vars.get(name, _MISSING)) for s in scopes}
        if len(seen) == 1:
            value = scopes[0].vars.get(name, _MISSING)
            if value is _MISSING:
                scope.vars.pop(name, None)
            else:
                scope.vars[name] = value  # type: ignore[assignment]  # a str or None
                origin = scopes[0].origins.get(name)
                if origin is not None and all(s.origins.get(name) == origin for s in scopes):
                    scope.origins[name] = origin
        else:
            scope.vars[name] = None
            scope.origins.pop(name, None)
    for table in ("functions", "aliases", "positional"):
        merged: dict[str, object] = getattr(scope, table)
        for name in _names(list(getattr(s, table)) for s in scopes):
            values = [getattr(s, table).get(name, _MISSING) for s in scopes]
            if all(v is values[0] or v == values[0] for v in values):
                if values[0] is _MISSING:
                    merged.pop(name, None)
                else:
                    merged[name] = values[0]
            else:  # defined differently, or only in some: bash may have either
                merged.pop(name, None)
                if table == "functions":
                    _variants(scope, name, values)
    for name in _names(list(s.variants) for s in scopes):
        _variants(scope, name, [body for s in scopes for body in s.variants.get(name, [])])
    cwds = {s.cwd for s in scopes}
    scope.cwd = cwds.pop() if len(cwds) == 1 else None
    scope.calls = max(s.calls for s in scopes)


def _variants(scope: Scope, name: str, bodies: list[object]) -> None:
    """Every body ``name`` may have after the branches (see ``Scope.variants``)."""
    known = scope.variants.setdefault(name, [])
    for body in bodies:
        if isinstance(body, Node) and all(body != k for k in known):
            known.append(body)
    del known[8:]  # bounded: more alternatives than that are judged by the first eight
    if not known:
        scope.variants.pop(name, None)


def _names(tables: Iterable[list[str]]) -> set[str]:
    out: set[str] = set()
    for names in tables:
        out.update(names)
    return out


def _key(value: object) -> object:
    return id(value) if value is _MISSING else value
