"""What a function, an ``eval`` or a pipeline stage leaves behind in the shell.

The walker judges each in a scope of its own; bash does not always:

* a function runs in the calling shell: what it assigns (but its ``local`` names), the
  directory it ``cd``\\ s to and the functions it defines stay after it returns
  (``f() { x=/; }; x=build; f; rm -rf $x/*`` deletes ``/*``);
* ``eval`` runs its text in the calling shell (``eval "cd /"; rm -rf *``);
* a pipeline stage runs in a subshell in bash, but the last one runs in the calling
  shell in zsh (and in bash with ``lastpipe``): what a stage assigns is unknown
  afterwards (``x=/; x=build | cat; rm -rf $x/*`` deletes ``/*`` in bash), and the
  functions it defines stay defined.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsgate.classify._shell_nodes import _text

if TYPE_CHECKING:
    from tree_sitter import Node

    from opsgate.classify._shell_state import Scope

__all__ = ["carry_back", "locals_of", "unknown_after"]

_LOCAL_KEYWORDS = frozenset({"local", "declare", "typeset"})
_MISSING = object()


def carry_back(
    parent: Scope,
    child: Scope,
    local: frozenset[str] = frozenset(),
    keep: frozenset[str] = frozenset(),
) -> None:
    """``child`` ran in ``parent``'s shell: its changes are ``parent``'s.  ``keep``
    names keep the caller's value (a function's pure ``local`` names; ``VAR=x f``, set
    for the call only); any other ``local`` name that changed is unknown (the
    function may have set the caller's before declaring it)."""
    for name in parent.vars.keys() - child.vars.keys():
        parent.vars[name] = None  # dropped (an array's elements): no longer known
    for name, value in child.vars.items():
        base = name.split("[", 1)[0]
        if base in keep:
            continue
        if base in local:
            parent.vars[name] = None
            continue
        if parent.vars.get(name, _MISSING) == value:
            continue
        parent.vars[name] = value
        origin = child.origins.get(name)
        if origin is not None:
            parent.origins[name] = origin
    parent.cwd = child.cwd
    parent.functions.update(child.functions)
    parent.variants.update(child.variants)


def unknown_after(parent: Scope, child: Scope) -> None:
    """``child`` may or may not have run in ``parent``'s shell (a pipeline stage):
    whatever it changed is unknown."""
    for name in parent.vars.keys() - child.vars.keys():
        parent.vars[name] = None
    for name, value in child.vars.items():
        if parent.vars.get(name, _MISSING) != value:
            parent.vars[name] = None
    if child.cwd != parent.cwd:
        parent.cwd = None
    # A function a stage defines may be defined afterwards (zsh, ``lastpipe``): a
    # later call is judged by its body, never taken for an unknown program.
    parent.functions.update(child.functions)


def locals_of(body: Node, limit: int = 2000) -> tuple[frozenset[str], frozenset[str]]:
    """(names a function body only declares ``local`` — ``declare``/``typeset``
    without ``-g`` — and never assigns otherwise; names it declares local and also
    assigns plainly somewhere, which may be the caller's)."""
    declared: set[str] = set()
    plain: set[str] = set()
    stack = [body]
    seen = 0
    while stack and seen < limit:
        node = stack.pop()
        seen += 1
        if node.type == "declaration_command" and node.children:
            keyword = _text(node.children[0])
            flags = [_text(c) for c in node.named_children if _text(c).startswith("-")]
            if keyword in _LOCAL_KEYWORDS and not any("g" in f for f in flags):
                declared.update(_declared_names(node))
                continue
        elif node.type == "variable_assignment":
            name = node.child_by_field_name("name")
            plain.add(_text(name).split("[", 1)[0] if name is not None else "")
        elif node.type == "function_definition":
            continue  # a nested function's locals are its own
        stack.extend(node.children)
    return frozenset(declared - plain), frozenset(declared & plain)


def _declared_names(node: Node) -> list[str]:
    names: list[str] = []
    for child in node.named_children:
        if child.type == "variable_name":
            names.append(_text(child))
        elif child.type == "variable_assignment":
            target = child.child_by_field_name("name")
            if target is not None:
                names.append(_text(target).split("[", 1)[0])
    return names
